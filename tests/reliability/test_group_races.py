"""
Writers racing in one aggregated or notification group: every count
(``activity_count``, ``actor_count``, ``unseen``/``unread``, ``is_seen``/
``is_read``) equals what a serial run gives, and no deadlock reaches a
caller (a reader marking groups seen while writers fan out included).

Each iteration starts the writers together (a barrier) on fresh feeds and
compares the result with the same operations run one after another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from stream_django.client import stream_client
from stream_django.conf import DATABASE_BACKEND
from stream_django.exceptions import TransactionConflict
from tests.contract.helpers import act
from tests.local_backends import LOCAL_BACKENDS, use_backend
from tests.reliability.test_follow_races import together

pytestmark = pytest.mark.django_db(transaction=True)

#: Iterations per test: enough for the old group upsert to go wrong in
#: nearly every one, few enough for the file to stay well inside a minute.
ITERATIONS = 10
WRITERS = 8


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    if request.param == "database" and connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL or MariaDB (their legs run it)")
    return use_backend(request, settings, request.param)


def like(n: int, actor: str = "auth.User:1", **extra: Any) -> dict[str, Any]:
    """A like of object ``n``, in the day's ``like`` group of every feed."""
    return act(n, actor=actor, verb="like", **extra)


def state(feed, mask_seen: set[str]) -> dict[str, Any]:
    """A feed's groups, by group name, as one comparable value.

    ``is_seen`` of the groups named in ``mask_seen`` is left out: it
    depends on whether a reader's mark came before or after a write, and
    either order is a serial one.
    """
    page = feed.get(limit=100)
    groups = {}
    for g in page["results"]:
        groups[g["group"]] = {
            "activity_count": g["activity_count"],
            "actor_count": g["actor_count"],
            "activities": sorted(a["foreign_id"] for a in g["activities"]),
            "is_read": g.get("is_read"),
            **({} if g["group"].rsplit(":", 1)[-1] in mask_seen else {"is_seen": g.get("is_seen")}),
        }
    unseen = sum(1 for g in page["results"] if g.get("is_seen") is False)
    unread = sum(1 for g in page["results"] if g.get("is_read") is False)
    # The counts a page reports agree with its groups (all on one page here).
    assert (page.get("unseen"), page.get("unread")) == (unseen, unread), page
    return {"groups": groups, "unread": unread}


def compare(
    scenario: Callable[[str], tuple[Any, list[Callable[[], object]], set[str]]], iterations: int = ITERATIONS
) -> None:
    """Run ``scenario`` once serially, then ``iterations`` times with its
    writers started together; fail unless every run ends as the serial one."""
    feed, work, mask = scenario("serial")
    for job in work:
        job()
    expected = state(feed, mask)
    wrong = []
    for i in range(iterations):
        feed, work, mask = scenario(f"r{i}")
        together(*work)
        got = state(feed, mask)
        if got != expected:
            wrong.append((i, got))
    assert expected["groups"], expected  # the scenario wrote something
    assert not wrong, f"{len(wrong)}/{iterations} runs differ from the serial run {expected}; the first: {wrong[0]}"


