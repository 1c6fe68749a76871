from django.urls import include, path

# getstream.io's REST API, served as a site serves it (docs/stream-api.md).
urlpatterns: list = [path("", include("stream_django.stream_api.urls"))]
