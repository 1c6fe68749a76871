"""Model tracking: publish on commit, update on edit, remove on delete."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.core import serializers
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models.signals import pre_migrate

from stream_django.client import stream_client
from stream_django.engine.ids import activity_id
from stream_django.exceptions import FeedConfigException, InputException
from stream_django.feed_manager import feed_manager
from stream_django.models import FailedOperation
from tests.backends import test_getstream as getstream
from tests.backends.test_getstream import API, body, ok, query
from tests.local_backends import LOCAL_BACKENDS, use_backend
from tests.testapp.models import Like, Pin, Snapshot, Tweet

pytestmark = pytest.mark.django_db(transaction=True)

hosted_api = getstream.hosted  # a fixture: getstream.io credentials, its HTTP API mocked

WHEN = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


def user_feed(user):
    return feed_manager.get_user_feed(user.id).get()["results"]


def test_a_saved_instance_is_published_with_stream_djangos_activity_shape(ann):
    tweet = Tweet.objects.create(user=ann, text="hello", created_at=WHEN)
    (activity,) = user_feed(ann)
    assert activity["actor"] == f"auth.User:{ann.id}"
    assert activity["verb"] == "tweet"
    assert activity["object"] == f"testapp.Tweet:{tweet.id}"
    assert activity["foreign_id"] == f"testapp.Tweet:{tweet.id}"
    assert activity["time"] == WHEN.replace(microsecond=123000)
    assert activity["text_length"] == 5
    assert activity["id"] == activity_id(f"testapp.Tweet:{tweet.id}", WHEN)
    assert "to" not in activity


def test_nothing_is_published_before_commit_and_nothing_after_rollback(ann):
    with transaction.atomic():
        Tweet.objects.create(user=ann, text="inside")
        assert user_feed(ann) == []
    assert len(user_feed(ann)) == 1
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Tweet.objects.create(user=ann, text="rolled back")
            raise RuntimeError
    assert len(user_feed(ann)) == 1


def test_followers_receive_it_and_notify_targets_get_it(ann, bob):
    feed_manager.follow_user(bob.id, ann.id)
    parent = Tweet.objects.create(user=bob, text="original")
    reply = Tweet.objects.create(user=ann, text="reply", parent=parent)
    timeline = feed_manager.get_news_feeds(bob.id)["timeline"].get()["results"]
    assert [a["object"] for a in timeline] == [f"testapp.Tweet:{reply.id}"]
    assert timeline[0]["origin"] == f"user:{ann.id}"
    assert timeline[0]["to"] == [f"notification:{bob.id}"]
    notes = feed_manager.get_notification_feed(bob.id).get()
    assert notes["unseen"] == 1
    assert notes["results"][0]["activities"][0]["object"] == f"testapp.Tweet:{reply.id}"


def test_delete_removes_it_everywhere_after_commit(ann, bob):
    feed_manager.follow_user(bob.id, ann.id)
    tweet = Tweet.objects.create(user=ann, text="bye")
    Like.objects.create(user=bob, tweet=tweet)
    assert feed_manager.get_notification_feed(ann.id).get()["unseen"] == 1
    pk = tweet.pk
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            tweet.delete()
            raise RuntimeError
    assert len(user_feed(ann)) == 1
    tweet = Tweet.objects.get(pk=pk)
    tweet.delete()  # cascades to the like
    assert user_feed(ann) == []
    assert feed_manager.get_news_feeds(bob.id)["timeline"].get()["results"] == []
    assert feed_manager.get_notification_feed(ann.id).get()["results"] == []


def test_raw_saves_publish_nothing(ann):
    data = f'[{{"model": "testapp.tweet", "pk": 77, "fields": {{"user": {ann.id}, "text": "fixture", "created_at": "2026-03-01T12:00:00Z", "parent": null}}}}]'
    for obj in serializers.deserialize("json", data):
        obj.save()
    assert Tweet.objects.filter(pk=77).exists()
    assert user_feed(ann) == []


def test_saves_during_migrate_publish_nothing(ann):
    def save_during_migrate(**kwargs):
        if kwargs["app_config"].label == "testapp":
            Tweet.objects.create(user=ann, text="during migrate")

    pre_migrate.connect(save_during_migrate)
    try:
        call_command("migrate", verbosity=0)
    finally:
        pre_migrate.disconnect(save_during_migrate)
    assert Tweet.objects.filter(text="during migrate").exists()
    assert user_feed(ann) == []
    Tweet.objects.create(user=ann, text="after migrate")
    assert len(user_feed(ann)) == 1


def test_disabling_tracking(ann, settings):
    feed_manager.disable_model_tracking()
    try:
        Tweet.objects.create(user=ann, text="off")
    finally:
        feed_manager.enable_model_tracking()
    feed_manager.disable_model_tracking(Tweet)
    try:
        Tweet.objects.create(user=ann, text="off for tweets")
        Pin.objects.create(author=ann, board="on for pins")
    finally:
        feed_manager.enable_model_tracking(Tweet)
    settings.STREAM_DISABLE_MODEL_TRACKING = True
    Tweet.objects.create(user=ann, text="off by setting")
    assert [a["verb"] for a in user_feed(ann)] == ["pin"]


def test_models_that_are_not_activities_are_ignored(ann):
    from tests.testapp.models import Plain

    Plain.objects.create(name="x")
    assert user_feed(ann) == []


def test_an_edit_updates_the_stored_activity_in_place(ann, bob):
    feed_manager.follow_user(bob.id, ann.id)
    tweet = Tweet.objects.create(user=ann, text="first", created_at=WHEN)
    before = user_feed(ann)[0]
    tweet.text = "a longer text"
    tweet.save()
    after = user_feed(ann)[0]
    assert after["id"] == before["id"]
    assert after["text_length"] == len("a longer text")
    timeline = feed_manager.get_news_feeds(bob.id)["timeline"].get()["results"]
    assert timeline[0]["text_length"] == len("a longer text")


def test_an_edit_that_changes_notify_targets_moves_the_activity(ann, bob):
    parent = Tweet.objects.create(user=bob, text="original")
    reply = Tweet.objects.create(user=ann, text="reply")
    assert feed_manager.get_notification_feed(bob.id).get()["results"] == []
    reply.parent = parent
    reply.save()
    notes = feed_manager.get_notification_feed(bob.id).get()["results"]
    assert notes[0]["activities"][0]["object"] == f"testapp.Tweet:{reply.id}"
    reply.parent = None
    reply.save()
    assert feed_manager.get_notification_feed(bob.id).get()["results"] == []


def test_edits_can_be_ignored_per_model_or_by_setting(ann, settings):
    pin = Pin.objects.create(author=ann, board="a")
    pin.board = "b"
    pin.save()  # Pin.activity_track_updates = False
    tweet = Tweet.objects.create(user=ann, text="one")
    settings.STREAM_TRACK_UPDATES = False
    tweet.text = "changed"
    tweet.save()
    assert {a["verb"]: a.get("text_length") for a in user_feed(ann)} == {"tweet": 3, "pin": None}


def test_an_unchanged_save_writes_nothing(ann, django_assert_max_num_queries):
    tweet = Tweet.objects.create(user=ann, text="same")
    with django_assert_max_num_queries(3):  # the UPDATE, and one read of the stored activity
        tweet.save()


def test_publishing_inside_the_transaction(ann, settings):
    settings.STREAM_PUBLISH_ON_COMMIT = False
    with transaction.atomic():
        result = Tweet.objects.create(user=ann, text="now")
        assert len(user_feed(ann)) == 1
    assert len(user_feed(ann)) == 1
    assert result.pk


def test_an_invalid_activity_fails_the_save_and_nothing_is_stored(ann):
    with pytest.raises(InputException, match="'blob'"):
        with transaction.atomic():
            Snapshot.objects.create(user=ann, bad=True)
    assert not Snapshot.objects.exists()
    assert user_feed(ann) == []


#: The default feed groups without the notification group ``Like`` notifies.
WITHOUT_NOTIFICATIONS = {"user": "flat", "timeline": "flat", "timeline_aggregated": "aggregated"}


def test_a_to_target_in_an_unconfigured_group_fails_the_save_inside_the_transaction(ann, bob, settings):
    """Like any other invalid input, a ``to`` feed of no configured group
    raises when the activity is built: the transaction rolls back."""
    tweet = Tweet.objects.create(user=bob, text="liked")
    settings.STREAM_FEEDS = WITHOUT_NOTIFICATIONS
    with pytest.raises(FeedConfigException, match="'notification'"):
        with transaction.atomic():
            Tweet.objects.create(user=ann, text="one")
            Like.objects.create(user=ann, tweet=tweet)
            Tweet.objects.create(user=ann, text="two")
    assert Tweet.objects.count() == 1
    assert not Like.objects.exists()
    assert user_feed(ann) == []
    assert not FailedOperation.objects.exists()


def test_a_failed_publish_never_stops_the_others_of_the_commit_and_is_recorded(ann, bob, settings):
    """One on-commit publish that fails (here its ``to`` group is removed
    between the save and the commit) is recorded; the others still run."""
    tweet = Tweet.objects.create(user=bob, text="liked")
    with transaction.atomic():
        like = Like.objects.create(user=ann, tweet=tweet)
        first = Tweet.objects.create(user=ann, text="one", created_at=WHEN)
        settings.STREAM_FEEDS = WITHOUT_NOTIFICATIONS
        second = Tweet.objects.create(user=ann, text="two", created_at=WHEN + timedelta(seconds=1))
    assert [a["object"] for a in user_feed(ann)] == [f"testapp.Tweet:{second.pk}", f"testapp.Tweet:{first.pk}"]
    (failed,) = FailedOperation.objects.all()
    assert (failed.operation, failed.model, failed.object_pk) == ("add", "testapp.Like", str(like.pk))
    assert failed.error.startswith("FeedConfigException: feed group 'notification' does not exist")


def test_a_delete_is_never_refused_and_a_failed_removal_is_recorded(ann, settings):
    tweet = Tweet.objects.create(user=ann, text="kept in user:")
    settings.STREAM_FEEDS = {"timeline": "flat", "timeline_aggregated": "aggregated", "notification": "notification"}
    with transaction.atomic():
        tweet.delete()
    assert not Tweet.objects.exists()
    (failed,) = FailedOperation.objects.all()
    assert (failed.operation, failed.feed) == ("remove", f"user:{ann.id}")
    assert failed.error.startswith("FeedConfigException: feed group 'user' does not exist")


@pytest.fixture
def broken_store():
    """Make the feed tables unavailable for real, then restore them."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE stream_django_entry RENAME TO stream_django_entry_away")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE stream_django_entry_away RENAME TO stream_django_entry")


