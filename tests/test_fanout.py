"""
Fan-out through task workers: chunks, their messages, and their races.

The task backend here is the framework's dummy backend, which keeps what is
enqueued; the tests run the chunks by hand, in the order each race needs
(tests/test_fanout_worker.py runs them in a real worker process). Each test
runs on the database backend, on one Redis server and on a Redis Cluster
(``store``), and reads the results through ``tests.fanout_support``.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stream_django import fanout
from stream_django.backends import get_backend
from stream_django.backends.database import DatabaseBackend
from stream_django.backends.redis import RedisBackend
from stream_django.client import stream_client
from stream_django.engine.plan import FeedLayout
from stream_django.exceptions import BackendUnavailable
from stream_django.models import FanoutChunk
from stream_django.tasks import framework
from tests.contract.helpers import act, fids
from tests.fanout_support import (
    activity_count,
    entry_count,
    flat_rows,
    follow_count,
    group_count,
    group_rows,
    holding,
    key_of,
    redis_commands,
)
from tests.local_backends import LOCAL_BACKENDS, REDIS_BACKENDS, use_backend

pytestmark = pytest.mark.django_db

DUMMY = {"default": {"BACKEND": f"{framework().__name__}.backends.dummy.DummyBackend", "QUEUES": []}}


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    """The storage backend under test."""
    return use_backend(request, settings, request.param)


@pytest.fixture
def queued(store, settings):
    """Fan-out goes to the dummy task backend, in chunks of 3 entries."""
    settings.TASKS = DUMMY
    settings.STREAM_FANOUT_INLINE_LIMIT = 0
    settings.STREAM_FANOUT_CHUNK_SIZE = 3
    return settings


@pytest.fixture
def worker(queued, django_capture_on_commit_callbacks):
    return Worker(django_capture_on_commit_callbacks)


class Worker:
    """Runs the enqueued chunks by hand; ``on_commit`` callbacks run too."""

    def __init__(self, capture):
        self.capture = capture

    @property
    def queue(self):
        return framework().task_backends["default"].results

    def do(self, func, *args, **kwargs):
        """Call ``func`` as a request would: its enqueues happen on commit."""
        with self.capture(execute=True):
            return func(*args, **kwargs)

    def take(self):
        """Remove and return the enqueued chunks, oldest first."""
        taken = list(self.queue)
        self.queue.clear()
        return taken

    def run(self, result):
        return self.do(fanout.run_chunk, *result.args)

    def drain(self) -> list:
        """Run every chunk, including those enqueued meanwhile; return them."""
        ran = []
        while self.queue:
            ran.append(self.queue.pop(0))
            self.run(ran[-1])
        return ran

    def settle(self, func, *args, **kwargs):
        """Call ``func`` as a request would, then let the workers finish."""
        result = self.do(func, *args, **kwargs)
        self.drain()
        return result


def follow(target: str, n: int, slug: str = "timeline", start: int = 0) -> list[str]:
    sources = [f"{slug}:{i:05d}" for i in range(start, start + n)]
    get_backend().follow_many([(s, target) for s in sources], 0, FeedLayout.current())
    return sources


# -- when fan-out leaves the request -------------------------------------------


def test_without_a_task_backend_everything_runs_inline(store, django_capture_on_commit_callbacks):
    follow("user:1", 5)
    with django_capture_on_commit_callbacks(execute=True):
        stream_client.feed("user", 1).add_activity(act(1))
    assert len(holding("testapp.Tweet:1")) == 6
    assert FanoutChunk.objects.count() == 0


def test_fan_outs_up_to_the_inline_limit_stay_in_the_request(worker, settings):
    settings.STREAM_FANOUT_INLINE_LIMIT = 5
    follow("user:small", 5)
    follow("user:big", 6, start=10)
    worker.do(stream_client.feed("user", "small").add_activity, act(1))
    assert len(holding("testapp.Tweet:1")) == 6
    assert worker.queue == [] and FanoutChunk.objects.count() == 0
    worker.do(stream_client.feed("user", "big").add_activity, act(2))
    assert holding("testapp.Tweet:2") == {"user:big"}
    assert len(worker.queue) == 1


def test_a_task_backend_setting_of_none_keeps_fan_out_inline(worker, settings):
    settings.STREAM_FANOUT_TASK_BACKEND = None
    follow("user:1", 5)
    worker.do(stream_client.feed("user", 1).add_activity, act(1))
    assert len(holding("testapp.Tweet:1")) == 6
    assert worker.queue == []


DATABASE_ONLY = pytest.mark.parametrize("store", ["database"], indirect=True)


def test_a_backend_that_cannot_chunk_fans_out_inline(worker, store, settings):
    settings.STREAM_BACKEND = "tests.test_fanout." + ("UnchunkedBackend" if store == "database" else "UnchunkedRedis")
    follow("user:1", 5)
    worker.do(stream_client.feed("user", 1).add_activity, act(1))
    assert get_backend().supports_fanout_chunks is False
    assert len(holding("testapp.Tweet:1")) == 6
    assert worker.queue == [] and FanoutChunk.objects.count() == 0


class UnchunkedBackend(DatabaseBackend):
    supports_fanout_chunks = False


class UnchunkedRedis(RedisBackend):
    supports_fanout_chunks = False


# -- what the author and the followers see ---------------------------------------


def test_the_author_and_to_targets_see_it_at_once_followers_after_the_workers(worker):
    followers = follow("user:1", 7) + follow("user:1", 3, slug="timeline_aggregated")
    topic_followers = follow("topic:news", 4, start=50)
    worker.do(stream_client.feed("user", 1).add_activity, act(1, to=["topic:news", "notification:9"]))
    assert holding("testapp.Tweet:1") == {"user:1", "topic:news", "notification:9"}
    worker.drain()
    assert holding("testapp.Tweet:1") == {"user:1", "topic:news", "notification:9", *followers, *topic_followers}
    (group,) = stream_client.feed("timeline_aggregated", "00002").get()["results"]
    assert (group["activity_count"], group["actor_count"]) == (1, 1)
    assert stream_client.feed("timeline", "00050").get()["results"][0]["origin"] == "topic:news"
    assert FanoutChunk.objects.count() == 0


def test_messages_are_json_ids_and_ranges_on_two_queues(worker):
    follow("user:1", 10)
    worker.do(stream_client.feed("user", 1).add_activity, act(1))
    (first,) = worker.take()
    key = key_of("testapp.Tweet:1")
    assert first.task.queue_name == "stream_fanout"
    assert first.args == [
        FanoutChunk.objects.get().id,
        [{"op": "add", "source": "user:1", "keys": [key], "plan": True}],
    ]
    assert json.loads(json.dumps(first.args)) == first.args
    worker.run(first)
    bulk = worker.take()
    assert {r.task.queue_name for r in bulk} == {"stream_fanout_bulk"}
    assert {r.task.priority for r in bulk} == {-10} and first.task.priority == 0
    ranges = [r.args[1][0]["range"] for r in bulk]
    # 10 followers in chunks of 3: the first chunk ran (None, 00002].
    assert ranges == [
        ["timeline:00002", "timeline:00005"],
        ["timeline:00005", "timeline:00008"],
        ["timeline:00008", None],
    ]
    assert holding(key) == {"user:1", "timeline:00000", "timeline:00001", "timeline:00002"}


def test_chunks_hold_about_chunk_size_entries_whatever_the_batch(worker):
    follow("user:1", 7)
    worker.do(stream_client.feed("user", 1).add_activities, [act(1), act(2), act(3)])
    worker.run(worker.take()[0])  # 3 activities: one follower per chunk
    assert len(worker.queue) == 6
    worker.drain()
    assert len(flat_rows()) == 3 * 8


def test_follower_ids_order_chunks_whatever_their_slug(worker):
    followers = follow("user:1", 4) + follow("user:1", 4, slug="timeline_aggregated")
    worker.do(stream_client.feed("user", 1).add_activity, act(1))
    worker.drain()
    assert holding("testapp.Tweet:1") == {"user:1", *followers}


# -- idempotency and races, chunks run by hand in the bad order --------------------


def test_a_duplicated_or_retried_chunk_changes_nothing(worker):
    follow("user:1", 4, slug="timeline_aggregated")
    follow("user:1", 4)
    worker.do(stream_client.feed("user", 1).add_activity, act(1, verb="like"))
    worker.do(stream_client.feed("user", 1).add_activity, act(2, verb="like", actor="auth.User:2"))
    chunks = worker.drain()
    assert len(chunks) == 6
    before = (flat_rows(), entry_count())
    assert before[1] == 2 + 2 * 4 + 2 * 4
    groups = group_rows()
    # A duplicate delivery of a chunk that finished finds its ledger row gone.
    assert worker.run(chunks[0]) == {"chunk": chunks[0].args[0], "skipped": "done"}
    # The storage writes themselves are idempotent too.
    for result in chunks:
        for step in result.args[1]:
            step = {**step, "range": step.get("range", [None, None])}
            fanout.run_step(get_backend(), step, 3)
            fanout.run_step(get_backend(), step, 3)
    assert (flat_rows(), entry_count()) == before
    assert group_rows() == groups
    assert {g[1:] for g in groups} == {(2, 2)}
    # Nor do they leave references behind: removed, the activities go.
    for n in (1, 2):
        worker.settle(stream_client.feed("user", 1).remove_activity, foreign_id=f"testapp.Tweet:{n}")
    assert entry_count() == 0 and group_count() == 0 and activity_count() == 0


def test_a_removal_that_overtakes_its_add_leaves_nothing_behind(worker):
    follow("user:1", 5)
    follow("user:1", 2, slug="timeline_aggregated")
    feed = stream_client.feed("user", 1)
    worker.do(feed.add_activity, act(1))
    worker.run(worker.queue.pop(0))  # the first add chunk ran, the rest wait
    adds = worker.take()
    worker.do(feed.remove_activity, foreign_id="testapp.Tweet:1")
    assert feed.get()["results"] == []
    removals = worker.take()
    for result in removals + adds:
        worker.run(result)
    worker.drain()
    assert entry_count() == 0
    assert group_count() == 0
    assert activity_count() == 0


def test_a_removal_whose_add_never_ran_leaves_nothing_behind(worker):
    follow("user:1", 5)
    feed = stream_client.feed("user", 1)
    worker.do(feed.add_activity, act(1))
    adds = worker.take()
    worker.do(feed.remove_activity, foreign_id="testapp.Tweet:1")
    assert activity_count() == 0  # no feed holds it any more
    for result in adds:
        worker.run(result)
    worker.drain()
    assert entry_count() == 0 and activity_count() == 0


def test_a_late_removal_chunk_spares_an_activity_added_again(worker):
    followers = follow("user:1", 5)
    feed = stream_client.feed("user", 1)
    worker.do(feed.add_activity, act(1))
    worker.drain()
    worker.do(feed.remove_activity, foreign_id="testapp.Tweet:1")
    removals = worker.take()
    worker.do(feed.add_activity, act(1))
    worker.drain()  # the new add's chunks first
    for result in removals:
        worker.run(result)
    worker.drain()
    assert holding("testapp.Tweet:1") == {"user:1", *followers}


def test_removal_chunks_continue_until_every_follower_is_clean(worker, store):
    followers = follow("user:1", 8) + follow("user:1", 3, slug="timeline_aggregated")
    worker.do(stream_client.feed("user", 1).add_activity, act(1))
    worker.drain()
    key = key_of("testapp.Tweet:1")
    assert entry_count() == 12
    worker.do(stream_client.feed("user", 1).remove_activity, foreign_id="testapp.Tweet:1")
    (first,) = worker.queue
    assert first.args[1] == [{"op": "remove", "source": "user:1", "keys": [key]}]
    worker.run(worker.queue.pop(0))
    if store != "database":  # the first chunk cut the holders into ranges and ran the first
        assert holding(key) == set(followers[3:])
    runs, ranges = 1, []
    while worker.queue:
        result = worker.queue.pop(0)
        ranges.append(result.args[1][0].get("range"))
        worker.run(result)
        runs += 1
    assert runs == 4  # 11 entries, 3 per chunk
    if store == "database":  # each chunk deletes up to 3 entries, then enqueues itself again
        assert ranges == [None, None, None]
    else:  # 11 holders by feed id, 3 per range
        assert ranges == [
            ["timeline:00002", "timeline:00005"],
            ["timeline:00005", "timeline_aggregated:00000"],
            ["timeline_aggregated:00000", None],
        ]
    assert entry_count() == 0 and group_count() == 0 and activity_count() == 0


def test_an_unfollow_that_overtakes_the_copy_leaves_nothing_behind(worker):
    worker.settle(stream_client.feed("user", 1).add_activities, [act(n) for n in range(1, 4)])
    sources = [f"timeline:{i}" for i in range(4)] + ["timeline_aggregated:1"]
    worker.do(stream_client.follow_many, [{"source": s, "target": "user:1"} for s in sources])
    copies = worker.take()
    assert follow_count() == 5 and entry_count() == 3
    worker.do(stream_client.unfollow_many, [{"source": s, "target": "user:1"} for s in sources])
    purges = worker.take()
    for result in purges + copies:
        worker.run(result)
    worker.drain()
    assert entry_count() == 3  # user:1's own
    assert group_count() == 0


def test_following_again_before_a_late_purge_keeps_the_copy(worker):
    worker.settle(stream_client.feed("user", 1).add_activities, [act(n) for n in range(1, 4)])
    pairs = [{"source": f"timeline:{i}", "target": "user:1"} for i in range(2)]
    worker.do(stream_client.follow_many, pairs)
    worker.drain()
    worker.do(stream_client.unfollow_many, pairs)
    purges = worker.take()
    worker.do(stream_client.follow_many, pairs)
    worker.drain()
    for result in purges:
        worker.run(result)
    worker.drain()
    assert fids(stream_client.feed("timeline", 1).get()) == [f"testapp.Tweet:{n}" for n in (3, 2, 1)]


def test_keep_history_unfollows_need_no_chunk(worker):
    worker.settle(stream_client.feed("user", 1).add_activity, act(1))
    worker.do(stream_client.follow_many, [{"source": "timeline:1", "target": "user:1"}])
    worker.drain()
    worker.do(stream_client.unfollow_many, [{"source": "timeline:1", "target": "user:1", "keep_history": True}])
    assert worker.queue == [] and follow_count() == 0
    assert fids(stream_client.feed("timeline", 1).get()) == ["testapp.Tweet:1"]


def test_follows_made_meanwhile_never_shift_a_chunk(worker):
    originals = follow("user:1", 9, start=0)
    worker.do(stream_client.feed("user", 1).add_activity, act(1))
    worker.run(worker.queue.pop(0))  # planned: (None, 00002] ran; (00002, 00005], (00005, 00008], (00008, None)
    # Followers arrive before and inside the ranges still to run, some leave.
    early = ["timeline:00000a", "timeline:00000b", "timeline:00001a"]
    get_backend().follow_many(
        [(s, "user:1") for s in [*early, "timeline:00003a", "timeline:00009"]], 0, FeedLayout.current()
    )
    get_backend().unfollow_many([("timeline:00004", "user:1", False)], FeedLayout.current())
    worker.drain()
    key = key_of("testapp.Tweet:1")
    got = holding(key)
    assert set(originals) - {"timeline:00004"} <= got  # no original skipped
    assert "timeline:00003a" in got and "timeline:00009" in got  # joined a range still to run
    assert not set(early) & got  # joined the range that had run (their copy comes with the follow)
    assert sum(1 for _, k in flat_rows() if k == key) == len(got)  # once each


def test_changing_targets_moves_the_fan_out_through_the_workers(worker):
    watchers = follow("topic:a", 4, start=70)
    feed = stream_client.feed("user", 1)
    worker.do(feed.add_activity, act(1))
    worker.drain()
    worker.do(feed.update_activity_to_targets, "testapp.Tweet:1", act(1)["time"], added_targets=["topic:a"])
    assert holding("testapp.Tweet:1") == {"user:1", "topic:a"}
    worker.drain()
    assert holding("testapp.Tweet:1") == {"user:1", "topic:a", *watchers}
    worker.do(feed.update_activity_to_targets, "testapp.Tweet:1", act(1)["time"], removed_targets=["topic:a"])
    assert holding("testapp.Tweet:1") == {"user:1", *watchers}
    worker.drain()
    assert holding("testapp.Tweet:1") == {"user:1"}


# -- the request side stays constant -----------------------------------------------


@pytest.mark.parametrize("tasks", ["dummy", "database"])
def test_posting_costs_the_same_queries_for_10_or_5000_followers(
    queued, tasks, store, django_capture_on_commit_callbacks
):
    if tasks == "database":
        queued.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
    follow("user:small", 10)
    follow("user:big", 2500)
    follow("user:big", 2500, slug="timeline_aggregated")

    def post(user: str, n: int) -> tuple[int, Counter[str]]:
        if store == "database":
            get_backend().random.seed(0)
        with (
            CaptureQueriesContext(connection) as ctx,
            redis_commands() as sent,
            django_capture_on_commit_callbacks(execute=True),
        ):
            stream_client.feed("user", user).add_activity(act(n))
        return len(ctx.captured_queries), sent

    small, big = post("small", 1), post("big", 2)
    assert small == big  # the same queries (and, on Redis, the same commands)
    # One of them stores the write's feed-event record (two on MariaDB/MySQL:
    # the events' lock row, then the record).
    assert big[0] <= 10 + (connection.vendor == "mysql")
    if store != "database":  # a couple of scripts, none per follower
        assert 1 <= sum(big[1].values()) <= 3, big[1]
    assert holding("testapp.Tweet:2") == {"user:big"}
    assert FanoutChunk.objects.count() == 2


def test_following_many_costs_the_same_queries_for_3_or_150_feeds(worker):
    worker.settle(stream_client.feed("user", 1).add_activities, [act(n) for n in range(20)])

    def queries(pairs) -> int:
        with CaptureQueriesContext(connection) as ctx:
            worker.do(stream_client.follow_many, pairs)
        return len(ctx.captured_queries)

    few = [{"source": f"timeline:{i}", "target": "user:1"} for i in range(3)]
    many = [{"source": f"timeline:{i}", "target": "user:1"} for i in range(100, 250)]
    assert queries(few) == queries(many)
    assert entry_count() == 20  # the copies wait for the workers
    worker.drain()
    assert entry_count() == 20 + 153 * 20


# -- the ledger: failures, stale claims, status ------------------------------------


@DATABASE_ONLY  # the Redis backend leaves the feeds of a feed group no longer configured alone
def test_a_failed_chunk_is_recorded_and_requeued(worker, settings):
    worker.settle(stream_client.feed("user", 1).add_activity, act(1))
    worker.do(stream_client.follow_many, [{"source": "topic:9", "target": "user:1"}])
    worker.drain()
    worker.do(stream_client.unfollow_many, [{"source": "topic:9", "target": "user:1"}])
    feeds = dict(settings.STREAM_FEEDS)
    del feeds["topic"]
    settings.STREAM_FEEDS = feeds  # a deploy dropped the group meanwhile
    (purge,) = worker.take()
    with pytest.raises(Exception, match="'topic' does not exist"):
        worker.run(purge)
    chunk = FanoutChunk.objects.get()
    assert (chunk.started_at, chunk.attempts) == (None, 1)
    assert "FeedConfigException" in chunk.error
    assert fanout.backlog()["failed"] == 1
    settings.STREAM_FEEDS = {**feeds, "topic": {"type": "flat"}}
    worker.do(call_command, "stream_fanout_status", "--requeue", verbosity=0)
    worker.drain()
    assert FanoutChunk.objects.count() == 0
    assert stream_client.feed("topic", 9).get()["results"] == []


def test_a_chunk_claimed_by_a_live_worker_is_not_run_twice(worker, settings):
    follow("user:1", 5)
    worker.do(stream_client.feed("user", 1).add_activity, act(1))
    (result,) = worker.take()
    chunk_id = result.args[0]
    # Another worker claimed it (and may still be running it).
    FanoutChunk.objects.filter(id=chunk_id).update(started_at=timezone.now(), attempts=1)
    assert worker.run(result) == {"chunk": chunk_id, "skipped": "running elsewhere"}
    assert fanout.requeue(older_than=600) == []
    # Past STREAM_FANOUT_RETRY_AFTER the claim counts as lost.
    FanoutChunk.objects.filter(id=chunk_id).update(started_at=timezone.now() - timedelta(seconds=601))
    assert fanout.backlog()["stale"] == 1
    assert worker.do(fanout.requeue, older_than=600) == [chunk_id]
    worker.drain()
    assert len(holding("testapp.Tweet:1")) == 6
    assert FanoutChunk.objects.count() == 0


def status(*args: str) -> str:
    out = StringIO()
    call_command("stream_fanout_status", *args, stdout=out)
    return out.getvalue()


def test_status_command_reports_the_backlog(worker):
    follow("user:1", 10)
    worker.do(stream_client.feed("user", 1).add_activity, act(1))
    worker.run(worker.queue.pop(0))
    out = status()
    assert "Fan-out chunks outstanding: 3 (3 bulk)" in out
    assert "waiting for a worker: 3" in out
    state = json.loads(status("--json"))
    assert (state["chunks"], state["waiting"], state["failed"], state["requeued"]) == (3, 3, 0, 0)
    with pytest.raises(CommandError, match="3 fan-out chunks outstanding, more than 2"):
        call_command("stream_fanout_status", "--fail-above", "2")
    with pytest.raises(CommandError, match="--older-than must be >= 0, got -1"):
        call_command("stream_fanout_status", "--older-than", "-1")
    worker.drain()
    assert json.loads(status("--json"))["chunks"] == 0


def test_unstarted_chunks_whose_task_was_lost_are_requeued_on_request(worker):
    follow("user:1", 4)
    worker.do(stream_client.feed("user", 1).add_activity, act(1))
    worker.take()  # the task queue lost it
    assert worker.do(fanout.requeue, older_than=0) == []
    assert len(worker.do(fanout.requeue, older_than=0, include_unstarted=True)) == 1
    worker.drain()
    assert len(holding("testapp.Tweet:1")) == 5


@pytest.mark.parametrize("store", REDIS_BACKENDS, indirect=True)
def test_a_chunk_that_cannot_reach_redis_is_recorded_and_requeued(worker, store, settings):
    follow("user:1", 4)
    worker.do(stream_client.feed("user", 1).add_activity, act(1))
    (first,) = worker.take()
    url = settings.STREAM_REDIS_URL
    nowhere = "redis://127.0.0.1:1"  # nothing listens on port 1
    settings.STREAM_REDIS_URL = [nowhere] if store == "redis_cluster" else nowhere + "/0"
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        worker.run(first)
    chunk = FanoutChunk.objects.get()
    assert (chunk.started_at, chunk.attempts) == (None, 1)
    assert chunk.error.startswith("BackendUnavailable")
    assert fanout.backlog()["failed"] == 1
    settings.STREAM_REDIS_URL = url
    worker.do(call_command, "stream_fanout_status", "--requeue", verbosity=0)
    worker.drain()
    assert holding("testapp.Tweet:1") == {"user:1", *[f"timeline:{i:05d}" for i in range(4)]}
    assert FanoutChunk.objects.count() == 0


@pytest.mark.parametrize(
    "steps, message",
    [
        ({"op": "add"}, "steps must be a list"),
        ([{"op": "add"}], "needs a 'source' feed id and a list of 'keys'"),
        ([{"op": "shout"}], "has no valid 'op'"),
        ([{"op": "add", "source": "user:1", "keys": ["k"]}], "needs 'plan' or a 'range'"),
        ([{"op": "copy", "pairs": [["a:1"]], "limit": 1}], "needs 'pairs' of [source, target]"),
        ([{"op": "copy", "pairs": [], "limit": -1}], "needs a copy 'limit' >= 0"),
    ],
)
def test_invalid_messages_are_rejected_naming_the_step(worker, steps, message):
    chunk = FanoutChunk.objects.create(steps=json.dumps(steps))
    with pytest.raises(fanout.InvalidFanoutMessage, match=message.replace("[", r"\[").replace("(", r"\(")):
        fanout.run_chunk(chunk.id, steps)
    assert FanoutChunk.objects.get().error.startswith("InvalidFanoutMessage")
