"""Concurrent writers to one aggregated group never lose an update."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from stream_django.client import stream_client
from tests.contract.helpers import act

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="runs on PostgreSQL (SQLite serialises writers; MariaDB is not load-tested here)",
    ),
]

THREADS = 8
PER_THREAD = 5


def run_concurrently(work) -> None:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_direct_adds_to_one_group():
    def work(i: int) -> None:
        for n in range(PER_THREAD):
            stream_client.feed("notification", 1).add_activity(
                act(i * 100 + n, verb="like", seconds=n, actor=f"actor{i}")
            )

    run_concurrently(work)
    (group,) = stream_client.feed("notification", 1).get()["results"]
    assert group["activity_count"] == THREADS * PER_THREAD
    assert group["actor_count"] == THREADS
    assert stream_client.feed("notification", 1).get()["unseen"] == 1


def test_fan_out_adds_to_one_group():
    for i in range(THREADS):
        stream_client.feed("timeline_aggregated", 9).follow("user", i)

    def work(i: int) -> None:
        for n in range(PER_THREAD):
            stream_client.feed("user", i).add_activity(act(i * 100 + n, verb="like", seconds=n, actor=f"actor{i}"))

    run_concurrently(work)
    (group,) = stream_client.feed("timeline_aggregated", 9).get()["results"]
    assert group["activity_count"] == THREADS * PER_THREAD
    assert group["actor_count"] == THREADS
