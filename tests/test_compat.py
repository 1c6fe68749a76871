"""stream-django's public surface: same imports, names and behaviour."""

from __future__ import annotations

import logging

import pytest
import stream.exceptions
from django.template import Context, Template

from stream_django import conf
from stream_django.activity import Activity, create_model_reference, create_reference, model_content_type
from stream_django.client import stream_client
from stream_django.context_processors import stream as stream_context
from stream_django.enrich import Enrich, EnrichedActivity
from stream_django.exceptions import InputException, MissingDataException
from stream_django.feed_manager import feed_manager
from stream_django.managers import FeedManager
from tests.testapp.models import Like, Pin, Tweet

pytestmark = pytest.mark.django_db(transaction=True)


class CustomManager(FeedManager):
    def get_user_feed(self, user_id, feed_type=None):
        return super().get_user_feed(user_id, feed_type or "topic")


def test_reference_helpers(ann):
    tweet = Tweet(pk=7, user=ann, text="x")
    assert model_content_type(Tweet) == "testapp.Tweet"
    assert create_model_reference(tweet) == "testapp.Tweet:7"
    assert create_reference(tweet) == "testapp.Tweet:7"
    assert create_reference("raw") == "raw"


def test_activity_hooks(ann):
    tweet = Tweet(pk=3, user=ann, text="hi")
    activity = tweet.create_activity()
    assert activity["actor"] == f"auth.User:{ann.pk}"
    assert activity["verb"] == "tweet"
    assert activity["object"] == activity["foreign_id"] == "testapp.Tweet:3"
    assert activity["time"].tzinfo is None
    assert Pin(author=ann, board="b").activity_actor_attr == ann
    assert isinstance(tweet, Activity)


def test_feed_ids_of_the_manager(settings):
    assert feed_manager.get_user_feed(1).id == "user:1"
    assert feed_manager.get_user_feed(1, "timeline").id == "timeline:1"
    assert {k: f.id for k, f in feed_manager.get_news_feeds(1).items()} == {
        "timeline": "timeline:1",
        "timeline_aggregated": "timeline_aggregated:1",
    }
    assert feed_manager.get_notification_feed(1).id == "notification:1"
    assert feed_manager.get_feed("topic", 5).id == "topic:5"
    assert feed_manager.get_actor_feed(Pin()) == "user"


def test_notification_feed_setting_and_its_old_name(settings):
    settings.STREAM_PERSONAL_FEED = "topic"
    assert feed_manager.get_notification_feed(1).id == "topic:1"
    assert conf.NOTIFICATION_FEED == "topic"
    settings.STREAM_NOTIFICATION_FEED = "notification"
    assert feed_manager.get_notification_feed(1).id == "notification:1"


def test_conf_module_attributes(settings):
    settings.STREAM_USER_FEED = "topic"
    assert conf.USER_FEED == "topic"
    assert conf.NEWS_FEEDS == {"timeline": "timeline", "timeline_aggregated": "timeline_aggregated"}
    assert conf.DISABLE_MODEL_TRACKING is False
    assert conf.is_valid_config() is False
    with pytest.raises(AttributeError):
        conf.NOPE


def test_follow_and_unfollow_user(ann, bob):
    Tweet.objects.create(user=bob, text="before")
    feed_manager.follow_user(ann.id, bob.id)
    for feed in feed_manager.get_news_feeds(ann.id).values():
        assert [f["target_id"] for f in feed.following()["results"]] == [f"user:{bob.id}"]
    assert len(feed_manager.get_news_feeds(ann.id)["timeline"].get()["results"]) == 1
    feed_manager.unfollow_user(ann.id, bob.id)
    for feed in feed_manager.get_news_feeds(ann.id).values():
        assert feed.following()["results"] == []
        assert feed.get()["results"] == []


def test_feed_manager_class_setting(settings):
    from stream_django.feed_manager import _create

    settings.STREAM_FEED_MANAGER_CLASS = "tests.test_compat.CustomManager"
    manager = _create()
    assert isinstance(manager, CustomManager)
    assert manager.get_user_feed(1).id == "topic:1"
    assert isinstance(feed_manager, FeedManager)


def test_stream_client_and_context_processor():
    assert stream_client.feed("user", 1).id == "user:1"
    assert stream_context(None) == {"STREAM_API_KEY": None, "STREAM_APP_ID": None}


def test_exceptions_are_stream_pythons():
    with pytest.raises(stream.exceptions.InputException) as info:
        stream_client.feed("user", 1).add_activity({"verb": "v", "object": "o"})
    assert info.value.code == 4 and info.value.status_code == 400
    assert isinstance(info.value, InputException)
    with pytest.raises(ValueError):
        stream_client.feed("bad slug", 1)


