"""
A follow or an unfollow racing a post: after both commit, the follower holds
the post exactly once and the unfollower (without ``keep_history``) none.

Each iteration starts the two writers together (a barrier) on fresh feeds and
compares the result with what a serial run gives, whichever went first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from stream_django import fanout
from stream_django.client import stream_client
from stream_django.fanout.queue import framework
from stream_django.models import FanoutChunk
from tests.contract.helpers import act
from tests.local_backends import LOCAL_BACKENDS, use_backend

pytestmark = pytest.mark.django_db(transaction=True)

ITERATIONS = 40


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    if request.param == "database" and connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL or MariaDB (their legs run it)")
    return use_backend(request, settings, request.param)


@pytest.fixture(params=["inline", "workers"])
def mode(request, settings, store):
    """Fan-out, copies and purges in the request, or in chunks on task workers."""
    if request.param == "workers":
        if connection.vendor == "sqlite":
            pytest.skip("the fan-out ledger is in SQLite here, which takes one writer at a time (other legs run it)")
        tasks = framework()
        if tasks is None:  # pragma: no cover - the test group installs the backport
            pytest.skip("no tasks framework installed")
        settings.TASKS = {"default": {"BACKEND": f"{tasks.__name__}.backends.dummy.DummyBackend", "QUEUES": []}}
        settings.STREAM_FANOUT_INLINE_LIMIT = 0
        settings.STREAM_FANOUT_CHUNK_SIZE = 3
    return request.param


def settle(mode: str) -> None:
    """Let the workers run every chunk in the ledger (and those they plan)."""
    if mode == "workers":
        while ids := list(FanoutChunk.objects.values_list("id", flat=True)):
            for chunk_id in ids:
                fanout.run_chunk(chunk_id)


def together(*work: Callable[[], object]) -> None:
    """Run each callable in its own thread, released at once by a barrier."""
    barrier = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def ids_in(feed) -> list[str]:
    return [a["foreign_id"] for a in feed.get(limit=100)["results"]]


def test_a_follow_racing_a_post_receives_it_exactly_once(mode):
    missed = []
    for i in range(ITERATIONS):
        author, reader = stream_client.feed("user", f"t{i}"), stream_client.feed("timeline", f"f{i}")
        post = act(i)
        together(lambda a=author, p=post: a.add_activity(p), lambda r=reader, i=i: r.follow("user", f"t{i}"))
        settle(mode)
        if ids_in(reader) != [post["foreign_id"]]:
            missed.append((i, ids_in(reader)))
    assert missed == []


def test_an_unfollow_racing_a_post_keeps_none_of_it(mode):
    kept = []
    for i in range(ITERATIONS):
        author, reader = stream_client.feed("user", f"t{i}"), stream_client.feed("timeline", f"f{i}")
        reader.follow("user", f"t{i}")
        settle(mode)
        post = act(i)
        together(lambda a=author, p=post: a.add_activity(p), lambda r=reader, i=i: r.unfollow("user", f"t{i}"))
        settle(mode)
        if ids_in(reader):
            kept.append((i, ids_in(reader)))
    assert kept == []
