"""
getstream.io's Feeds REST API (v1.0), served by the site.

Mount it at the root of the site's URLconf::

    path("", include("stream_django.stream_api.urls"))

and point stream-python (``stream.connect(key, secret, base_url=...)``) or
the npm ``getstream`` client (``urlOverride``) at the site: they call the
same routes with the same bodies, tokens and errors as on the hosted
service, and every call goes through the feeds API (``stream_client``), so
a post through the endpoint fans out like one made by a model. Keys and
secrets come from ``STREAM_ENDPOINT_KEYS``. See docs/stream-api.md.
"""