def test_enrich_loads_references_with_one_query_per_model(ann, bob, django_assert_num_queries):
    tweets = [Tweet.objects.create(user=u, text=f"t{u.pk}") for u in (ann, bob)]
    like = Like.objects.create(user=bob, tweet=tweets[0])
    activities = (
        feed_manager.get_user_feed(bob.id).get()["results"] + feed_manager.get_user_feed(ann.id).get()["results"]
    )
    assert len(activities) == 3
    with django_assert_num_queries(2):  # users, tweets (with select_related users)
        enriched = Enrich().enrich_activities(activities)
    assert all(isinstance(a, EnrichedActivity) and a.enriched for a in enriched)
    by_verb = {(a["verb"], a["actor"].username): a for a in enriched}
    assert by_verb[("like", "bob")]["object"] == tweets[0]
    assert by_verb[("tweet", "ann")]["object"].user.username == "ann"
    assert like.pk


def test_enrich_tracks_missing_references(ann):
    tweet = Tweet.objects.create(user=ann, text="gone soon")
    activities = feed_manager.get_user_feed(ann.id).get()["results"]
    Tweet.objects.filter(pk=tweet.pk).delete()  # queryset delete: no signal, the activity stays
    (activity,) = Enrich().enrich_activities(activities)
    assert not activity.enriched
    assert activity.not_enriched_data == {"object": f"testapp.Tweet:{tweet.pk}"}
    assert activity["actor"] == ann


def test_enrich_extra_fields_and_hooks(ann, bob):
    parent = Tweet.objects.create(user=bob, text="parent")
    Tweet.objects.create(user=ann, text="child", parent=parent)

    class MyEnrich(Enrich):
        calls = []

        def fetch_tweet_instances(self, pks):
            self.calls.append(sorted(pks))
            return Tweet.objects.in_bulk(pks)

    activities = feed_manager.get_user_feed(ann.id).get()["results"]
    (activity,) = MyEnrich(fields=["actor", "object", "parent"]).enrich_activities(activities)
    assert activity["parent"] == parent
    assert len(MyEnrich.calls) == 1 and len(MyEnrich.calls[0]) == 2


def test_enrich_aggregated_activities(ann, bob):
    for user in (ann, bob):
        feed_manager.get_feed("timeline_aggregated", 9).follow("user", user.id)
        Tweet.objects.create(user=user, text="x")
    groups = feed_manager.get_feed("timeline_aggregated", 9).get()["results"]
    (group,) = Enrich().enrich_aggregated_activities(groups)
    assert {a["actor"].username for a in group["activities"]} == {"ann", "bob"}
    assert group["actor_count"] == 2


def render(text, **context):
    return Template("{% load activity_tags %}" + text).render(Context(context))


def test_render_activity_templates_and_prefix(ann):
    Tweet.objects.create(user=ann, text="hello")
    (activity,) = Enrich().enrich_activities(feed_manager.get_user_feed(ann.id).get()["results"])
    assert render("{% render_activity a %}", a=activity).strip() == 'ann tweeted "hello"'
    assert render("{% render_activity a 'homepage' %}", a=activity).strip() == 'home: ann tweeted "hello"'


def test_render_aggregated_activity(ann):
    feed_manager.get_feed("timeline_aggregated", 9).follow("user", ann.id)
    Tweet.objects.create(user=ann, text="hey")
    groups = Enrich().enrich_aggregated_activities(feed_manager.get_feed("timeline_aggregated", 9).get()["results"])
    assert render("{% render_activity g %}", g=groups[0]).strip() == '1 user tweeted: ann tweeted "hey"'


def test_missing_data_policies(ann, caplog):
    tweet = Tweet.objects.create(user=ann, text="x")
    raw = feed_manager.get_user_feed(ann.id).get()["results"]
    Tweet.objects.filter(pk=tweet.pk).delete()
    (activity,) = Enrich().enrich_activities(raw)
    with caplog.at_level(logging.WARNING):
        assert render("{% render_activity a %}", a=activity) == ""
    assert "could not enrich" in caplog.text
    assert render("{% render_activity a '' 'ignore' %}", a=activity) == ""
    with pytest.raises(MissingDataException):
        render("{% render_activity a '' 'fail' %}", a=activity)
    with pytest.raises(TypeError):
        render("{% render_activity a '' 'bogus' %}", a=activity)


def test_readme_quick_start_runs_unchanged(ann, bob):
    """The examples of stream-django's README, as written there."""
    from stream_django.enrich import Enrich
    from stream_django.feed_manager import feed_manager

    request_user, target_user = ann, bob
    feed_manager.follow_user(request_user.id, target_user)
    Tweet.objects.create(user=bob, text="readme")
    feed_manager.get_user_feed(bob.id)
    timeline = feed_manager.get_news_feeds(request_user.id)["timeline"]
    timeline_aggregated = feed_manager.get_news_feeds(request_user.id)["timeline_aggregated"]
    notification_feed = feed_manager.get_notification_feed(request_user.id)
    enricher = Enrich()
    feed = feed_manager.get_feed("timeline", request_user.id)
    activities = feed.get(limit=25)["results"]
    enriched_activities = enricher.enrich_activities(activities)
    assert [a["object"].text for a in enriched_activities] == ["readme"]
    assert timeline_aggregated.get()["results"][0]["activity_count"] == 1
    assert notification_feed.get()["results"] == []
    assert timeline.id == f"timeline:{ann.id}"
