"""
Replaying recorded failures never resurrects a deleted object or a stale edit.

Each test makes the store really unavailable while a tracked write runs (the
database backend pointed at a database nothing listens on; a Redis server
the test started and stops; the cluster's address swapped for one nothing
listens on), brings it back, changes the objects further, and replays: the
feeds end as the objects are *now*, and a second replay, or a replay
interrupted and run again, changes nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.testcases import _DatabaseFailure

from stream_django import fanout
from stream_django.client import stream_client
from stream_django.engine import serializer
from stream_django.feed_manager import feed_manager
from stream_django.maintenance import replay_failures
from stream_django.models import FailedOperation, FanoutChunk
from stream_django.signals import reset_cached_state
from tests import redis_support
from tests.contract.helpers import act
from tests.fanout_support import holding
from tests.local_backends import LOCAL_BACKENDS, use_backend
from tests.reliability.test_follow_races import together
from tests.testapp.models import Like, Tweet

pytestmark = pytest.mark.django_db(transaction=True)

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
NOWHERE = "redis://127.0.0.1:1"  # nothing listens on port 1


class Outage:
    """Takes the configured store down and brings it back."""

    def __init__(self, settings: Any, name: str, monkeypatch: Any) -> None:
        self.settings = settings
        self.name = name
        self.process: Any = None
        if name == "database":
            settings.STREAM_BACKEND_OPTIONS = {}
            unreachable = connections["unreachable"]
            # The test framework forbids aliases a test did not declare; this
            # one must fail for real, as a server that is down does.
            for method in ("connect", "temporary_connection", "cursor", "chunked_cursor"):
                wrapped = getattr(unreachable, method)
                if isinstance(wrapped, _DatabaseFailure):
                    monkeypatch.setattr(unreachable, method, wrapped.wrapped)
        elif name == "redis":
            redis_support.require_server_binary()
            self.directory = tempfile.mkdtemp(prefix="sd-replay-")
            (self.port,) = redis_support.free_ports(7301, 1)
            self._start()
            settings.STREAM_REDIS_URL = f"redis://127.0.0.1:{self.port}/0"
        self.url = getattr(settings, "STREAM_REDIS_URL", None)

    def _start(self) -> None:
        # An append-only file, so the data outlives the stop.
        self.process = redis_support.start_server(
            self.port, self.directory, "--appendonly", "yes", "--appendfsync", "always"
        )

    def down(self) -> None:
        if self.name == "database":
            self.settings.STREAM_BACKEND_OPTIONS = {"using": "unreachable"}
        elif self.name == "redis":
            redis_support.stop_server(self.process)
        else:
            self.settings.STREAM_REDIS_URL = [NOWHERE]

    def up(self) -> None:
        if self.name == "database":
            self.settings.STREAM_BACKEND_OPTIONS = {}
        elif self.name == "redis":
            self._start()
        else:
            self.settings.STREAM_REDIS_URL = self.url
        reset_cached_state()

    def close(self) -> None:
        if self.process is not None:
            redis_support.stop_server(self.process)
            shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(params=list(LOCAL_BACKENDS))
def outage(request, settings, monkeypatch):
    use_backend(request, settings, request.param)
    store = Outage(settings, request.param, monkeypatch)
    yield store
    store.close()


@pytest.fixture
def followed(outage, ann, bob):
    """Bob's news feeds follow Ann; the store is up."""
    feed_manager.follow_user(bob.id, ann.id)
    return outage


def state(*users: Any) -> dict[str, Any]:
    """What each user's feeds show: flat feeds as (foreign id, time, text
    length), groups as (activity count, foreign ids)."""
    shown: dict[str, Any] = {}
    for user in users:
        for slug in ("user", "timeline"):
            shown[f"{slug}:{user.id}"] = [
                (a["foreign_id"], a["time"], a.get("text_length"))
                for a in stream_client.feed(slug, user.id).get()["results"]
            ]
        for slug in ("timeline_aggregated", "notification"):
            shown[f"{slug}:{user.id}"] = [
                (g["activity_count"], [a["foreign_id"] for a in g["activities"]])
                for g in stream_client.feed(slug, user.id).get()["results"]
            ]
    return shown


def replay() -> Any:
    return replay_failures(FailedOperation.objects.all())


def test_a_post_deleted_after_its_failed_add_stays_deleted(followed, ann, bob):
    followed.down()
    tweet = Tweet.objects.create(user=ann, text="while down", created_at=WHEN)
    assert FailedOperation.objects.get().operation == "add"
    followed.up()
    tweet.delete()  # the store is back: this removal succeeds
    report = replay()
    assert state(ann, bob) == state_of_nothing(ann, bob)
    assert (len(report.replayed), report.failed) == (1, [])
    assert not FailedOperation.objects.exists()


