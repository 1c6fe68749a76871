"""Redis backend: round trips, fan-out cost, errors, cluster layout, stored values.

Every test runs against the real server at 127.0.0.1:6379 (db 9) and, where
parametrized, against the session's 3-node Redis Cluster.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import pytest
from redis.connection import AbstractConnection

from stream_django.backends import get_backend
from stream_django.backends.base import Page
from stream_django.backends.redis import RedisBackend
from stream_django.client import stream_client
from stream_django.exceptions import BackendUnavailable, InvalidStreamBackend
from tests.contract.helpers import act
from tests.redis_support import require_redis_leg


@pytest.fixture(params=["redis", "redis_cluster"])
def prefix(request) -> str:
    """The key prefix of this test, on one server or on the cluster."""
    return request.getfixturevalue(f"{request.param}_settings")


@pytest.fixture
def single(redis_settings) -> str:
    return redis_settings


class RoundTrips:
    """Counts what redis-py sends: one packed send is one round trip per
    connection (a pipeline sends all its commands at once)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = AbstractConnection.send_packed_command

        def counting(conn: Any, command: Any, check_health: bool = True) -> None:
            self.count += 1
            return original(conn, command, check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)

    def measure(self, func: Callable[[], Any]) -> int:
        before = self.count
        func()
        return self.count - before


@pytest.fixture
def trips(monkeypatch) -> RoundTrips:
    return RoundTrips(monkeypatch)


def backend() -> RedisBackend:
    b = get_backend()
    assert isinstance(b, RedisBackend)
    return b


# -- round trips ---------------------------------------------------------------


def test_a_page_read_is_two_round_trips(prefix, trips):
    feed = stream_client.feed("user", 1)
    for start in range(0, 200, 100):
        feed.add_activities([act(n) for n in range(start, start + 100)])
    one_node = not backend().cluster
    first = feed.get(limit=25)  # warm: scripts loaded, connections open
    reads = [
        lambda: feed.get(limit=25, offset=10),
        lambda: feed.get(limit=25, id_lt=first["results"][-1]["id"]),
    ]
    for read in reads:
        cost = trips.measure(read)
        assert cost == 2 if one_node else cost <= 1 + 3  # ids; bodies from each node


def test_a_group_page_read_is_two_round_trips(prefix, trips):
    feed = stream_client.feed("notification", 1)
    feed.add_activities([act(n, actor=f"a{n % 7}", verb=f"v{n % 30}") for n in range(100)])
    feed.get(limit=25)
    result: dict[str, Any] = {}
    cost = trips.measure(lambda: result.update(feed.get(limit=25, mark_seen=True, mark_read=True)))
    assert len(result["results"]) == 25
    assert cost == 2 if not backend().cluster else cost <= 1 + 3
    assert feed.get(limit=1)["unseen"] == 0