def test_a_failed_write_is_recorded_logged_and_replayed(ann, broken_store, caplog):
    with caplog.at_level(logging.ERROR, logger="stream_django"):
        tweet = Tweet.objects.create(user=ann, text="while down")
    assert Tweet.objects.filter(pk=tweet.pk).exists()
    (failed,) = FailedOperation.objects.all()
    assert (failed.operation, failed.model, failed.object_pk, failed.feed) == (
        "add",
        "testapp.Tweet",
        str(tweet.pk),
        f"user:{ann.id}",
    )
    assert "recorded" in caplog.text
    from stream_django.models import StoredActivity

    assert not StoredActivity.objects.exists()  # nothing half-written
    with connection.cursor() as cursor:  # the store comes back
        cursor.execute("ALTER TABLE stream_django_entry_away RENAME TO stream_django_entry")
    try:
        call_command("stream_replay", verbosity=0)
        assert [a["object"] for a in user_feed(ann)] == [f"testapp.Tweet:{tweet.pk}"]
        assert not FailedOperation.objects.exists()
    finally:  # leave it as the fixture expects to restore it
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE stream_django_entry RENAME TO stream_django_entry_away")


def test_on_failure_raise_propagates(ann, broken_store, settings):
    settings.STREAM_ON_FAILURE = "raise"
    with pytest.raises(Exception, match="stream_django_entry"):
        Tweet.objects.create(user=ann, text="while down")
    assert not FailedOperation.objects.exists()


