"""
ASGI entry point of the example site: ``uvicorn example_project.asgi:application``.

The live updates are Server-Sent Events from an async view
(``stream_django.api``'s ``events`` endpoint), which an ASGI server streams
from its event loop; ``make demo`` serves the site with uvicorn. With
``DEMO_SERVE_STATIC`` on (``1``, the default) the site serves its own static
files, as ``runserver --insecure`` did, so that no other server is needed;
behind a web server that serves ``STATIC_ROOT``, set it to ``0``.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
django_application = get_asgi_application()  # sets Django up before anything imports models

from django.conf import settings  # noqa: E402

application = django_application
if getattr(settings, "DEMO_SERVE_STATIC", True):
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(django_application)
