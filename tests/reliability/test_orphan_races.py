"""
Database backend: an orphan delete racing a write of entries for the same
activity never leaves an entry without its activity.

The entry tables have no foreign-key constraint to the activity table
(docs/database.md, "Statistics and the COMMIT"): the orphan deletes lock
their candidates before deleting them in a new statement, and writers of
entries hold the activity rows (``orphans.py``). Each iteration starts the
two writers together (a barrier) on fresh feeds; afterwards no entry of
either table references a missing activity, and the feeds read what a
serial run gives, whichever went first.
"""

from __future__ import annotations

import random
import time

import pytest
from django.db import connection

from stream_django.backends import get_backend
from stream_django.backends.database import DatabaseBackend
from stream_django.client import stream_client
from stream_django.engine.activities import prepare_activity
from stream_django.engine.plan import FeedLayout
from stream_django.models import FeedEntry, StoredActivity
from tests.contract.helpers import act
from tests.reliability.test_follow_races import together

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite", reason="SQLite lets one writer in at a time: no race to lose (other legs)"
    ),
]

ITERATIONS = 30
#: Activities the copy takes besides the raced one, and the spread of the
#: copy's start (seconds): together they move the copy across the removal.
COPIED = 50
JITTER = 0.008


@pytest.fixture
def backend() -> DatabaseBackend:
    store = get_backend()
    if not isinstance(store, DatabaseBackend):  # pragma: no cover - the test settings use it
        pytest.skip("the database backend's own locks")
    return store


def dangling() -> int:
    """Entries of either table whose activity row is missing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT e.activity_key FROM stream_django_entry e "
            "UNION ALL SELECT g.activity_key FROM stream_django_group_entry g) x "
            "LEFT JOIN stream_django_activity a ON a.key = x.activity_key WHERE a.key IS NULL"
        )
        return int(cursor.fetchone()[0])


def ids_in(slug: str, uid: str) -> list[str]:
    return [a["foreign_id"] for a in stream_client.feed(slug, uid).get(limit=100)["results"]]


def groups_in(slug: str, uid: str) -> int:
    return len(stream_client.feed(slug, uid).get(limit=100)["results"])


def orphan(n: int, feed: str) -> dict:
    """Activity ``n`` stored, and in no feed any more (as trimming leaves it)."""
    activity = act(n)
    stream_client.feed(*feed.split(":")).add_activity(activity)
    FeedEntry.objects.filter(feed=feed, activity_id=prepare_activity(activity).key).delete()
    return activity


def test_the_orphan_sweep_racing_a_fan_out_of_the_activity(backend):
    """``delete_orphaned_activities`` against the same activity added again
    to a feed with followers: whichever goes first, the feed and its
    followers hold it."""
    wrong = []
    for i in range(ITERATIONS):
        stream_client.feed("timeline", f"s{i}").follow("user", f"w{i}")
        stream_client.feed("timeline_aggregated", f"s{i}").follow("user", f"w{i}")
        activity = orphan(i, f"user:o{i}")
        together(
            backend.delete_orphaned_activities,
            lambda a=activity, i=i: stream_client.feed("user", f"w{i}").add_activity(a),
        )
        held = (ids_in("user", f"w{i}"), ids_in("timeline", f"s{i}"), groups_in("timeline_aggregated", f"s{i}"))
        if held != ([activity["foreign_id"]], [activity["foreign_id"]], 1):
            wrong.append((i, held))
    assert (dangling(), wrong) == (0, [])


def test_an_erasure_racing_a_fan_out_of_the_activity(backend):
    """An erasure deletes its feeds' activities that nothing else holds, as
    a removal does (``_delete_orphans``), against the same activity added to
    another feed with followers: that feed and its followers hold it."""
    layout = FeedLayout.current()
    wrong = []
    for i in range(ITERATIONS):
        stream_client.feed("timeline", f"s{i}").follow("user", f"w{i}")
        activity = act(i)
        stream_client.feed("user", f"e{i}").add_activity(activity)
        together(
            lambda i=i: backend.erase_feeds([f"user:e{i}"], layout),
            lambda a=activity, i=i: stream_client.feed("user", f"w{i}").add_activity(a),
        )
        held = (ids_in("user", f"e{i}"), ids_in("user", f"w{i}"), ids_in("timeline", f"s{i}"))
        if held != ([], [activity["foreign_id"]], [activity["foreign_id"]]):
            wrong.append((i, held))
    assert (dangling(), wrong) == (0, [])


def test_an_erasure_of_the_followed_feed_racing_a_follow_that_copies_it(backend):
    """An erasure of a feed against a follow of it that copies its
    activity: the follower holds nothing of it, and the activity is gone."""
    layout = FeedLayout.current()
    wrong = []
    for i in range(ITERATIONS):
        activity = act(i)
        stream_client.feed("user", f"e{i}").add_activity(activity)
        together(
            lambda i=i: backend.erase_feeds([f"user:e{i}"], layout),
            lambda i=i: stream_client.feed("timeline", f"s{i}").follow("user", f"e{i}"),
        )
        held = (ids_in("timeline", f"s{i}"), StoredActivity.objects.filter(foreign_id=activity["foreign_id"]).exists())
        if held != ([], False):
            wrong.append((i, held))
    assert (dangling(), wrong) == (0, [])


def test_a_removal_racing_a_follow_that_copies_the_activity(backend):
    """A removal of an activity from a feed (and so from its follower
    ``timeline:t``, leaving it in no feed) against a follow of that follower
    that copies it: either the copy took nothing and the activity is gone,
    or the new follower holds it and it stays stored, as in a serial run."""
    wrong = []
    others = {f"testapp.Tweet:{10_000 + n}" for n in range(COPIED)}
    for i in range(ITERATIONS):
        stream_client.feed("timeline", f"t{i}").follow("user", f"u{i}")
        stream_client.feed("timeline", f"t{i}").add_activities([act(10_000 + n, seconds=n) for n in range(COPIED)])
        activity = act(i, seconds=COPIED + i)
        stream_client.feed("user", f"u{i}").add_activity(activity)
        together(
            lambda a=activity, i=i: stream_client.feed("user", f"u{i}").remove_activity(foreign_id=a["foreign_id"]),
            lambda i=i: (
                time.sleep(random.random() * JITTER),
                stream_client.feed("timeline", f"s{i}").follow("timeline", f"t{i}"),
            ),
        )
        held = (ids_in("timeline", f"s{i}"), StoredActivity.objects.filter(foreign_id=activity["foreign_id"]).exists())
        copied = [f for f in held[0] if f not in others]
        held = (copied, held[1])
        if held not in (([], False), ([activity["foreign_id"]], True)):
            wrong.append((i, held))
    assert (dangling(), wrong) == (0, [])
