"""Database backend: migration 0009 (the entry tables' activity reference
without a foreign-key constraint) on a populated database, forward and
back, keeps every entry and what every feed reads."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from stream_django.client import stream_client
from stream_django.models import FeedEntry, GroupEntry, StoredActivity
from tests.contract.helpers import act

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("stream_django", "0008_verbose_names")
AFTER = ("stream_django", "0009_entry_activity_no_constraint")
TABLES = ("stream_django_entry", "stream_django_group_entry")
FEEDS = [("user", 1), ("user", 2), ("timeline", 1), ("timeline", 2), ("timeline_aggregated", 1), ("notification", 1)]


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    connection.close()  # no plan or cache of the schema before


def activity_references(table: str) -> tuple[bool, bool]:
    """(a foreign-key constraint to the activity table, an index) on ``table``'s ``activity_key``."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    fk = any(
        c["foreign_key"] == ("stream_django_activity", "key") and c["columns"] == ["activity_key"]
        for c in constraints.values()
    )
    index = any(c["index"] and c["columns"] and c["columns"][0] == "activity_key" for c in constraints.values())
    return fk, index


def populate() -> None:
    stream_client.feed("timeline", 1).follow("user", 1)
    stream_client.feed("timeline", 2).follow("user", 2)
    stream_client.feed("timeline_aggregated", 1).follow("user", 1)
    stream_client.feed("timeline_aggregated", 1).follow("user", 2)
    stream_client.feed("user", 1).add_activities([act(n, verb=f"v{n % 3}") for n in range(12)])
    stream_client.feed("user", 2).add_activities([act(n, verb="like", actor=f"auth.User:{n}") for n in range(20, 27)])
    stream_client.feed("notification", 1).add_activities([act(n, verb="follow") for n in range(40, 45)])
    stream_client.feed("user", 1).remove_activity(foreign_id="testapp.Tweet:3")


def read_all() -> dict[str, Any]:
    feeds = {f"{slug}:{uid}": stream_client.feed(slug, uid).get(limit=100)["results"] for slug, uid in FEEDS}
    feeds["counts"] = (StoredActivity.objects.count(), FeedEntry.objects.count(), GroupEntry.objects.count())
    return feeds


def test_0009_drops_the_constraints_and_keeps_every_entry():
    migrate(BEFORE)
    try:
        assert [activity_references(t) for t in TABLES] == [(True, True), (True, True)]
        populate()
        before = read_all()
        assert before["counts"][1] > 0 and before["counts"][2] > 0
        migrate(AFTER)
        assert [activity_references(t) for t in TABLES] == [(False, True), (False, True)]
        assert read_all() == before
        migrate(BEFORE)
        assert [activity_references(t) for t in TABLES] == [(True, True), (True, True)]
        assert read_all() == before
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        connection.close()
    assert [activity_references(t) for t in TABLES] == [(False, True), (False, True)]
    assert read_all() == before