def test_feed_manager_publishing_helpers(ann):
    tweet = Tweet.objects.create(user=ann, text="x", created_at=WHEN - timedelta(days=1))
    feed_manager.remove_activity_from_feed(tweet)
    assert user_feed(ann) == []
    result = feed_manager.add_activity_to_feed(tweet)
    assert result["foreign_id"] == f"testapp.Tweet:{tweet.id}"
    assert len(user_feed(ann)) == 1


def test_each_tracked_write_prepares_its_activity_once(ann, monkeypatch):
    """Validated at save time; the publish after commit reuses that work."""
    from stream_django import managers
    from stream_django.engine import activities
    from stream_django.feeds import client, feed

    calls = []
    real = activities.prepare_activity

    def counting(data, **kwargs):
        calls.append(data.get("foreign_id"))
        return real(data, **kwargs)

    for module in (managers, feed, client):
        monkeypatch.setattr(module, "prepare_activity", counting)
    tweet = Tweet.objects.create(user=ann, text="one")
    assert len(calls) == 1
    tweet.text = "two"
    tweet.save()
    assert len(calls) == 2
    assert user_feed(ann)[0]["text_length"] == 3


def test_an_unchanged_save_reads_once_and_writes_nothing_to_the_feeds(ann):
    from django.test.utils import CaptureQueriesContext

    tweet = Tweet.objects.create(user=ann, text="same")
    with CaptureQueriesContext(connection) as queries:
        tweet.save()
    feed_sql = [q["sql"] for q in queries.captured_queries if "stream_django" in q["sql"]]
    assert len(feed_sql) == 1 and feed_sql[0].lstrip().upper().startswith("SELECT")


