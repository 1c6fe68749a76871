"""Redis backend: round trips, fan-out cost, errors, cluster layout, stored values.

The tests run against the real server at 127.0.0.1:6379 (db 9) and, where
parametrized, against the session's 3-node Redis Cluster; a few start a
private redis-server of their own. On Valkey runs (``STREAM_TEST_REDIS=valkey``,
see ``tests/redis_support.py``) all of them use valkey-server instead.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
import tempfile
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from stream_django.backends import get_backend, reset_backend
from stream_django.backends.base import Page
from stream_django.backends.redis import RedisBackend, scripts
from stream_django.backends.redis.commands import rounds
from stream_django.client import stream_client
from stream_django.engine.activities import prepare_activity
from stream_django.engine.ids import id_to_key
from stream_django.engine.plan import FeedLayout, plan_write
from stream_django.exceptions import BackendUnavailable, InvalidStreamBackend
from tests.contract.helpers import act, at, fids
from tests.redis_support import FLAVOUR, free_ports, node_client, require_server_binary, start_server, stop_server

AbstractConnection = pytest.importorskip("redis.connection").AbstractConnection


@pytest.fixture(params=["redis", "redis_cluster"])
def prefix(request) -> str:
    """The key prefix of this test, on one server or on the cluster."""
    return request.getfixturevalue(f"{request.param}_settings")


class RoundTrips:
    """Counts what reaches Redis: ``pipelines`` the pipelines the backend
    sends (one round trip each: on a cluster its per-node parts go out
    together), ``sends`` the packed writes to sockets (one per connection a
    pipeline uses), ``largest`` the most calls in one pipeline."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sends = self.pipelines = self.largest = 0
        send_packed = AbstractConnection.send_packed_command
        send = RedisBackend._send

        def counting_send_packed(conn: Any, command: Any, check_health: bool = True) -> None:
            self.sends += 1
            return send_packed(conn, command, check_health)

        def counting_send(backend: RedisBackend, calls: Any) -> list[Any]:
            self.pipelines += 1
            self.largest = max(self.largest, len(calls))
            return send(backend, calls)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counting_send_packed)
        monkeypatch.setattr(RedisBackend, "_send", counting_send)

    def measure(self, func: Callable[[], Any]) -> tuple[int, int]:
        """Run ``func``; return (pipelines, sends) it cost."""
        pipelines, sends = self.pipelines, self.sends
        self.largest = 0
        func()
        return self.pipelines - pipelines, self.sends - sends


@pytest.fixture
def trips(monkeypatch) -> RoundTrips:
    return RoundTrips(monkeypatch)


def backend() -> RedisBackend:
    b = get_backend()
    assert isinstance(b, RedisBackend)
    return b


def nodes() -> int:
    return 3 if backend().cluster else 1


def key_of(n: int, **kwargs: Any) -> str:
    return prepare_activity(act(n, **kwargs)).key


# -- round trips ---------------------------------------------------------------


def test_a_page_read_is_two_round_trips(prefix, trips):
    feed = stream_client.feed("user", 1)
    for start in range(0, 200, 100):
        feed.add_activities([act(n) for n in range(start, start + 100)])
    first = feed.get(limit=25)  # warm: scripts loaded, connections open
    for params in ({"offset": 10}, {"id_lt": first["results"][-1]["id"]}):
        pipelines, sends = trips.measure(lambda params=params: feed.get(limit=25, **params))
        assert pipelines == 2  # the ids, then the bodies
        assert sends == 2 if nodes() == 1 else sends <= 1 + nodes()  # bodies: each node at once


def test_a_group_page_read_is_two_round_trips(prefix, trips):
    feed = stream_client.feed("notification", 1)
    feed.add_activities([act(n, actor=f"a{n % 7}", verb=f"v{n % 30}") for n in range(100)])
    feed.get(limit=25)
    result: dict[str, Any] = {}
    pipelines, sends = trips.measure(lambda: result.update(feed.get(limit=25, mark_seen=True, mark_read=True)))
    assert len(result["results"]) == 25
    assert pipelines == 2
    assert sends == 2 if nodes() == 1 else sends <= 1 + nodes()
    assert feed.get(limit=1)["unseen"] == 0


