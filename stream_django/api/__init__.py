"""
The REST API for browsers and apps (the ``api`` extra: Django REST
framework and drf-spectacular).

Mount it with ``path("api/feeds/", include("stream_django.api.urls"))``;
docs/api.md is the reference of its paths, parameters, responses, errors and
settings. Every view goes through the feeds API (``stream_client``), never a
backend.
"""
