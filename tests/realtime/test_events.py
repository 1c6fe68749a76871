"""
Feed events: one per changed feed after commit, in Stream's realtime
message shape, on every local backend; the signal; history and expiry.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from django.db import transaction

from stream_django.client import stream_client
from stream_django.events import EventsExpired, FeedEvent, history, subscribe
from stream_django.events.store import get_transport
from stream_django.exceptions import InputException
from stream_django.signals import feed_changed
from tests.local_backends import LOCAL_BACKENDS, use_backend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    return use_backend(request, settings, request.param)


def post(user: str, n: int, **extra):
    return stream_client.feed("user", user).add_activity(
        {
            "actor": f"auth.User:{user}",
            "verb": "tweet",
            "object": f"app.Tweet:{n}",
            "foreign_id": f"app.Tweet:{n}",
            "time": datetime(2026, 1, 1, 12, 0, n % 60, tzinfo=timezone.utc),
            **extra,
        }
    )


def test_a_post_is_one_event_per_changed_feed(store):
    stream_client.feed("timeline", "2").follow("user", "1")
    stream_client.feed("timeline_aggregated", "2").follow("user", "1")
    stream_client.feed("timeline", "3").follow("user", "9")
    added = post("1", 1, to=["notification:5"])
    feeds = ["user:1", "timeline:2", "timeline_aggregated:2", "notification:5", "timeline:3"]
    events = history(feeds)
    assert [e.feed for e in events] == sorted(feeds[:4])
    by_feed = {e.feed: e for e in events}
    timeline = by_feed["timeline:2"].data
    assert timeline["feed"] == "timeline:2"
    assert timeline["deleted"] == [] and timeline["deleted_foreign_ids"] == []
    read = stream_client.feed("timeline", "2").get(limit=1)["results"][0]
    assert timeline["new"] == [read]
    assert (
        by_feed["timeline_aggregated:2"].data["new"][0]["group"]
        == (stream_client.feed("timeline_aggregated", "2").get(limit=1)["results"][0]["group"])
    )
    assert by_feed["notification:5"].data["new"][0]["id"] == added["id"]
    assert len({e.id for e in events}) == 4

    stream_client.feed("user", "1").remove_activity(foreign_id="app.Tweet:1")
    gone = history(["timeline:2"], after_id=by_feed["timeline:2"].id)
    assert [e.data["deleted"] for e in gone] == [[added["id"]]]
    assert gone[0].data["deleted_foreign_ids"] == [["app.Tweet:1", "2026-01-01T12:00:01.000000"]]
    assert gone[0].data["new"] == []


def test_events_wait_for_the_commit_and_a_rollback_sends_none(store):
    seen: list[FeedEvent] = []

    def receiver(sender, event, **kwargs):
        seen.append(event)

    feed_changed.connect(receiver)
    try:
        with transaction.atomic():
            post("1", 2)
            assert seen == [] and history(["user:1"]) == []
        assert [e.feed for e in seen] == ["user:1"]
        with pytest.raises(RuntimeError), transaction.atomic():
            post("1", 3)
            raise RuntimeError("rolled back")
        assert [e.feed for e in seen] == ["user:1"]
    finally:
        feed_changed.disconnect(receiver)


def test_history_after_an_id_and_its_errors(store, settings):
    first = post("1", 4)
    (event,) = history(["user:1"])
    post("1", 5)
    (later,) = history(["user:1"], after_id=event.id)
    assert later.data["new"][0]["foreign_id"] == "app.Tweet:5" and first["id"] != later.data["new"][0]["id"]
    assert history(["user:1"], after_id=later.id) == []
    with pytest.raises(InputException, match="not a feed event id"):
        history(["user:1"], after_id="nonsense")
    transport = get_transport()
    if transport.name == "database":
        settings.STREAM_EVENTS = {"retention": 0}
        post("1", 6)
        get_transport().prune()
    else:
        transport.client.xtrim(transport.key, maxlen=0)
    with pytest.raises(EventsExpired, match="reload"):
        history(["user:1"], after_id=event.id)


def test_subscribe_replays_then_goes_live(store):
    post("1", 7)
    (event,) = history(["user:1"])
    post("1", 8)

    async def listen():
        got = []
        async for e in subscribe(["user:1", "timeline:2"], last_event_id=event.id):
            got.append(e)
            if len(got) == 1:
                await asyncio.get_running_loop().run_in_executor(None, post, "1", 9)
            if len(got) == 2:
                return got
        return got

    got = asyncio.run(asyncio.wait_for(listen(), 20))
    assert [e.data["new"][0]["foreign_id"] for e in got] == ["app.Tweet:8", "app.Tweet:9"]


def test_with_task_workers_each_follower_gets_its_event_when_its_chunk_commits(store, settings):
    from stream_django import fanout
    from stream_django.fanout.queue import framework
    from stream_django.models import FanoutChunk

    tasks = framework()
    if tasks is None:  # pragma: no cover - the test group installs the backport
        pytest.skip("no tasks framework installed")
    settings.TASKS = {"default": {"BACKEND": f"{tasks.__name__}.backends.dummy.DummyBackend", "QUEUES": []}}
    settings.STREAM_FANOUT_INLINE_LIMIT = 0
    settings.STREAM_FANOUT_CHUNK_SIZE = 2
    followers = [f"timeline:{n}" for n in range(1, 8)]
    for feed in followers:
        stream_client.feed(*feed.split(":")).follow("user", "a")
    listened = ["user:a", *followers]

    def settle_one_by_one() -> list[int]:
        """Run the chunks one at a time; return how many followers had an event after each."""
        counts = []
        while ids := list(FanoutChunk.objects.values_list("id", flat=True)):
            for chunk_id in ids:
                fanout.run_chunk(chunk_id)
                counts.append(len({e.feed for e in history(followers)}))
        return counts

    post("a", 11)
    assert [e.feed for e in history(listened)] == ["user:a"]
    counts = settle_one_by_one()
    assert counts[-1] == len(followers) and len(set(counts)) > 1  # chunk by chunk
    events = history(listened)
    assert sorted(e.feed for e in events) == sorted(listened)  # each exactly once
    last = max(events, key=lambda e: (get_transport().order(e.id.partition("/")[0]), e.feed))

    stream_client.feed("user", "a").remove_activity(foreign_id="app.Tweet:11")
    assert [e.feed for e in history(listened, after_id=last.id)] == ["user:a"]
    settle_one_by_one()
    gone = history(listened, after_id=last.id)
    assert sorted(e.feed for e in gone) == sorted(listened)
    assert all(e.data["deleted_foreign_ids"] == [["app.Tweet:11", "2026-01-01T12:00:11.000000"]] for e in gone)


def test_a_record_from_another_process_wakes_the_reader(settings):
    """Without this process's wake-up (as when a task worker or another
    server process writes), PostgreSQL's NOTIFY wakes the reader at once;
    elsewhere it polls every ``poll_interval`` seconds."""
    import time

    from django.db import connection, connections

    from stream_django.events import open_subscription
    from stream_django.events.records import RecordBuilder

    settings.STREAM_BACKEND = "stream_django.backends.database.DatabaseBackend"
    settings.STREAM_EVENTS = {"poll_interval": 3.0}
    added = post("z", 30)
    (body,) = stream_client.get_activities(ids=[added["id"]])["results"]
    from stream_django.engine import ids, serializer

    key = ids.id_to_key(added["id"])
    text = serializer.dumps({k: v for k, v in body.items() if k not in ("id", "origin")})

    def append_elsewhere(text: str) -> None:
        """Append in another thread, without the in-process wake-up."""
        try:
            get_transport().append(text)
        finally:
            connections.close_all()

    async def scenario():
        subscription = await open_subscription(["topic:1"])
        record = RecordBuilder()
        record.add(key, text)
        record.direct["topic:1"] = [key]
        started = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, append_elsewhere, record.to_json())
        event = await subscription.get(timeout=20)
        subscription.close()
        return event, time.monotonic() - started

    event, latency = asyncio.run(scenario())
    assert event is not None and event.feed == "topic:1"
    if connection.vendor == "postgresql":
        assert latency < 1.5, latency  # NOTIFY, not the poll (every 30 s here)
    else:
        assert latency < 3.0 + 1.5, latency