def test_fan_out_round_trips_grow_with_followers_over_batch_size(prefix, trips, settings):
    batch = 500
    settings.STREAM_BACKEND_OPTIONS = {**settings.STREAM_BACKEND_OPTIONS, "batch_size": batch}
    nodes = 3 if backend().cluster else 1
    big, small = 2500, 5
    stream_client.follow_many(
        [{"source": f"timeline:big{i}", "target": "user:big"} for i in range(big)], activity_copy_limit=0
    )
    stream_client.follow_many(
        [{"source": f"timeline:small{i}", "target": "user:small"} for i in range(small)], activity_copy_limit=0
    )
    stream_client.feed("user", "warm").add_activity(act(0))
    cost_small = trips.measure(lambda: stream_client.feed("user", "small").add_activity(act(1)))
    cost_big = trips.measure(lambda: stream_client.feed("user", "big").add_activity(act(2)))
    assert cost_small <= 6 * nodes
    # one pipeline (per node) for each chunk of `batch` follower feeds
    assert cost_big <= cost_small + nodes * (big // batch)
    assert cost_big < big / 50
    for i in (0, 1234, big - 1):
        results = stream_client.feed("timeline", f"big{i}").get()["results"]
        assert [a["foreign_id"] for a in results] == ["testapp.Tweet:2"]
        assert results[0]["origin"] == "user:big"
    body = backend().redis.hget(backend().body_key(backend()._find("user:big", [_key(2)]).popitem()[0]), "n")
    assert int(body) == big + 1  # one reference per entry


def _key(n: int) -> str:
    from stream_django.engine.activities import prepare_activity

    return prepare_activity(act(n)).key


# -- bodies and their references -------------------------------------------------


def test_a_body_is_stored_once_and_deleted_with_its_last_entry(prefix):
    b = backend()
    stream_client.feed("timeline", 9).follow("user", 1)
    stream_client.feed("user", 2).add_activity(act(1))
    added = stream_client.feed("user", 1).add_activity(act(1))
    key = _key(1)
    assert b.redis.hget(b.body_key(key), "n") == "3"
    stream_client.feed("user", 1).remove_activity(added["id"])
    # user:2 still holds it: the body stays
    assert [a["id"] for a in stream_client.feed("user", 2).get()["results"]] == [added["id"]]
    stream_client.feed("user", 2).remove_activity(foreign_id="testapp.Tweet:1")
    assert not b.redis.exists(b.body_key(key))
    assert not b.redis.exists(b.fid_key("testapp.Tweet:1"))


def test_trimming_releases_bodies_and_is_amortised(prefix, settings):
    settings.STREAM_FEEDS = {**settings.STREAM_FEEDS, "medium": {"type": "flat", "max_length": 20}}
    b = backend()
    feed = stream_client.feed("medium", 1)
    sizes = []
    for n in range(1, 101):
        feed.add_activity(act(n))
        sizes.append(b.feed_length("medium:1"))
    assert max(sizes) == 22  # max_length + max_length // 10 ...
    trims = [(a, b) for a, b in zip(sizes, sizes[1:]) if b < a]
    assert trims and set(trims) == {(22, 20)}  # ... then one trim back to 20 (3 entries)
    assert len(trims) == (100 - 22) // 3  # one write in three trims, not every write
    held = {e.key for e in b.read_feed("medium:1", Page(limit=100))}
    bodies = [k for k in b.redis.scan_iter(match=f"{prefix}a:*", count=1000)]
    assert {k[len(prefix) + 2 :] for k in bodies} == held


# -- errors and configuration ------------------------------------------------------


def test_unreachable_server_names_backend_and_address(settings):
    require_redis_leg()
    settings.STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
    settings.STREAM_REDIS_URL = "redis://127.0.0.1:1/0"
    settings.STREAM_BACKEND_OPTIONS = {"socket_connect_timeout": 1}
    with pytest.raises(BackendUnavailable, match=r"redis .*127\.0\.0\.1:1\b"):
        stream_client.feed("user", 1).get()
    with pytest.raises(BackendUnavailable, match="127.0.0.1:1"):
        stream_client.feed("user", 1).add_activity(act(1))


def test_unreachable_cluster_names_its_nodes(settings):
    require_redis_leg()
    settings.STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
    settings.STREAM_REDIS_URL = ["redis://127.0.0.1:1", "redis://127.0.0.1:2"]
    settings.STREAM_BACKEND_OPTIONS = {"socket_connect_timeout": 1}
    with pytest.raises(BackendUnavailable, match=r"redis cluster 127\.0\.0\.1:1,127\.0\.0\.1:2"):
        stream_client.feed("user", 1).get()


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


# -- layout and values ---------------------------------------------------------------


def test_a_feeds_keys_share_one_cluster_slot(redis_cluster_settings):
    prefix = redis_cluster_settings
    b = backend()
    stream_client.feed("timeline", 7).follow("user", 1)
    stream_client.feed("notification", 7).follow("user", 1)
    stream_client.feed("user", 1).add_activities([act(n, verb=f"v{n % 3}") for n in range(20)])
    stream_client.feed("notification", 7).get(mark_read=True)
    client = b.redis
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    by_feed: dict[str, set[int]] = {}
    for key in keys:
        if "{" in key:
            feed = key[key.index("{") + 1 : key.index("}")]
            by_feed.setdefault(feed, set()).add(client.keyslot(key))
    assert set(by_feed) == {"user:1", "timeline:7", "notification:7"}
    assert all(len(slots) == 1 for slots in by_feed.values()), by_feed
    notification = [k for k in keys if "{notification:7}" in k]
    assert len(notification) >= 6  # g, ge:*, ga:*, gc, x, us, fg
    # bodies are spread over the cluster, not pinned to a feed's node
    body_slots = {client.keyslot(k) for k in keys if k.startswith(f"{prefix}a:")}
    assert len(body_slots) > 5


def test_a_lost_script_cache_is_reloaded(redis_cluster_settings):
    b = backend()
    feed = stream_client.feed("user", 1)
    feed.add_activity(act(1))
    b.redis.script_flush()  # every primary  # as after a restart or failover
    feed.add_activity(act(2))
    assert [a["foreign_id"] for a in feed.get()["results"]] == ["testapp.Tweet:2", "testapp.Tweet:1"]


def test_values_are_json(prefix):
    b = backend()
    stream_client.feed("timeline_aggregated", 1).follow("user", 1)
    stream_client.feed("user", 1).add_activity(act(1, extra={"nested": [1, "two"]}))
    client = b.redis
    body = client.hgetall(b.body_key(_key(1)))
    data = json.loads(body["j"])
    assert data["foreign_id"] == "testapp.Tweet:1"
    assert data["extra"] == {"nested": [1, "two"]}
    assert body["f"] == "testapp.Tweet:1" and body["n"] == "2"
    index = client.hgetall(b.base("timeline_aggregated:1") + "x")
    assert [json.loads(v) for v in index.values()] == [["tweet_2026-03-01", "auth.User:1", "user:1"]]
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        kind = client.type(key)
        values = {"string": lambda: [client.get(key)], "hash": lambda: list(client.hgetall(key).values()),
                  "zset": lambda: client.zrange(key, 0, -1), "set": lambda: list(client.smembers(key))}[kind]()
        for value in values:
            assert not value.startswith("\x80"), (key, value)  # no pickle anywhere


def test_one_client_per_process(single):
    first = backend().redis
    from stream_django.backends import reset_backend

    reset_backend()
    assert backend().redis is first