def state_of_nothing(*users: Any) -> dict[str, Any]:
    return {f"{slug}:{u.id}": [] for u in users for slug in ("user", "timeline", "timeline_aggregated", "notification")}


def test_a_stale_edit_never_overwrites_a_newer_one(followed, ann, bob):
    tweet = Tweet.objects.create(user=ann, text="one", created_at=WHEN)
    followed.down()
    tweet.text = "two!!"
    tweet.save()
    assert FailedOperation.objects.get().operation == "update"
    followed.up()
    tweet.text = "three..."
    tweet.save()
    replay()
    fid = f"testapp.Tweet:{tweet.pk}"
    assert state(bob)[f"timeline:{bob.id}"] == [(fid, WHEN, 8)]
    assert state(ann)[f"user:{ann.id}"] == [(fid, WHEN, 8)]


def test_failures_of_one_object_are_one_action_and_a_second_replay_does_nothing(followed, ann, bob):
    followed.down()
    tweet = Tweet.objects.create(user=ann, text="a", created_at=WHEN)
    tweet.text = "ab"
    tweet.save()
    tweet.text = "abc"
    tweet.save()
    like = Like.objects.create(user=bob, tweet=tweet, created_at=WHEN + timedelta(minutes=1))
    assert FailedOperation.objects.count() == 4
    followed.up()
    report = replay()
    after = state(ann, bob)
    fid = f"testapp.Tweet:{tweet.pk}"
    assert after[f"timeline:{bob.id}"] == [(fid, WHEN, 3)]
    assert after[f"timeline_aggregated:{bob.id}"] == [(1, [fid])]
    assert after[f"notification:{ann.id}"] == [(1, [f"testapp.Like:{like.pk}"])]
    assert (report.actions, len(report.replayed), report.failed) == (2, 4, [])
    assert not FailedOperation.objects.exists()
    assert replay().actions == 0
    feed_manager.sync_activity(tweet)  # what a replay does, once more
    feed_manager.sync_activity(like)
    assert state(ann, bob) == after


class Interrupted(Exception):
    pass


def test_a_replay_interrupted_half_way_and_run_again_ends_as_one_uninterrupted(followed, ann, bob):
    kept = Tweet.objects.create(user=ann, text="kept", created_at=WHEN)
    followed.down()
    tweets = [Tweet.objects.create(user=ann, text="x" * n, created_at=WHEN + timedelta(hours=n)) for n in range(1, 5)]
    tweets[0].delete()
    tweets[1].text = "edited while down"
    tweets[1].save()
    kept.text = "kept, edited"
    kept.save()
    followed.up()
    tweets[2].delete()
    tweets[3].text = "edited after"
    tweets[3].save()

    def stop_after_two(done: int, total: int | None) -> None:
        if done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        replay_failures(FailedOperation.objects.all(), progress=stop_after_two)
    assert FailedOperation.objects.exists()
    replay()
    assert not FailedOperation.objects.exists()
    expected = [(f"testapp.Tweet:{t.pk}", t.created_at, len(t.text)) for t in Tweet.objects.order_by("-created_at")]
    assert [fid for fid, _, _ in expected] == [f"testapp.Tweet:{t.pk}" for t in (tweets[3], tweets[1], kept)]
    shown = state(ann, bob)
    assert shown[f"user:{ann.id}"] == expected
    assert shown[f"timeline:{bob.id}"] == expected
    assert sum(count for count, _ in shown[f"timeline_aggregated:{bob.id}"]) == 3


def test_a_time_edited_while_down_moves_the_activity_on_replay(followed, ann, bob):
    tweet = Tweet.objects.create(user=ann, text="moved", created_at=WHEN)
    followed.down()
    tweet.created_at = WHEN + timedelta(days=2)
    tweet.save()
    followed.up()
    replay()
    fid = f"testapp.Tweet:{tweet.pk}"
    shown = state(bob)
    assert shown[f"timeline:{bob.id}"] == [(fid, WHEN + timedelta(days=2), 5)]
    assert shown[f"timeline_aggregated:{bob.id}"] == [(1, [fid])]


def test_an_object_gone_with_its_model_is_removed(followed, ann, bob):
    feed = stream_client.feed("user", ann.id)
    feed.add_activity(act(1, actor=f"auth.User:{ann.id}"))
    FailedOperation.objects.create(
        operation="update",
        model="gone.Model",
        object_pk="1",
        feed=feed.id,
        payload=serializer.dumps(act(1, actor=f"auth.User:{ann.id}")),
        error="x",
    )
    replay()
    assert state(ann, bob) == state_of_nothing(ann, bob)


