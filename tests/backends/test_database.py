"""Database backend: query counts that follow the page, not the data."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stream_django.backends import get_backend
from stream_django.backends.database import DatabaseBackend
from stream_django.client import stream_client
from stream_django.engine.plan import FeedLayout
from stream_django.exceptions import InvalidStreamBackend
from stream_django.models import FeedEntry, StoredActivity
from tests.contract.helpers import act

pytestmark = pytest.mark.django_db


def count_queries(func) -> int:
    get_backend().random.seed(0)  # the same trimming draws for every measurement
    with CaptureQueriesContext(connection) as ctx:
        func()
    return len(ctx.captured_queries)


def fan_out_queries(func) -> tuple[int, int]:
    """Return (statements other than trimming, trimming statements)."""
    get_backend().random.seed(0)
    with CaptureQueriesContext(connection) as ctx:
        func()
    trims = sum(q["sql"].startswith("DELETE") for q in ctx.captured_queries)
    return len(ctx.captured_queries) - trims, trims


def followers(n: int, target: str) -> None:
    stream_client.follow_many([{"source": f"timeline:{i}", "target": target} for i in range(n)], activity_copy_limit=0)
    stream_client.follow_many(
        [{"source": f"timeline_aggregated:{i}", "target": target} for i in range(n)], activity_copy_limit=0
    )


def test_fan_out_costs_the_same_number_of_queries_for_5_or_500_followers():
    """The same statements whatever the number of followers, plus at most
    two trimming statements per feed group whose followers were sampled."""
    followers(5, "user:small")
    followers(500, "user:big")
    small, small_trims = fan_out_queries(lambda: stream_client.feed("user", "small").add_activity(act(1)))
    big, big_trims = fan_out_queries(lambda: stream_client.feed("user", "big").add_activity(act(2)))
    assert small == big
    # the direct feed (one statement), timeline (one), timeline_aggregated (two)
    assert max(small_trims, big_trims) <= 4
    assert (
        FeedEntry.objects.filter(activity_id=StoredActivity.objects.get(foreign_id="testapp.Tweet:2").key).count()
        == 501
    )
    assert stream_client.feed("timeline_aggregated", 499).get()["results"][0]["activity_count"] == 1


def test_a_fan_out_runs_no_statement_for_feed_groups_nobody_follows_with():
    stream_client.follow_many(
        [{"source": f"timeline:{i}", "target": "user:1"} for i in range(10)], activity_copy_limit=0
    )
    flat_only, _ = fan_out_queries(lambda: stream_client.feed("user", 1).add_activity(act(1)))
    stream_client.feed("timeline_aggregated", 1).follow("user", 1, activity_copy_limit=0)
    with_aggregated, _ = fan_out_queries(lambda: stream_client.feed("user", 1).add_activity(act(2)))
    # The groups' lock, then their counts, actors and entries (one statement on
    # PostgreSQL); MariaDB/MySQL reads the entries past the group cap apart.
    assert with_aggregated == flat_only + {"postgresql": 2, "mysql": 5}.get(connection.vendor, 4)
    assert stream_client.feed("timeline_aggregated", 1).get()["results"][0]["activity_count"] == 1
    assert len(stream_client.feed("timeline", 9).get()["results"]) == 2


def test_a_new_activity_fans_out_with_a_plain_insert_and_a_repeat_changes_nothing():
    get_backend().follow_many(
        [(f"timeline:{i}", "user:1") for i in range(5)] + [("user:1", "user:1")], 0, FeedLayout.current()
    )
    feed = stream_client.feed("user", 1)
    with CaptureQueriesContext(connection) as ctx:
        feed.add_activity(act(1))

    def plain(ctx) -> list[bool]:
        """Whether each fan-out statement inserts without conflict handling."""
        return [
            "ON CONFLICT" not in q["sql"] and "INSERT IGNORE" not in q["sql"]
            for q in ctx.captured_queries
            if "SELECT f.source, " in q["sql"]
        ]

    # A key this transaction inserted has no entries elsewhere (PostgreSQL
    # reports which keys were new); a feed following itself is skipped.
    postgres = connection.vendor == "postgresql"
    assert plain(ctx) == [postgres]
    with CaptureQueriesContext(connection) as ctx:
        feed.add_activities([act(1), act(1)])  # not new any more
        feed.add_activities([act(2), act(2)])  # new, twice in one batch
    assert plain(ctx) == [False, False, postgres, False]
    keys = {StoredActivity.objects.get(foreign_id=f"testapp.Tweet:{n}").key for n in (1, 2)}
    for feed_id in ["user:1", *[f"timeline:{i}" for i in range(5)]]:
        assert sorted(FeedEntry.objects.filter(feed=feed_id).values_list("activity_id", flat=True)) == sorted(keys)


def test_reading_a_page_is_one_query_whatever_the_feed_size():
    feed = stream_client.feed("user", 1)
    feed.add_activities([act(n) for n in range(1, 100)])
    with CaptureQueriesContext(connection) as ctx:
        page = feed.get(limit=25, offset=10)
    assert len(page["results"]) == 25
    assert len(ctx.captured_queries) == 1
    cursor = page["results"][-1]["id"]
    with CaptureQueriesContext(connection) as ctx:
        feed.get(limit=25, id_lt=cursor)
    assert len(ctx.captured_queries) == 1


@pytest.mark.parametrize("slug, expected", [("byactor", 2), ("notification", 3)])
def test_reading_25_groups_is_a_constant_number_of_queries(slug, expected):
    feed = stream_client.feed(slug, 1)
    for batch in range(3):
        feed.add_activities([act(batch * 100 + n, actor=f"a{n % 40}", verb=f"v{n % 40}") for n in range(100)])
        with CaptureQueriesContext(connection) as ctx:
            page = feed.get(limit=25)
        assert len(page["results"]) == 25
        assert len(ctx.captured_queries) == expected


def test_marking_adds_one_query_to_lock_the_groups_and_one_per_flag():
    feed = stream_client.feed("notification", 1)
    feed.add_activities([act(n, verb=f"v{n}") for n in range(30)])
    with CaptureQueriesContext(connection) as ctx:
        feed.get(limit=25, mark_seen=True, mark_read=True)
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 3 + 1 + 2, statements
    assert feed.get()["unseen"] == feed.get()["unread"] == 0


def test_following_copies_with_a_constant_number_of_queries():
    stream_client.feed("user", "small").add_activities([act(n) for n in range(3)])
    stream_client.feed("user", "big").add_activities([act(n) for n in range(100)])
    small = count_queries(lambda: stream_client.feed("timeline", 1).follow("user", "small"))
    big = count_queries(lambda: stream_client.feed("timeline", 2).follow("user", "big"))
    assert small == big
    small = count_queries(lambda: stream_client.feed("timeline_aggregated", 1).follow("user", "small"))
    big = count_queries(lambda: stream_client.feed("timeline_aggregated", 2).follow("user", "big"))
    # MariaDB/MySQL deletes what 100 activities put past the group cap (15)
    # in one statement of its own, which 3 activities do not need.
    assert big == small + (connection.vendor == "mysql")


def test_unknown_options_are_rejected_by_name():
    with pytest.raises(InvalidStreamBackend, match="'colour'"):
        DatabaseBackend({"colour": "blue"})


def test_orphaned_activities_are_cleaned_up():
    from django.core.management import call_command

    feed = stream_client.feed("tiny", 1)  # max_length 5
    feed.add_activities([act(n) for n in range(1, 9)])
    assert StoredActivity.objects.count() == 8
    call_command("stream_cleanup", verbosity=0)
    assert StoredActivity.objects.count() == 5
    assert len(feed.get()["results"]) == 5


def test_works_without_use_tz(settings):
    settings.USE_TZ = False
    stream_client.feed("timeline_aggregated", 1).follow("user", 2)
    stream_client.feed("user", 2).add_activity(act(1))
    stream_client.feed("notification", 1).add_activity(act(2))
    (group,) = stream_client.feed("timeline_aggregated", 1).get()["results"]
    assert group["created_at"].tzinfo is not None
    follows = stream_client.feed("user", 2).followers()["results"]
    assert follows[0]["created_at"].tzinfo is not None
    assert stream_client.feed("notification", 1).get()["unseen"] == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's pattern-ops indexes: runs in the PostgreSQL leg"
)
def test_no_pattern_ops_index_on_the_feed_tables():
    """Migration 0003 drops the ``..._like`` indexes no query of the backend uses."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname FROM pg_indexes WHERE tablename LIKE 'stream_django_%%' AND indexdef LIKE %s",
            ["%varchar_pattern_ops%"],
        )
        assert cursor.fetchall() == []
        cursor.execute("SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'stream_django_entry'")
        assert cursor.fetchone()[0] == 4  # primary key, (feed, activity_key), activity_key, origin


def test_migration_0006_fills_the_group_actors_and_repairs_actor_count():
    from stream_django.backends.database.models import ActivityGroup, GroupActor

    fill = importlib.import_module("stream_django.migrations.0006_group_actor").fill
    feed = stream_client.feed("notification", 1)
    feed.add_activities([act(n, verb="like", actor=f"auth.User:{n % 3}") for n in range(7)])
    feed.add_activity(act(20, verb="comment"))
    expected = sorted(GroupActor.objects.values_list("group__name", "actor", "activity_count"))
    assert len(expected) == 4
    GroupActor.objects.all().delete()
    ActivityGroup.objects.update(actor_count=9)  # as concurrent writers had inflated it
    fill(None, SimpleNamespace(connection=connection))  # it runs SQL on the editor's connection only
    assert sorted(GroupActor.objects.values_list("group__name", "actor", "activity_count")) == expected
    assert {g["group"]: g["actor_count"] for g in feed.get()["results"]} == {
        "like_2026-03-01": 3,
        "comment_2026-03-01": 1,
    }
