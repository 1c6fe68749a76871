"""
Fan-out through a real task worker: ``db_worker`` of django-tasks-db, in a
subprocess, on the test database, with the feeds in the database or in Redis.

PostgreSQL only: the worker is a second process writing while this one
reads, which SQLite's in-memory test database cannot share, and the
PostgreSQL leg of ``tests/runall.py`` is where this runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from stream_django.backends import get_backend
from stream_django.client import stream_client
from stream_django.engine.ids import KEY_LENGTH
from stream_django.engine.plan import FeedLayout
from stream_django.models import (
    ActivityGroup,
    FanoutChunk,
    FeedEntry,
    Follow,
    GroupEntry,
    StoredActivity,
)
from tests import services
from tests.contract.helpers import act
from tests.fanout_support import holding, key_of
from tests.local_backends import LOCAL_BACKENDS, use_backend

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs a worker process sharing the test database: runs in the PostgreSQL leg",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
QUEUES = ["stream_fanout", "stream_fanout_bulk"]
FLAT, AGGREGATED = 16_000, 4_000
CHUNK_SIZE = 1000


@pytest.fixture(params=list(LOCAL_BACKENDS))
def task_settings(request, settings):
    services.require("postgres")
    use_backend(request, settings, request.param)
    if importlib.util.find_spec("django_tasks_db") is None:
        message = "django-tasks-db is not installed (it is in the 'test' dependency group)"
        if services.required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": QUEUES}}
    settings.STREAM_FANOUT_CHUNK_SIZE = CHUNK_SIZE
    return settings


class WorkerProcess:
    """``manage.py db_worker`` on the fan-out queues, against the test database."""

    def __init__(self) -> None:
        from django.conf import settings

        redis = {}
        if settings.STREAM_BACKEND.endswith("RedisBackend"):
            redis = {
                "STREAM_WORKER_REDIS_URL": json.dumps(settings.STREAM_REDIS_URL),
                "STREAM_WORKER_REDIS_PREFIX": settings.STREAM_BACKEND_OPTIONS["key_prefix"],
            }
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "STREAM_WORKER_DB_NAME": connection.settings_dict["NAME"],
            "STREAM_FANOUT_CHUNK_SIZE": str(CHUNK_SIZE),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **redis,
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "django",
                "db_worker",
                "--queue-name",
                ",".join(QUEUES),
                "--interval",
                "0.05",
                "--no-startup-delay",
                "--no-reload",
                "--verbosity",
                "0",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(
                f"the worker exited ({self.process.returncode}): {self.process.stderr.read().decode()}"
            )


def wait_for(condition, timeout: float, what: str, worker: WorkerProcess) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        worker.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.002)


def test_20000_followers_through_a_worker_killed_midway(task_settings):
    """Every follower ends with the activity exactly once, although the
    worker was killed while running a chunk and a new one took over."""
    store = Store.for_backend()
    store.follow_star()
    started = time.monotonic()
    stream_client.feed("user", "star").add_activity(act(1))
    key = key_of("testapp.Tweet:1")
    request_side = time.monotonic() - started
    assert holding(key) == {"user:star"}

    killed_mid_chunk = False
    workers = []
    try:
        for _attempt in range(5):
            worker = WorkerProcess()
            workers.append(worker)
            # Let it plan and finish a few chunks, then kill it while it holds one.
            wait_for(
                lambda: store.reached(key) > 3000 and FanoutChunk.objects.filter(started_at__isnull=False).exists(),
                30,
                "the worker to be inside a chunk",
                worker,
            )
            worker.kill()
            if FanoutChunk.objects.filter(started_at__isnull=False).exists():
                killed_mid_chunk = True
                break
        assert killed_mid_chunk, "could not kill the worker inside a chunk in 5 attempts"
        assert store.reached(key) < FLAT + AGGREGATED + 1

        # The task backend keeps a killed worker's task as running, for ever;
        # the ledger keeps the chunk it held as claimed. (A worker killed in
        # an earlier attempt, just after one chunk and before claiming the
        # next, left that one's task running and its chunk never started.)
        # Requeue them, as cron and an operator would: a chunk delivered
        # twice changes nothing.
        from django_tasks_db.models import DBTaskResult

        assert 1 <= DBTaskResult.objects.filter(status="RUNNING").count() <= len(workers)
        claimed = FanoutChunk.objects.filter(started_at__isnull=False).count()
        out = StringIO()
        call_command("stream_fanout_status", "--requeue", "--older-than", "0", "--json", stdout=out)
        assert json.loads(out.getvalue())["requeued"] == claimed == 1
        if len(workers) > 1:
            call_command(
                "stream_fanout_status", "--requeue", "--older-than", "0", "--include-unstarted", stdout=StringIO()
            )
        worker = WorkerProcess()
        workers.append(worker)
        wait_for(lambda: not FanoutChunk.objects.exists(), 60, "the backlog to drain", worker)
    finally:
        for w in workers:
            w.stop()

    store.check_once_each(key)
    assert request_side < 1.0
    assert [r["activities"][0]["origin"] for r in stream_client.feed("timeline_aggregated", 3999).get()["results"]] == [
        "user:star"
    ]


FLAT_FEEDS = [f"timeline:{i}" for i in range(FLAT)]
AGGREGATED_FEEDS = [f"timeline_aggregated:{i}" for i in range(AGGREGATED)]


class Store:
    """The followers of ``user:star`` and what they hold, in the database or in Redis."""

    @staticmethod
    def for_backend() -> Store:
        return RedisStore() if get_backend().name == "redis" else Store()

    def follow_star(self) -> None:
        """16,000 flat and 4,000 aggregated feeds follow ``user:star``."""
        from django.utils import timezone

        now = timezone.now()
        rows = [
            Follow(source=f, source_slug=f.split(":")[0], target="user:star", created_at=now, updated_at=now)
            for f in FLAT_FEEDS + AGGREGATED_FEEDS
        ]
        Follow.objects.bulk_create(rows, batch_size=5000)

    def reached(self, key: str) -> int:
        """How many feeds hold the activity so far."""
        return FeedEntry.objects.filter(activity_id=key).count() + GroupEntry.objects.filter(activity_id=key).count()

    def check_once_each(self, key: str) -> None:
        flat = FeedEntry.objects.filter(activity_id=key)
        assert flat.count() == FLAT + 1
        assert flat.values("feed").distinct().count() == FLAT + 1
        grouped = GroupEntry.objects.filter(activity_id=key)
        assert grouped.count() == AGGREGATED
        assert ActivityGroup.objects.count() == AGGREGATED
        assert set(ActivityGroup.objects.values_list("activity_count", "actor_count").distinct()) == {(1, 1)}
        assert not FeedEntry.objects.values("feed", "activity_id").annotate(n=Count("id")).filter(n__gt=1).exists()
        assert StoredActivity.objects.filter(key=key).exists()
        # The followers' entries come from user:star; the author's own has no origin.
        assert set(flat.exclude(feed="user:star").values_list("origin", flat=True).distinct()) == {"user:star"}
        assert set(grouped.values_list("origin", flat=True).distinct()) == {"user:star"}


class RedisStore(Store):
    def follow_star(self) -> None:
        backend = get_backend()
        feeds = FLAT_FEEDS + AGGREGATED_FEEDS
        for start in range(0, len(feeds), 5000):
            backend.follow_many([(f, "user:star") for f in feeds[start : start + 5000]], 0, FeedLayout.current())

    def reached(self, key: str) -> int:
        # Every entry holds a reference to the body: the count follows the entries.
        backend = get_backend()
        return int(backend.redis.get(backend.refs_key(key)) or 0) - 1  # not the author's own

    def check_once_each(self, key: str) -> None:
        backend = get_backend()
        pipe = backend.redis.pipeline(transaction=False)
        for feed in ["user:star", *FLAT_FEEDS]:
            pipe.zrange(backend.base(feed) + "e", 0, -1)
        for feed in AGGREGATED_FEEDS:
            pipe.hgetall(backend.base(feed) + "x")
            pipe.zrange(backend.base(feed) + "g", 0, -1)
        out = pipe.execute()
        flat = out[: FLAT + 1]
        # The activity once in each flat feed, and nothing else: the
        # author's own entry has no origin, the followers' come from user:star.
        assert flat[0] == [key]
        assert flat[1:] == [[key + "user:star"]] * FLAT
        grouped = out[FLAT + 1 :]
        memberships = grouped[0::2]
        assert all(list(m) == [key] for m in memberships)  # one entry in each aggregated feed
        assert {json.loads(m[key])[2] for m in memberships} == {"user:star"}
        groups = grouped[1::2]
        assert all(len(members) == 1 for members in groups)  # in one group each
        pipe = backend.redis.pipeline(transaction=False)
        for feed, (member,) in zip(AGGREGATED_FEEDS, groups):
            name = member[KEY_LENGTH:]
            pipe.zcard(f"{backend.base(feed)}ge:{name}")
            pipe.hlen(f"{backend.base(feed)}ga:{name}")
        counts = pipe.execute()
        assert list(zip(counts[0::2], counts[1::2])) == [(1, 1)] * AGGREGATED
        # Every entry holds one reference to the body. On a cluster a chunk
        # takes its references before it writes the entries (other slots);
        # a worker killed in between leaves them taken, and the chunk's
        # rerun takes them again: at most one chunk's worth more, never fewer.
        refs, entries = int(backend.redis.get(backend.refs_key(key))), FLAT + 1 + AGGREGATED
        if backend.cluster:
            assert entries <= refs <= entries + CHUNK_SIZE
        else:
            assert refs == entries
        assert backend.redis.exists(backend.body_key(key))
