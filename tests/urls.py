from django.contrib import admin
from django.urls import include, path

urlpatterns: list = [
    path("admin/", admin.site.urls),
    # getstream.io's REST API, served as a site serves it (docs/stream-api.md).
    path("", include("stream_django.stream_api.urls")),
]