def test_fan_out_and_removal_cost_round_trips_per_batch_not_per_follower(prefix, trips, settings):
    batch = 500
    settings.STREAM_BACKEND_OPTIONS = {**settings.STREAM_BACKEND_OPTIONS, "batch_size": batch}
    settings.STREAM_EVENTS = {"transport": None}  # the store's own round trips (a write's event is one XADD)
    big, small = 2500, 5
    stream_client.follow_many(
        [{"source": f"timeline:big{i}", "target": "user:big"} for i in range(big)], activity_copy_limit=0
    )
    stream_client.follow_many(
        [{"source": f"timeline:small{i}", "target": "user:small"} for i in range(small)], activity_copy_limit=0
    )
    stream_client.feed("user", "warm").add_activity(act(0))
    pipelines_small, _ = trips.measure(lambda: stream_client.feed("user", "small").add_activity(act(1)))
    # One server: one script per batch of followers (their check, entries and
    # references together); a cluster: the followers and the check, the
    # references, the entries, the check again.
    per_batch = 1 if nodes() == 1 else 4
    assert pipelines_small == 2 + per_batch  # body, direct entry, then the followers
    pipelines, sends = trips.measure(lambda: stream_client.feed("user", "big").add_activity(act(2)))
    assert pipelines == 2 + per_batch * (big // batch) + 1  # and the read that finds no more
    assert sends <= pipelines * nodes()
    assert trips.largest <= (1 if nodes() == 1 else batch)
    b = backend()
    for i in (0, 1234, big - 1):
        results = stream_client.feed("timeline", f"big{i}").get()["results"]
        assert fids({"results": results}) == ["testapp.Tweet:2"]
        assert results[0]["origin"] == "user:big"
    assert b.redis.get(b.refs_key(key_of(2))) == str(big + 1)  # one reference per entry

    pipelines, _ = trips.measure(
        lambda: stream_client.feed("user", "big").remove_activity(foreign_id="testapp.Tweet:2")
    )
    # the foreign-id index and the entry, the body, the direct entry and its
    # reference, then the followers' entries batch by batch
    assert pipelines == 5 + per_batch * (big // batch) + 1
    assert trips.largest <= (2 if nodes() == 1 else batch)
    for i in (0, 1234, big - 1):
        assert stream_client.feed("timeline", f"big{i}").get()["results"] == []
    assert not b.redis.exists(b.body_key(key_of(2)))


def test_follow_with_copy_costs_a_few_round_trips_whatever_the_copy_limit(prefix, trips):
    user = stream_client.feed("user", 1)
    for start in range(0, 300, 100):
        user.add_activities([act(n, verb=f"v{n % 4}") for n in range(start, start + 100)])
    for feed in ("timeline", "timeline_aggregated"):
        pipelines, _ = trips.measure(
            lambda feed=feed: stream_client.feed(feed, 2).follow("user", 1, activity_copy_limit=300)
        )
        # follow + newest entries, references + bodies, entries (+ the
        # references of what the per-group cap cut from the copy)
        assert pipelines <= (3 if feed == "timeline" else 4)
    assert len(stream_client.feed("timeline", 2).get(limit=100)["results"]) == 100
    assert stream_client.follow_stats("user:1")["results"]["followers"]["count"] == 2
    assert (
        sum(g["activity_count"] for g in stream_client.feed("timeline_aggregated", 2).get(limit=100)["results"]) == 300
    )


def test_user_streams_round_trips(prefix, trips, settings, django_user_model):
    """stream_django.streams on Redis: a broadcast costs round trips per
    chunk of users, len() one, a slice two."""
    from stream_django.streams import add_stream_item, get_stream_items

    settings.STREAM_FANOUT_CHUNK_SIZE = 500
    django_user_model.objects.bulk_create([django_user_model(username=f"u{i}") for i in range(1500)])
    everyone = django_user_model.objects.all()
    add_stream_item(everyone.first(), "warm", at(0))
    pipelines, _ = trips.measure(lambda: add_stream_item(everyone, "hello", at(1)))
    assert pipelines == 3 * 2  # per chunk of 500 users: the body, the entries
    items = get_stream_items(everyone.last())
    assert trips.measure(lambda: len(items)) == (1, 1)
    assert trips.measure(lambda: items[:10])[0] == 2
    assert [i.content for i in items[:10]] == ["hello"]
    b = backend()
    (entry,) = b.read_feed(f"user_stream:{everyone.last().pk}", Page())
    assert b.redis.get(b.refs_key(entry.key)) == "1500"  # one body, 1,500 entries


# -- ordering ------------------------------------------------------------------------


def test_cursors_are_exact_inside_one_millisecond(prefix):
    """Activities of the same millisecond sort by the rest of their key
    (the hash of their foreign id), exactly, with every cursor."""
    feed = stream_client.feed("user", 1)
    same_ms = at(10)
    feed.add_activities(
        [act(n) | {"time": same_ms} for n in range(30)] + [act(100, seconds=9.999), act(101, seconds=10.001)]
    )
    ids = [a["id"] for a in feed.get(limit=100)["results"]]
    assert len(ids) == 32
    assert ids == sorted(ids, key=id_to_key, reverse=True)
    assert (ids[0], ids[-1]) == (
        prepare_activity(act(101, seconds=10.001)).id,
        prepare_activity(act(100, seconds=9.999)).id,
    )
    for i in (1, 7, 16, 30):
        assert [a["id"] for a in feed.get(limit=100, id_lt=ids[i])["results"]] == ids[i + 1 :]
        assert [a["id"] for a in feed.get(limit=100, id_lte=ids[i])["results"]] == ids[i:]
        assert [a["id"] for a in feed.get(limit=100, id_gt=ids[i])["results"]] == ids[:i]
        assert [a["id"] for a in feed.get(limit=100, id_gte=ids[i])["results"]] == ids[: i + 1]
        assert [a["id"] for a in feed.get(id_gt=ids[i + 1], id_lt=ids[i - 1])["results"]] == [ids[i]]


# -- bodies and their references -------------------------------------------------


def test_a_body_is_stored_once_and_deleted_with_its_last_entry(prefix):
    b = backend()
    stream_client.feed("timeline", 9).follow("user", 1)
    stream_client.feed("user", 2).add_activity(act(1))
    added = stream_client.feed("user", 1).add_activity(act(1))
    key = key_of(1)
    assert b.redis.get(b.refs_key(key)) == "3"
    assert b.redis.get(b.fid_key("testapp.Tweet:1")) == key
    stream_client.feed("user", 1).remove_activity(added["id"])
    # user:2 still holds it: the body stays
    assert [a["id"] for a in stream_client.feed("user", 2).get()["results"]] == [added["id"]]
    assert b.redis.get(b.refs_key(key)) == "1"
    stream_client.feed("user", 2).remove_activity(foreign_id="testapp.Tweet:1")
    assert not b.redis.exists(b.body_key(key), b.refs_key(key), b.fid_key("testapp.Tweet:1"))


def test_references_count_entries_through_follows_copies_and_unfollows(prefix):
    b = backend()
    stream_client.feed("user", 1).add_activity(act(1, to=["topic:a"]))
    stream_client.feed("timeline", 2).follow("user", 1)
    stream_client.feed("timeline", 3).follow("topic", "a")
    stream_client.feed("timeline_aggregated", 4).follow("user", 1)
    stream_client.feed("timeline", 2).follow("topic", "a")  # holds it already
    assert b.redis.get(b.refs_key(key_of(1, to=["topic:a"]))) == "5"
    stream_client.feed("timeline", 3).unfollow("topic", "a")
    stream_client.feed("timeline_aggregated", 4).unfollow("user", 1, keep_history=True)
    assert b.redis.get(b.refs_key(key_of(1, to=["topic:a"]))) == "4"
    stream_client.feed("user", 1).remove_activity(foreign_id="testapp.Tweet:1")
    assert not b.redis.exists(b.body_key(key_of(1, to=["topic:a"])))
    assert stream_client.feed("timeline_aggregated", 4).get()["results"] == []


# -- chunks on a cluster: check, write, check again ----------------------------------


def _holding(key: str, feeds: list[str]) -> set[str]:
    b = backend()
    found = set()
    for feed in feeds:
        call = b._find_call(feed, [key], FeedLayout.current())
        if call is not None and b._pipeline([call])[0]:
            found.add(feed)
    return found


def _first_call_on(monkeypatch, name: str, first_argument: Any, action: Callable[[], Any]) -> list[bool]:
    """Run ``action`` once, just before the backend's first call of method
    ``name`` whose first argument is ``first_argument`` (or contains it)."""
    done: list[bool] = []
    original = getattr(RedisBackend, name)

    def before(first):
        if (first == first_argument or (isinstance(first, list) and first_argument in first)) and not done:
            done.append(True)
            action()

    def hooked(self, first, *args, **kwargs):
        before(first)
        return original(self, first, *args, **kwargs)

    def hooked_rounds(self, first, *args, **kwargs):
        before(first)
        return (yield from original.function(self, first, *args, **kwargs))

    monkeypatch.setattr(RedisBackend, name, rounds(hooked_rounds) if isinstance(original, rounds) else hooked)
    return done


def test_a_cluster_fan_out_chunk_overtaken_by_the_removal_takes_back_its_writes(redis_cluster_settings, monkeypatch):
    b = backend()
    followers = [f"timeline:{i}" for i in range(6)] + [f"timeline_aggregated:{i}" for i in range(3)]
    b.follow_many([(f, "user:1") for f in followers], 0, FeedLayout.current())
    activity = prepare_activity(act(1))
    b.add_direct("user:1", plan_write([activity]))
    # The removal (and its chunks, which find nothing yet) happens after the
    # chunk checked user:1 and wrote, before it checks again.
    done = _first_call_on(
        monkeypatch, "_find_call", "user:1", lambda: b.remove_direct("user:1", [activity.key], FeedLayout.current())
    )
    b.fan_out_chunk("user:1", [activity.key], None, None, FeedLayout.current())
    assert done
    assert _holding(activity.key, ["user:1", *followers]) == set()
    assert not b.redis.exists(b.body_key(activity.key), b.refs_key(activity.key))


def test_a_cluster_removal_chunk_overtaken_by_an_add_writes_it_back(redis_cluster_settings, monkeypatch):
    b = backend()
    followers = [f"timeline:{i}" for i in range(6)] + [f"timeline_aggregated:{i}" for i in range(3)]
    b.follow_many([(f, "user:1") for f in followers], 0, FeedLayout.current())
    b.unfollow_many([("timeline:5", "user:1", True)], FeedLayout.current())  # keeps its copy: a holder, not a follower
    activity = prepare_activity(act(1))
    b.add_activities("user:1", plan_write([activity]))
    b.remove_direct("user:1", [activity.key], FeedLayout.current())
    # Added again (and fanned out) after the removal chunk found user:1
    # without it, before it removed the followers' copies.
    done = _first_call_on(
        monkeypatch, "_remove_from", followers[0], lambda: b.add_activities("user:1", plan_write([activity]))
    )
    b.remove_range_chunk("user:1", [activity.key], None, None, FeedLayout.current())
    assert done
    current = [f for f in followers if f != "timeline:5"]
    assert _holding(activity.key, ["user:1", *followers]) == {"user:1", *current}
    assert b.redis.get(b.refs_key(activity.key)) == str(1 + len(current))


def test_a_cluster_purge_overtaken_by_a_new_follow_copies_again(redis_cluster_settings, monkeypatch):
    b = backend()
    b.add_activities("user:1", plan_write([prepare_activity(act(n)) for n in range(3)]))
    b.follow_many([("timeline:7", "user:1")], 10, FeedLayout.current())
    b.unfollow_many([("timeline:7", "user:1", True)], FeedLayout.current())
    # Followed again (with its copy) after the purge checked the follow.
    done = _first_call_on(
        monkeypatch,
        "_purge",
        [("timeline:7", "user:1")],
        lambda: b.follow_many([("timeline:7", "user:1")], 10, FeedLayout.current()),
    )
    b.purge_chunk([("timeline:7", "user:1")], FeedLayout.current(), 100)
    assert done
    assert fids(stream_client.feed("timeline", 7).get()) == [f"testapp.Tweet:{n}" for n in (2, 1, 0)]


def test_a_copy_overtaken_by_the_unfollow_purges_after_itself(prefix, monkeypatch):
    b = backend()
    b.add_activities("user:1", plan_write([prepare_activity(act(n)) for n in range(3)]))
    b.follow_many([("timeline:7", "user:1")], 0, FeedLayout.current())
    # Unfollowed (and purged) after the copy checked the follow.
    done = _first_call_on(
        monkeypatch,
        "_copy_newest",
        [("timeline:7", "user:1")],
        lambda: b.unfollow_many([("timeline:7", "user:1", False)], FeedLayout.current()),
    )
    b.copy_chunk([("timeline:7", "user:1")], 10, FeedLayout.current())
    assert done
    assert stream_client.feed("timeline", 7).get()["results"] == []
    assert b.redis.get(b.refs_key(key_of(0))) == "1"


def test_trimming_releases_bodies_and_is_amortised(prefix, settings):
    settings.STREAM_FEEDS = {**settings.STREAM_FEEDS, "medium": {"type": "flat", "max_length": 20}}
    b = backend()
    feed = stream_client.feed("medium", 1)
    sizes = []
    for n in range(1, 101):
        feed.add_activity(act(n))
        sizes.append(b.feed_length("medium:1"))
    assert max(sizes) == 22  # max_length + max_length // 10 ...
    trims = [(x, y) for x, y in itertools.pairwise(sizes) if y < x]
    assert trims and set(trims) == {(22, 20)}  # ... then one trim back to 20 (3 entries)
    assert len(trims) == (100 - 22) // 3  # one write in three trims, not every write
    held = {e.key for e in b.read_feed("medium:1", Page(limit=100))}
    bodies = list(b.redis.scan_iter(match=f"{prefix}a:*", count=1000))
    assert {k[len(prefix) + 2 :].replace("{", "").replace("}", "") for k in bodies} == held
    counts = list(b.redis.scan_iter(match=f"{prefix}n:*", count=1000))
    assert {k[len(prefix) + 2 :].replace("{", "").replace("}", "") for k in counts} == held
    assert len(list(b.redis.scan_iter(match=f"{prefix}f:*", count=1000))) == len(held)


# -- errors and configuration ------------------------------------------------------


def test_unreachable_server_names_backend_and_address(settings):
    settings.STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
    settings.STREAM_REDIS_URL = "redis://127.0.0.1:1/0"
    settings.STREAM_BACKEND_OPTIONS = {"socket_connect_timeout": 1}
    with pytest.raises(BackendUnavailable, match=r"redis .*127\.0\.0\.1:1\b"):
        stream_client.feed("user", 1).get()
    with pytest.raises(BackendUnavailable, match="127.0.0.1:1"):
        stream_client.feed("user", 1).add_activity(act(1))


def test_unreachable_cluster_names_its_nodes(settings):
    settings.STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
    settings.STREAM_REDIS_URL = ["redis://127.0.0.1:1", "redis://127.0.0.1:2"]
    settings.STREAM_BACKEND_OPTIONS = {"socket_connect_timeout": 1}
    with pytest.raises(BackendUnavailable, match=r"redis cluster 127\.0\.0\.1:1,127\.0\.0\.1:2"):
        stream_client.feed("user", 1).get()


def test_a_server_that_goes_away_raises_backend_unavailable(settings):
    """A private server: used, stopped, then every call names its address;
    started again, the same backend works (and reloads its scripts)."""
    require_server_binary()
    (port,) = free_ports(21000, 1)
    with tempfile.TemporaryDirectory() as directory:
        server = start_server(port, directory)
        try:
            settings.STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
            settings.STREAM_REDIS_URL = f"redis://127.0.0.1:{port}/0"
            settings.STREAM_BACKEND_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}
            feed = stream_client.feed("user", 1)
            feed.add_activity(act(1))
            stop_server(server)
            for call in (feed.get, lambda: feed.add_activity(act(2)), lambda: feed.follow("user", 2)):
                with pytest.raises(
                    BackendUnavailable, match=rf"the redis redis://127\.0\.0\.1:{port}/0 cannot be reached"
                ):
                    call()
            server = start_server(port, directory)  # empty: no data, no scripts
            feed.add_activity(act(3))
            assert fids(feed.get()) == ["testapp.Tweet:3"]
        finally:
            stop_server(server)


def test_unknown_options_and_bad_prefixes_are_rejected_by_name():
    with pytest.raises(InvalidStreamBackend, match="'colour'"):
        RedisBackend({"colour": "blue"})
    with pytest.raises(InvalidStreamBackend, match="key_prefix"):
        RedisBackend({"key_prefix": "a{b}"})
    with pytest.raises(InvalidStreamBackend, match="batch_size"):
        RedisBackend({"batch_size": 0})


@pytest.mark.parametrize(
    "url, expected",
    [
        (None, "STREAM_REDIS_URL is not set"),
        ("http://127.0.0.1", "'http://127.0.0.1' must start with redis://"),
        ("redis://127.0.0.1/x", "database number"),
        (["redis://127.0.0.1:7101/3"], "only database 0"),
        ([], "non-empty list"),
    ],
)
def test_check_reports_bad_urls_without_network_io(settings, url, expected):
    settings.STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
    settings.STREAM_REDIS_URL = url
    messages = get_backend().check()
    assert [m.id for m in messages] == ["stream_django.E021"]
    assert expected in messages[0].msg


def test_check_names_the_extra_when_redis_py_is_missing(settings, monkeypatch):
    settings.STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
    settings.STREAM_REDIS_URL = "redis://127.0.0.1:6379/0"
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis -> ImportError
    (message,) = get_backend().check()
    assert message.id == "stream_django.E020"
    assert "django-activity-feeds[redis]" in message.hint


def test_a_valid_configuration_passes_the_checks(settings):
    from stream_django.checks import check_settings

    settings.STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
    settings.STREAM_REDIS_URL = ["redis://127.0.0.1:7101", "redis://127.0.0.1:7102"]
    settings.STREAM_BACKEND_OPTIONS = {"key_prefix": "app:", "read_from_replicas": True}
    assert check_settings() == []


# -- connections ------------------------------------------------------------------


def test_the_servers_are_of_this_runs_flavour(prefix):
    """Redis by default; Valkey on Valkey runs (``STREAM_TEST_REDIS=valkey``)."""
    info = backend().redis.info("server")
    per_node = [info] if "redis_version" in info else list(info.values())  # a cluster answers per node
    for node in per_node:
        assert node.get("server_name", "redis") == FLAVOUR, node


def test_one_client_per_process_with_hiredis_when_installed(redis_settings):
    first = backend().redis
    reset_backend()
    assert backend().redis is first
    connection = first.connection_pool.get_connection()
    try:
        hiredis = importlib.util.find_spec("hiredis") is not None
        assert (type(connection._parser).__name__ == "_HiredisParser") is hiredis
    finally:
        first.connection_pool.release(connection)


# -- layout and values ---------------------------------------------------------------


def test_a_feeds_keys_share_one_cluster_slot(redis_cluster_settings):
    prefix = redis_cluster_settings
    b = backend()
    stream_client.feed("timeline", 7).follow("user", 1)
    stream_client.feed("notification", 7).follow("user", 1)
    stream_client.feed("timeline", 8).follow("user", 1)
    stream_client.feed("timeline", 8).unfollow("user", 1, keep_history=True)
    stream_client.feed("user", 1).add_activities([act(n, verb=f"v{n % 3}") for n in range(20)])
    stream_client.feed("notification", 7).get(mark_read=True)
    client = b.redis
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    by_feed: dict[str, set[int]] = {}
    for key in keys:
        if key.startswith(f"{prefix}{{"):
            feed = key[len(prefix) + 1 : key.index("}")]
            by_feed.setdefault(feed, set()).add(client.keyslot(key))
    # timeline:8 follows nothing; "events" is the feed-events stream (docs/realtime.md)
    assert set(by_feed) == {"user:1", "timeline:7", "notification:7", "events"}
    assert all(len(slots) == 1 for slots in by_feed.values()), by_feed
    assert {k[len(prefix) + len("{user:1}:") :] for k in keys if "{user:1}" in k} == {"e", "fr", "frc", "fk", "fl"}
    notification = {k.split("}:", 1)[1].split(":")[0] for k in keys if "{notification:7}" in k}
    assert notification == {"g", "ge", "ga", "gc", "gn", "x", "us", "fg", "fgc"}  # "ur" emptied by mark_read
    # a body, its count and its foreign-id index share a slot; bodies spread over the cluster
    body_slots = set()
    for n in range(20):
        key = key_of(n, verb=f"v{n % 3}")
        slot = client.keyslot(b.body_key(key))
        assert slot == client.keyslot(b.refs_key(key)) == client.keyslot(b.fid_key(f"testapp.Tweet:{n}"))
        body_slots.add(slot)
    assert len(body_slots) > 10
    nodes_used = {client.get_node_from_key(b.body_key(key_of(n, verb=f"v{n % 3}"))).name for n in range(20)}
    assert len(nodes_used) == 3


def test_every_script_compiles_on_the_server(prefix):
    """SCRIPT LOAD compiles each script (every primary of a cluster) and
    names it by the SHA1 that EVALSHA sends."""
    client = backend().redis
    assert scripts.SCRIPTS
    for name, source in scripts.SCRIPTS.items():
        assert client.script_load(source) == scripts.SHAS[name], name
    assert all(client.script_exists(*scripts.SHAS.values()))


def test_every_lua_file_is_a_script_or_a_library_a_script_includes():
    folder = Path(scripts.__file__).with_name("lua")
    assert {p.stem.upper() for p in folder.glob("*.lua")} == set(scripts.SCRIPTS)
    libraries = sorted(folder.glob("lib/*.lua"))
    assert libraries
    for library in libraries:
        text = library.read_text(encoding="utf-8")
        using = [name for name, source in scripts.SCRIPTS.items() if text in source]
        assert using, library.name
        assert all(scripts.SCRIPTS[name].count(text) == 1 for name in using), library.name


def test_a_lost_script_cache_is_reloaded(redis_cluster_settings):
    b = backend()
    feed = stream_client.feed("user", 1)
    feed.add_activity(act(1))
    b.redis.script_flush()  # every primary, as after a restart or failover
    feed.add_activity(act(2))
    assert fids(feed.get()) == ["testapp.Tweet:2", "testapp.Tweet:1"]


def test_reads_queued_after_a_reloaded_script_see_its_writes(prefix):
    """After a lost script cache a pipeline's scripts run again, and so do the
    reads queued after them: a follow's copy must not read the feed as it
    was before the follow was recorded."""
    b = backend()
    base = b.base("user:1")
    b.redis.script_flush()
    key = key_of(1)
    (_, size) = b._pipeline([("script:FLAT_ADD", ([base + "e"], [0, 0, key, ""])), ("zcard", (base + "e",))])
    assert size == 1


def _cli(port: int, *args: str) -> Any:
    """One command to the cluster node on ``port`` (not through the cluster client)."""
    client = node_client(port)
    try:
        return client.execute_command(*args)
    finally:
        client.close()


def test_a_feed_moved_to_another_node_keeps_working(redis_cluster_settings, redis_cluster):
    """Resharding: the slot of a feed moves; the client follows the MOVED
    reply (its slot table is stale) and the feed is intact."""
    b = backend()
    feed = stream_client.feed("user", "moving")
    feed.add_activities([act(n) for n in range(5)])
    client = b.redis
    slot = client.keyslot(b.base("user:moving"))
    source = client.get_node_from_key(b.base("user:moving"))
    target = next(n for n in client.get_primaries() if n.name != source.name)
    ports = [int(url.rsplit(":", 1)[1]) for url in redis_cluster]
    ids = {p: _cli(p, "cluster", "myid") for p in ports}
    src_id, dst_id = ids[source.port], ids[target.port]
    _cli(target.port, "cluster", "setslot", str(slot), "importing", src_id)
    _cli(source.port, "cluster", "setslot", str(slot), "migrating", dst_id)
    while True:
        keys = _cli(source.port, "cluster", "getkeysinslot", str(slot), "100")
        if not keys:
            break
        _cli(source.port, "migrate", "127.0.0.1", str(target.port), "", "0", "5000", "keys", *keys)
    for p in ports:
        _cli(p, "cluster", "setslot", str(slot), "node", dst_id)
    feed.add_activity(act(5))
    assert client.get_node_from_key(b.base("user:moving")).name == target.name
    assert fids(feed.get()) == [f"testapp.Tweet:{n}" for n in range(5, -1, -1)]
    feed.remove_activity(foreign_id="testapp.Tweet:0")
    assert len(feed.get()["results"]) == 5


def test_values_are_json(prefix):
    b = backend()
    stream_client.feed("timeline_aggregated", 1).follow("user", 1)
    stream_client.feed("user", 1).add_activity(act(1, extra={"nested": [1, "two"]}, when=at(2) + timedelta(days=1)))
    client = b.redis
    key = key_of(1, extra={"nested": [1, "two"]}, when=at(2) + timedelta(days=1))
    data = json.loads(client.get(b.body_key(key)))
    assert data["foreign_id"] == "testapp.Tweet:1"
    assert data["extra"] == {"nested": [1, "two"]}
    assert data["when"] == "2026-03-02T12:00:02.000000"
    assert (client.get(b.refs_key(key)), client.get(b.fid_key("testapp.Tweet:1"))) == ("2", key)
    index = client.hgetall(b.base("timeline_aggregated:1") + "x")
    assert [json.loads(v) for v in index.values()] == [["tweet_2026-03-01", "auth.User:1", "user:1"]]
    read = {
        "string": lambda key: [client.get(key)],
        "hash": lambda key: list(client.hgetall(key).values()),
        "zset": lambda key: client.zrange(key, 0, -1),
        "set": lambda key: list(client.smembers(key)),
        "stream": lambda key: [v for _id, fields in client.xrange(key) for v in fields.values()],  # feed events
    }
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        for value in read[client.type(key)](key):  # no other types are stored
            assert not value.startswith("\x80"), (key, value)  # no pickle anywhere
            if value.startswith(("{", "[")):
                json.loads(value)


def test_holder_sets_are_rebuilt_from_the_follows(prefix):
    """Follows stored before the holder sets existed: the command rebuilds them."""
    b = backend()
    b.follow_many([(f"timeline:{i}", "user:1") for i in range(5)] + [("timeline:9", "user:2")], 0, FeedLayout.current())
    b.unfollow_many([("timeline:4", "user:1", True)], FeedLayout.current())  # kept: still a holder
    b.redis.delete(b.base("user:1") + "fl", b.base("user:2") + "fl")
    out = StringIO()
    call_command("stream_redis_rebuild_holders", stdout=out)
    assert out.getvalue().strip() == "Rebuilt the holders of 2 followed feed(s)."
    assert b.redis.zrange(b.base("user:1") + "fl", 0, -1, withscores=True) == [(f"timeline:{i}", 0.0) for i in range(5)]
    stream_client.feed("user", 1).add_activity(act(1))
    assert [fids(stream_client.feed("timeline", i).get()) for i in range(5)] == [["testapp.Tweet:1"]] * 4 + [[]]


def test_the_rebuild_command_names_a_backend_without_holder_sets(settings):
    settings.STREAM_BACKEND = "stream_django.backends.database.DatabaseBackend"
    with pytest.raises(CommandError, match="the database backend keeps no holder sets"):
        call_command("stream_redis_rebuild_holders")
