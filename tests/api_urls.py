"""URLs of the REST API tests: the API mounted as the README says."""

from django.urls import include, path

urlpatterns = [path("api/feeds/", include("stream_django.api.urls"))]