def test_one_actor_liking_together_is_one_actor(store):
    """Eight likes by one actor, written together into one day's group
    (directly, and through fan-out to a follower), make one actor."""

    def scenario(tag: str):
        notes = stream_client.feed("notification", f"n{tag}")
        author = stream_client.feed("user", f"a{tag}")
        follower = stream_client.feed("notification", f"f{tag}")
        follower.follow("user", f"a{tag}")
        work = [lambda n=n: notes.add_activity(like(n)) for n in range(WRITERS // 2)]
        work += [lambda n=n: author.add_activity(like(100 + n)) for n in range(WRITERS // 2)]
        return _Both(notes, follower), work, set()

    compare(scenario)


def test_a_mixed_workload_ends_as_a_serial_run(store):
    """Posts by one actor (fanned out and direct), the removal of one of
    his likes, a follow that copies likes by him and another actor, a
    reader marking everything seen and one marking a group read, started
    together, end with the serial run's counts and flags."""

    def scenario(tag: str):
        notes = stream_client.feed("notification", f"m{tag}")
        poster = stream_client.feed("user", f"p{tag}")
        copied = stream_client.feed("user", f"c{tag}")
        notes.follow("user", f"p{tag}")
        old = notes.add_activity(like(50))  # removed by a writer
        notes.add_activity(like(51))
        notes.add_activity(act(60, verb="comment"))  # marked read by a reader
        copied.add_activity(like(70))
        copied.add_activity(like(71, actor="auth.User:2"))
        comments = [g["id"] for g in notes.get(limit=10)["results"] if g["verb"] == "comment"]
        work: list[Callable[[], object]] = [lambda n=n: poster.add_activity(like(n)) for n in range(3)]
        work += [
            lambda: notes.add_activity(like(10)),
            lambda: notes.remove_activity(old["id"]),
            lambda: notes.follow("user", f"c{tag}"),
            lambda: notes.get(mark_seen=True),
            lambda: notes.get(mark_read=comments),
        ]
        likes = {g["group"] for g in notes.get(limit=10)["results"] if g["verb"] == "like"}
        return notes, work, likes

    compare(scenario)


def test_marking_seen_while_writers_fan_out_never_deadlocks(store):
    """Readers marking their notification feeds seen while writers fan
    likes and comments out to them get their pages, never a deadlock, and
    the counts end as in a serial run."""

    def scenario(tag: str):
        readers = [stream_client.feed("notification", f"r{k}{tag}") for k in range(3)]
        authors = [stream_client.feed("user", f"w{k}{tag}") for k in range(2)]
        for reader in readers:
            for k in range(len(authors)):
                reader.follow("user", f"w{k}{tag}")
            reader.add_activity(act(900, verb="share"))  # an unseen group of its own
        work: list[Callable[[], object]] = []
        for k, author in enumerate(authors):
            for verb in ("like", "comment"):
                work.append(lambda a=author, k=k, v=verb: a.add_activity(act(10 * k + len(v), verb=v)))
        work += [lambda r=reader: r.get(mark_seen=True) for reader in readers]
        return _Both(*readers), work, {f"{verb}_{act(0)['time']:%Y-%m-%d}" for verb in ("like", "comment")}

    compare(scenario)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers: no deadlock to provoke")
def test_a_deadlock_inside_the_callers_transaction_is_a_transaction_conflict(settings):
    """Two transactions of the caller's, each adding to the group the
    other holds: the database's victim gets ``TransactionConflict`` (its
    transaction is lost, nothing of it stays); the other commits."""
    settings.STREAM_BACKEND = DATABASE_BACKEND
    first, second = (stream_client.feed("notification", name) for name in ("x", "y"))
    barrier = threading.Barrier(2)
    outcome: dict[int, str] = {}

    def write(n: int, feeds: tuple[Any, Any]) -> None:
        try:
            with transaction.atomic():
                feeds[0].add_activity(like(n))
                barrier.wait(timeout=10)
                feeds[1].add_activity(like(n + 1))
            outcome[n] = "committed"
        except TransactionConflict:
            outcome[n] = "conflict"
        except BaseException as e:  # reported below
            outcome[n] = repr(e)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=write, args=(1, (first, second))),
        threading.Thread(target=write, args=(3, (second, first))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcome.values()) == ["committed", "conflict"], outcome
    (won,) = (n for n, result in outcome.items() if result == "committed")
    held = {}
    for feed in (first, second):
        (group,) = feed.get()["results"]
        assert (group["activity_count"], group["actor_count"]) == (1, 1), group
        held[feed.id] = [a["foreign_id"] for a in group["activities"]]
    assert sorted(held.values()) == [[f"testapp.Tweet:{won}"], [f"testapp.Tweet:{won + 1}"]], held


class _Both:
    """Several feeds read as one, for ``state``: each one's groups side by side."""

    def __init__(self, *feeds: Any) -> None:
        self.feeds = feeds

    def get(self, limit: int) -> dict[str, Any]:
        results, unseen, unread = [], 0, 0
        for k, feed in enumerate(self.feeds):
            page = feed.get(limit=limit)
            results += [{**g, "group": f"{k}:{g['group']}"} for g in page["results"]]
            unseen += page.get("unseen", 0)
            unread += page.get("unread", 0)
        return {"results": results, "unseen": unseen, "unread": unread}
