"""
URLs of the REST API: ``path("api/feeds/", include("stream_django.api.urls"))``.

The names (namespace ``stream_feeds_api``) let templates and tests reverse
them: ``reverse("stream_feeds_api:feed", args=["timeline", 1])``.
"""

from __future__ import annotations

from django.urls import path

from stream_django.api import events, views
from stream_django.api.schema import SchemaView

app_name = "stream_feeds_api"

FEED = "<str:slug>/<str:user_id>/"

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    path(FEED, views.FeedView.as_view(), name="feed"),
    path(FEED + "follows/", views.FollowsView.as_view(), name="follows"),
    path(FEED + "follows/<str:target_slug>/<str:target_id>/", views.UnfollowView.as_view(), name="unfollow"),
    path(FEED + "followers/", views.FollowersView.as_view(), name="followers"),
    path(FEED + "following/", views.FollowingView.as_view(), name="following"),
    path(FEED + "seen/", views.SeenView.as_view(), name="seen"),
    path(FEED + "read/", views.ReadView.as_view(), name="read"),
    # Server-Sent Events of the feed (docs/realtime.md); needs an ASGI server.
    path(FEED + "events/", events.feed_events, name="events"),
]