def direct(operation: str, payload: dict[str, Any], feed: str = "user:1") -> FailedOperation:
    """A failure of a direct feed write, recorded without a model."""
    return FailedOperation.objects.create(
        operation=operation, model="", object_pk="", feed=feed, payload=serializer.dumps(payload), error="x"
    )


def test_direct_failures_keep_their_payload_and_the_latest_record_decides(outage):
    feed = stream_client.feed("user", 1)
    direct("add", act(1))
    direct("remove", {"foreign_id": "testapp.Tweet:1"})  # a remove wins over an earlier add
    direct("add", act(2, text="first"))
    direct("update", act(2, text="last"))  # the last payload of an added activity
    direct("update", act(3, text="nothing to update"))  # an update never creates
    report = replay()
    (only,) = feed.get()["results"]
    assert (only["foreign_id"], only["text"]) == ("testapp.Tweet:2", "last")
    assert (report.actions, report.failed) == (3, [])


def test_a_direct_add_never_replaces_a_newer_version(outage):
    feed = stream_client.feed("user", 1)
    direct("add", act(1, text="old"))
    feed.add_activity(act(1, seconds=30, text="new"))  # written since, at a later time
    replay()
    (only,) = feed.get()["results"]
    assert only["text"] == "new"
    assert not FailedOperation.objects.exists()


# -- fan-out chunks -------------------------------------------------------------


@pytest.fixture
def chunked(followed, settings):
    from tests.test_fanout import DUMMY

    settings.TASKS = DUMMY
    settings.STREAM_FANOUT_INLINE_LIMIT = 0
    settings.STREAM_FANOUT_CHUNK_SIZE = 3
    return followed


def run_chunks() -> None:
    while ids := list(FanoutChunk.objects.values_list("id", flat=True)):
        for chunk_id in ids:
            fanout.run_chunk(chunk_id)


def test_a_failed_chunk_replayed_after_the_delete_adds_nothing(chunked, ann, bob):
    tweet = Tweet.objects.create(user=ann, text="chunked", created_at=WHEN)  # direct feeds now, followers later
    (chunk,) = FanoutChunk.objects.all()
    chunked.down()
    with pytest.raises(Exception, match="unreachable|cannot be reached"):
        fanout.run_chunk(chunk.id)
    chunked.up()
    assert FanoutChunk.objects.get().error
    tweet.delete()
    call_command("stream_fanout_status", "--requeue", verbosity=0)
    run_chunks()
    assert holding(f"testapp.Tweet:{tweet.pk}") == set()
    assert state(ann, bob) == state_of_nothing(ann, bob)


def test_a_failed_chunk_replayed_after_an_edit_shows_the_current_version(chunked, ann, bob):
    tweet = Tweet.objects.create(user=ann, text="one", created_at=WHEN)
    (chunk,) = FanoutChunk.objects.all()
    chunked.down()
    with pytest.raises(Exception, match="unreachable|cannot be reached"):
        fanout.run_chunk(chunk.id)
    chunked.up()
    tweet.text = "three"
    tweet.save()
    call_command("stream_fanout_status", "--requeue", verbosity=0)
    run_chunks()
    assert state(bob)[f"timeline:{bob.id}"] == [(f"testapp.Tweet:{tweet.pk}", WHEN, 5)]


# -- a replay racing a live edit --------------------------------------------------

ITERATIONS = 60


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    if connections["default"].vendor == "sqlite":
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL or MariaDB (their legs run it)")
    return use_backend(request, settings, request.param)


def test_a_replay_racing_a_live_edit_never_leaves_the_older_version(store, ann):
    """A replay and an edit of the same object started together: the feed
    ends with the edited version, as when either runs first."""
    stale = []
    for n in range(ITERATIONS):
        tweet = Tweet.objects.create(user=ann, text="v", created_at=WHEN + timedelta(minutes=n))
        FailedOperation.objects.create(
            operation="update",
            model="testapp.Tweet",
            object_pk=str(tweet.pk),
            feed=f"user:{ann.id}",
            payload=serializer.dumps(tweet.create_activity()),
            error="BackendUnavailable: down",
        )
        tweet.text = "edited" * (n % 3 + 1)

        def edit(tweet: Tweet = tweet) -> None:
            tweet.save()

        together(replay, edit)
        (shown,) = stream_client.get_activities(foreign_id_times=[(f"testapp.Tweet:{tweet.pk}", tweet.created_at)])[
            "results"
        ]
        if shown["text_length"] != len(tweet.text):
            stale.append(n)
    assert stale == [], f"{len(stale)} of {ITERATIONS} runs kept the version from before the edit"
