"""URLs of the example site."""

from django.urls import include, path

urlpatterns = [
    # The REST API (docs/api.md); the notification badge reads it (social/static/social/live.js).
    path("api/feeds/", include("stream_django.api.urls")),
    path("", include("example_project.social.urls")),
]
