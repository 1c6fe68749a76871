"""URLs of the benchmark site: the REST API, mounted as docs/api.md says."""

from django.urls import include, path

urlpatterns = [path("api/feeds/", include("stream_django.api.urls"))]
