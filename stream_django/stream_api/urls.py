"""
The routes, under ``api/v1.0/`` as on the hosted service.

Mount at the site's root: ``path("", include("stream_django.stream_api.urls"))``.
Anything else under ``api/v1.0/`` (reactions, collections, users, ...)
answers Stream's error for an unknown route (404, ``DoesNotExistException``)
to an authenticated call.
"""

from __future__ import annotations

from django.urls import include, path, re_path

from stream_django.stream_api import views

app_name = "stream_api"

_feed = "feed/<str:slug>/<str:user_id>/"

routes = [
    path("feed/add_to_many/", views.add_to_many_view, name="add_to_many"),
    path(_feed, views.feed_view, name="feed"),
    path(f"enrich/{_feed}", views.enriched_feed_view, name="enriched_feed"),
    # stream-python and Go say follows/, the JS and .NET clients following/.
    path(f"{_feed}follows/", views.follows_view, {"identifier": "follows"}, name="follows"),
    path(f"{_feed}following/", views.follows_view, {"identifier": "following"}, name="following"),
    path(f"{_feed}followers/", views.followers_view, {"identifier": "followers"}, name="followers"),
    path(f"{_feed}follows/<str:target>/", views.unfollow_view, name="unfollow"),
    path(f"{_feed}following/<str:target>/", views.unfollow_view, name="unfollow_following"),
    path(f"{_feed}<str:identifier>/", views.activity_view, name="activity"),
    path("feed_targets/<str:slug>/<str:user_id>/activity_to_targets/", views.to_targets_view, name="to_targets"),
    path("follow_many/", views.follow_many_view, name="follow_many"),
    path("unfollow_many/", views.unfollow_many_view, name="unfollow_many"),
    path("stats/follow/", views.follow_stats_view, name="follow_stats"),
    path("activities/", views.activities_view, name="activities"),
    path("enrich/activities/", views.enriched_activities_view, name="enriched_activities"),
    path("activity/", views.partial_update_view, name="partial_update"),
    re_path(r"^.*$", views.unknown_view, name="unknown"),
]

urlpatterns = [path("api/v1.0/", include(routes))]
