"""
Fan-out through a real task worker: ``db_worker`` of django-tasks-db, in a
subprocess, on the test database.

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

from stream_django.client import stream_client
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


@pytest.fixture
def task_settings(settings):
    services.require("postgres")
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
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "STREAM_WORKER_DB_NAME": connection.settings_dict["NAME"],
            "STREAM_FANOUT_CHUNK_SIZE": str(CHUNK_SIZE),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "db_worker", "--queue-name", ",".join(QUEUES),
             "--interval", "0.05", "--no-startup-delay", "--no-reload", "--verbosity", "0"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
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
            raise AssertionError(f"the worker exited ({self.process.returncode}): {self.process.stderr.read().decode()}")


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
    follow_star()
    started = time.monotonic()
    stream_client.feed("user", "star").add_activity(act(1))
    key = StoredActivity.objects.get().key
    assert list(FeedEntry.objects.filter(activity_id=key).values_list("feed", flat=True)) == ["user:star"]
    request_side = time.monotonic() - started

    killed_mid_chunk = False
    workers = []
    try:
        for attempt in range(5):
            worker = WorkerProcess()
            workers.append(worker)
            # Let it plan and finish a few chunks, then kill it while it holds one.
            wait_for(lambda: FeedEntry.objects.filter(activity_id=key).count() > 3000
                     and FanoutChunk.objects.filter(started_at__isnull=False).exists(),
                     30, "the worker to be inside a chunk", worker)
            worker.kill()
            if FanoutChunk.objects.filter(started_at__isnull=False).exists():
                killed_mid_chunk = True
                break
        assert killed_mid_chunk, "could not kill the worker inside a chunk in 5 attempts"
        reached = FeedEntry.objects.filter(activity_id=key).count() + GroupEntry.objects.filter(activity_id=key).count()
        assert reached < FLAT + AGGREGATED + 1

        # The task backend keeps the killed task as running, for ever; the
        # ledger keeps its chunk as claimed: requeue it, as cron would.
        from django_tasks_db.models import DBTaskResult

        assert DBTaskResult.objects.filter(status="RUNNING").count() == 1
        out = StringIO()
        call_command("stream_fanout_status", "--requeue", "--older-than", "0", "--json", stdout=out)
        assert json.loads(out.getvalue())["requeued"] == 1
        worker = WorkerProcess()
        workers.append(worker)
        wait_for(lambda: not FanoutChunk.objects.exists(), 60, "the backlog to drain", worker)
    finally:
        for w in workers:
            w.stop()

    flat = FeedEntry.objects.filter(activity_id=key)
    assert flat.count() == FLAT + 1
    assert flat.values("feed").distinct().count() == FLAT + 1
    grouped = GroupEntry.objects.filter(activity_id=key)
    assert grouped.count() == AGGREGATED
    assert ActivityGroup.objects.count() == AGGREGATED
    assert set(ActivityGroup.objects.values_list("activity_count", "actor_count").distinct()) == {(1, 1)}
    assert not FeedEntry.objects.values("feed", "activity_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert request_side < 1.0
    assert [r["activities"][0]["origin"] for r in stream_client.feed("timeline_aggregated", 3999).get()["results"]] == ["user:star"]


def follow_star() -> None:
    """16,000 flat and 4,000 aggregated feeds follow ``user:star``."""
    from django.utils import timezone

    now = timezone.now()
    rows = [Follow(source=f"timeline:{i}", source_slug="timeline", target="user:star", created_at=now, updated_at=now)
            for i in range(FLAT)]
    rows += [Follow(source=f"timeline_aggregated:{i}", source_slug="timeline_aggregated", target="user:star",
                    created_at=now, updated_at=now) for i in range(AGGREGATED)]
    Follow.objects.bulk_create(rows, batch_size=5000)