# -- a change of the field behind activity_time ----------------------------------

AT = WHEN.replace(microsecond=123000)  # feeds keep times to the millisecond


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    return use_backend(request, settings, request.param)


def test_a_changed_time_moves_the_activity_in_every_feed_it_reached(store, ann, bob):
    """The old activity leaves every feed (flat, aggregated, notification)
    and the new one arrives, once, at the new time with the new data."""
    feed_manager.follow_user(bob.id, ann.id)
    tweet = Tweet.objects.create(user=ann, text="first", created_at=AT)
    like = Like.objects.create(user=bob, tweet=tweet, created_at=AT)
    later = AT + timedelta(days=2, hours=3)
    tweet.created_at, tweet.text = later, "moved on"
    tweet.save()
    like.created_at = later
    like.save()
    fid = f"testapp.Tweet:{tweet.pk}"
    for feed in (feed_manager.get_user_feed(ann.id), feed_manager.get_news_feeds(bob.id)["timeline"]):
        (only,) = feed.get()["results"]
        assert (only["foreign_id"], only["time"], only["text_length"]) == (fid, later, 8)
        assert only["id"] == activity_id(fid, later)
    (group,) = feed_manager.get_news_feeds(bob.id)["timeline_aggregated"].get()["results"]
    assert (group["activity_count"], group["group"]) == (1, f"tweet_{later:%Y-%m-%d}")
    assert [(a["foreign_id"], a["time"]) for a in group["activities"]] == [(fid, later)]
    (notified,) = feed_manager.get_notification_feed(ann.id).get()["results"]
    assert (notified["activity_count"], notified["group"]) == (1, f"like_{later:%Y-%m-%d}")
    assert [a["time"] for a in notified["activities"]] == [later]
    assert not FailedOperation.objects.exists()
    assert stream_client.get_activities(foreign_id_times=[(fid, AT)])["results"] == []


def test_a_time_change_without_tracked_updates_changes_nothing(store, ann):
    tweet = Pin.objects.create(author=ann, board="b", created_at=AT)  # activity_track_updates = False
    tweet.created_at = AT + timedelta(days=1)
    tweet.save()
    (only,) = feed_manager.get_user_feed(ann.id).get()["results"]
    assert only["time"] == AT


@pytest.mark.parametrize("moves", [30])
def test_a_reader_never_sees_a_moving_activity_twice(store, ann, bob, moves):
    """On the database both steps are one transaction: a reader sees the
    activity once, at either time; on Redis a reader between the two steps
    sees it at neither, never at both."""
    if store == "database" and connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database is one connection: the other legs run it")
    feed_manager.follow_user(bob.id, ann.id)
    tweet = Tweet.objects.create(user=ann, text="moving", created_at=AT)
    timeline = feed_manager.get_news_feeds(bob.id)["timeline"]
    seen: list[int] = []
    done = threading.Event()
    start = threading.Barrier(2)

    def read() -> None:
        try:
            start.wait()
            while not done.is_set():
                seen.append(len(timeline.get()["results"]))
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    start.wait()
    try:
        for n in range(moves):
            tweet.created_at = AT + timedelta(minutes=n + 1)
            tweet.save()
    finally:
        done.set()
        reader.join()
    assert seen and max(seen) == 1
    if store == "database":
        assert min(seen) == 1
    (only,) = timeline.get()["results"]
    assert only["time"] == AT + timedelta(minutes=moves)


def test_on_the_hosted_service_a_changed_time_removes_by_foreign_id_and_adds(ann, hosted_api):
    """The hosted service finds an activity by foreign id and time only: the
    time published is read before the save, and a change of it becomes a
    remove by foreign id and an add at the new time."""
    ok(hosted_api, "POST", f"{API}feed/user/{ann.pk}/", status=201)
    tweet = Tweet.objects.create(user=ann, text="hello", created_at=AT)
    ok(hosted_api, "GET", f"{API}activities/", {"results": []})
    ok(hosted_api, "DELETE", f"{API}feed/user/{ann.pk}/testapp.Tweet:{tweet.pk}/", {"removed": "x"})
    ok(hosted_api, "POST", f"{API}feed/user/{ann.pk}/", status=201)
    tweet.created_at = AT + timedelta(days=1)
    tweet.save()
    _, lookup, removal, added = hosted_api.calls
    assert query(lookup)["timestamps"] == "2026-03-02T12:00:00.123000"
    assert query(removal)["foreign_id"] in ("1", "True")
    assert body(added)["time"] == "2026-03-02T12:00:00.123000"
    assert not FailedOperation.objects.exists()
