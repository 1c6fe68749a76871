"""URLs of the example site."""

from django.urls import include, path

urlpatterns = [path("", include("example_project.social.urls"))]
