"""
Section 7: the backend against the leanest layout that holds the same
information, measured in the same run on the same rows.

The lean layout (PostgreSQL), built from the backend's own rows:

- ``bench_lean_entry (feed text, time timestamptz, activity uuid,
  PRIMARY KEY (feed, time, activity))``: one row per flat feed entry;
- ``bench_lean_group_entry (feed, grp, time, activity, PRIMARY KEY (feed,
  grp, time, activity))`` and ``bench_lean_group (feed, latest, grp,
  PRIMARY KEY (feed, latest, grp))``: the aggregated analogue, the group
  column and the groups in recency order;
- ``bench_lean_activity (activity uuid PRIMARY KEY, data text)``: each body
  once;
- ``bench_lean_follow (target text, source text, PRIMARY KEY (target,
  source))``: the followers.

No surrogate keys, no foreign keys, no other index. The activity uuid is
the storage key padded to 32 hex digits, so both layouts order the same.

The Redis rows reuse the fan-out medians of section 1 (same run) against
the add-only Lua reference and the pipelined ``ZADD``, and compare the
memory of a flat entry with a bare sorted-set member (the 31-character
activity key, score 0) of the same feed.
"""

from __future__ import annotations

import json
import random
from typing import Any

from django.db import connection, transaction

from bench.cases_db import DB, PAGE, _client, _delete_activity, _fanout_activity, fetch
from bench.data import log, scalar, step
from bench.measure import Contender, compare
from bench.report import Row
from bench.scales import Scale
from stream_django.engine import ids
from stream_django.engine.activities import prepare_activity

LEAN = "minimal layout"
#: "A page 40 pages deep": the 40th page of 25 starts after entry 975.
DEEP_PAGES = 40
LEAN_TABLES = ("bench_lean_entry", "bench_lean_group_entry", "bench_lean_group", "bench_lean_activity")


def _uuid(key: str) -> str:
    return key.ljust(32, "0")


def _run(*statements: str) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def build() -> None:
    """The lean tables, from the backend's rows (times from ``bench_seed``)."""
    with step("minimal layout built from the backend's rows"):
        _run(
            "DROP TABLE IF EXISTS bench_lean_entry, bench_lean_group_entry, bench_lean_group, "
            "bench_lean_activity, bench_lean_follow",
            "SET maintenance_work_mem = '256MB'",
            "CREATE TABLE bench_lean_activity (activity uuid PRIMARY KEY, data text NOT NULL)",
            "INSERT INTO bench_lean_activity SELECT rpad(key, 32, '0')::uuid, data FROM stream_django_activity "
            "ORDER BY key",
            "CREATE TABLE bench_lean_entry (feed text, time timestamptz, activity uuid, "
            "PRIMARY KEY (feed, time, activity))",
            "INSERT INTO bench_lean_entry SELECT e.feed, s.ts, rpad(e.activity_key, 32, '0')::uuid "
            "FROM stream_django_entry e JOIN bench_seed s ON s.key = e.activity_key ORDER BY 1, 2, 3",
            "CREATE TABLE bench_lean_group_entry (feed text, grp text, time timestamptz, activity uuid, "
            "PRIMARY KEY (feed, grp, time, activity))",
            "INSERT INTO bench_lean_group_entry SELECT e.feed, e.group_name, s.ts, "
            "rpad(e.activity_key, 32, '0')::uuid FROM stream_django_group_entry e "
            "JOIN bench_seed s ON s.key = e.activity_key ORDER BY 1, 2, 3, 4",
            "CREATE TABLE bench_lean_group (feed text, latest timestamptz, grp text, PRIMARY KEY (feed, latest, grp))",
            "INSERT INTO bench_lean_group SELECT g.feed, s.ts, g.name FROM stream_django_group g "
            "JOIN bench_seed s ON s.key = g.latest_key ORDER BY 1, 2, 3",
            "CREATE TABLE bench_lean_follow (target text, source text, PRIMARY KEY (target, source))",
            "INSERT INTO bench_lean_follow SELECT target, source FROM stream_django_follow ORDER BY 1, 2",
            "VACUUM ANALYZE bench_lean_activity, bench_lean_entry, bench_lean_group_entry, bench_lean_group, "
            "bench_lean_follow",
        )
    for ours, lean in (
        ("stream_django_entry", "bench_lean_entry"),
        ("stream_django_group_entry", "bench_lean_group_entry"),
    ):
        assert scalar(f"SELECT COUNT(*) FROM {ours}") == scalar(f"SELECT COUNT(*) FROM {lean}"), (ours, lean)


# -- storage ----------------------------------------------------------------------


def _indexes(table: str) -> dict[str, int]:
    return dict(
        fetch(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
            "WHERE indrelid = %s::regclass ORDER BY 1",
            [table],
        )
    )


def _table(table: str) -> dict[str, Any]:
    rows = scalar(f"SELECT COUNT(*) FROM {table}")
    return {
        "rows": rows,
        "total": scalar("SELECT pg_total_relation_size(%s::regclass)", [table]),
        "heap": scalar("SELECT pg_relation_size(%s::regclass)", [table]),
        "indexes": _indexes(table),
    }


def storage(series: dict[str, Any]) -> list[Row]:
    """Bytes per entry, heap and every index, both layouts freshly built."""
    section = "7. Against the leanest layout: storage in PostgreSQL, bytes per entry"
    # The backend's indexes grew by inserts: rebuilt, as the lean ones are fresh.
    _run(*(f"REINDEX TABLE {t}" for t in ("stream_django_entry", "stream_django_group_entry", "stream_django_group")))
    tables = {
        t: _table(t)
        for t in (
            "stream_django_entry",
            "stream_django_group_entry",
            "stream_django_group",
            "bench_lean_entry",
            "bench_lean_group_entry",
            "bench_lean_group",
        )
    }
    series["lean_storage"] = tables
    for name, t in tables.items():
        per = {k: round(v / t["rows"], 1) for k, v in t["indexes"].items()} if t["rows"] else {}
        log(f"{name}: {t['rows']:,} rows, heap {t['heap'] / max(1, t['rows']):.1f} B/row, indexes {per}")
    flat, lean_flat = tables["stream_django_entry"], tables["bench_lean_entry"]
    entries = tables["stream_django_group_entry"]["rows"]
    grouped = tables["stream_django_group_entry"]["total"] + tables["stream_django_group"]["total"]
    lean_grouped = tables["bench_lean_group_entry"]["total"] + tables["bench_lean_group"]["total"]
    feeds = scalar("SELECT COUNT(DISTINCT feed) FROM bench_lean_entry")
    return [
        Row(
            section,
            f"per flat entry ({flat['rows']:,} entries, {feeds:,} feeds)",
            "stream_django_entry",
            flat["total"] / flat["rows"],
            "(feed, time, activity) PK",
            lean_flat["total"] / lean_flat["rows"],
            unit="B",
            limit=1.2,
        ),
        Row(
            section,
            f"per aggregated entry, groups included ({entries:,} entries)",
            "group_entry + group",
            grouped / entries,
            "(feed, grp, time, activity) + groups",
            lean_grouped / entries,
            unit="B",
            limit=1.2,
        ),
    ]


# -- fan-out -------------------------------------------------------------------------


def lean_fanout(activity: Any, source: str) -> None:
    """The body once, the source's entry, one ``INSERT ... SELECT`` over the followers."""
    uid, at = _uuid(activity.key), ids.key_time(activity.key)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_lean_activity VALUES (%s, %s)", [uid, activity.json])
        cursor.execute("INSERT INTO bench_lean_entry VALUES (%s, %s, %s)", [source, at, uid])
        cursor.execute(
            "INSERT INTO bench_lean_entry SELECT source, %s, %s FROM bench_lean_follow WHERE target = %s",
            [at, uid, source],
        )


def _lean_cleanup(activity: Any, source: str) -> None:
    uid, at = _uuid(activity.key), ids.key_time(activity.key)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM bench_lean_entry e USING bench_lean_follow f WHERE f.target = %s AND e.feed = f.source "
            "AND e.time = %s AND e.activity = %s",
            [source, at, uid],
        )
        cursor.execute(
            "DELETE FROM bench_lean_entry WHERE feed = %s AND time = %s AND activity = %s", [source, at, uid]
        )
        cursor.execute("DELETE FROM bench_lean_activity WHERE activity = %s", [uid])


def fanout(scale: Scale, info: dict[str, Any]) -> list[Row]:
    section = "7. Against the leanest layout: one activity to F followers (PostgreSQL)"
    rows = []
    client = _client()
    for case in info["fanout"]:
        if case["full"]:
            continue
        followers, source = case["followers"], f"user:{case['user']}"
        feed = client.feed("user", case["user"])
        assert scalar("SELECT COUNT(*) FROM bench_lean_follow WHERE target = %s", [source]) == followers

        def ours_prepare(counter: int, source: str = source) -> dict[str, Any]:
            return _fanout_activity(source, 3 * 10**7 + counter)

        def lean_prepare(counter: int, source: str = source) -> Any:
            return prepare_activity(_fanout_activity(source, 4 * 10**7 + counter))

        ours = Contender(DB, feed.add_activity, ours_prepare, lambda a: _delete_activity(prepare_activity(a).key))
        lean = Contender(
            LEAN, lambda a, s=source: lean_fanout(a, s), lean_prepare, lambda a, s=source: _lean_cleanup(a, s)
        )
        compare([ours, lean], scale.write_runs, warmup=1)
        probe = lean_prepare(10**6)
        lean_fanout(probe, source)
        written = scalar("SELECT COUNT(*) FROM bench_lean_entry WHERE time = %s", [ids.key_time(probe.key)])
        assert written == followers + 1, (written, followers)
        _lean_cleanup(probe, source)
        rows.append(
            Row(section, f"F={followers:,}", DB, ours.median, "INSERT ... SELECT, lean", lean.median, limit=1.5)
        )
    return rows


# -- pages ------------------------------------------------------------------------------

LEAN_PAGE = (
    "SELECT e.activity, a.data FROM bench_lean_entry e JOIN bench_lean_activity a ON a.activity = e.activity "
    "WHERE e.feed = %s{cursor} ORDER BY e.time DESC, e.activity DESC LIMIT %s"
)
LEAN_GROUPS = (
    "SELECT g.grp, x.activity, x.data FROM (SELECT grp, latest FROM bench_lean_group WHERE feed = %s{cursor} "
    "ORDER BY latest DESC, grp DESC LIMIT %s) g CROSS JOIN LATERAL (SELECT e.time, e.activity, a.data "
    "FROM bench_lean_group_entry e JOIN bench_lean_activity a ON a.activity = e.activity "
    "WHERE e.feed = %s AND e.grp = g.grp ORDER BY e.time DESC, e.activity DESC LIMIT %s) x "
    "ORDER BY g.latest DESC, g.grp DESC, x.time DESC, x.activity DESC"
)


def lean_page(feed: str, before: tuple[Any, str] | None) -> list[tuple[str, Any]]:
    if before is None:
        rows = fetch(LEAN_PAGE.format(cursor=""), [feed, PAGE])
    else:
        rows = fetch(LEAN_PAGE.format(cursor=" AND (e.time, e.activity) < (%s, %s)"), [feed, *before, PAGE])
    return [(str(a), json.loads(d)) for a, d in rows]


def lean_groups(feed: str, before: Any, per_group: int) -> list[tuple[str, list[Any]]]:
    if before is None:
        rows = fetch(LEAN_GROUPS.format(cursor=""), [feed, PAGE, feed, per_group])
    else:
        rows = fetch(LEAN_GROUPS.format(cursor=" AND latest < %s"), [feed, before, PAGE, feed, per_group])
    groups: list[tuple[str, list[Any]]] = []
    for grp, activity, data in rows:
        if not groups or groups[-1][0] != grp:
            groups.append((grp, []))
        groups[-1][1].append((str(activity), json.loads(data)))
    return groups


def _as_uuid(key: str) -> str:
    h = _uuid(key)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def pages(scale: Scale, info: dict[str, Any]) -> list[Row]:
    from stream_django.engine.feeds import get_group

    section = "7. Against the leanest layout: pages of 25 (PostgreSQL)"
    rows = []
    client = _client()
    reader = info["readers"][max(info["readers"])]
    feed_id = f"timeline:{reader}"
    feed = client.feed("timeline", reader)
    length = scalar("SELECT COUNT(*) FROM stream_django_entry WHERE feed = %s", [feed_id])
    position = min((DEEP_PAGES - 1) * PAGE, length - PAGE)
    deep_key = scalar(
        "SELECT activity_key FROM stream_django_entry WHERE feed = %s ORDER BY activity_key DESC OFFSET %s LIMIT 1",
        [feed_id, position - 1],
    )
    for label, key in (("first page", None), (f"page {position // PAGE + 1} (after entry {position})", deep_key)):
        params = {"limit": PAGE} if key is None else {"limit": PAGE, "id_lt": ids.key_to_id(key)}
        before = None if key is None else (ids.key_time(key), _as_uuid(key))
        got = feed.get(**params)["results"]
        assert [_as_uuid(ids.id_to_key(a["id"])) for a in got] == [a for a, _ in lean_page(feed_id, before)]
        ours = Contender(DB, lambda p=params: feed.get(**p))
        lean = Contender(LEAN, lambda b=before: lean_page(feed_id, b))
        compare([ours, lean], scale.read_runs, scale.warmup)
        rows.append(Row(section, f"flat, {label}", DB, ours.median, LEAN, lean.median, limit=1.5))

    slug = "timeline_aggregated"
    size = max(s for (s_slug, s) in info["aggregated"] if s_slug == slug)
    agg_id = info["aggregated"][(slug, size)]
    group = get_group(slug)
    agg = client.feed(slug, agg_id.split(":")[1])
    groups = scalar("SELECT COUNT(*) FROM stream_django_group WHERE feed = %s", [agg_id])
    gpos = min((DEEP_PAGES - 1) * PAGE, groups - PAGE)
    latest = scalar(
        "SELECT latest_key FROM stream_django_group WHERE feed = %s ORDER BY latest_key DESC OFFSET %s LIMIT 1",
        [agg_id, gpos - 1],
    )
    for label, key in (("first page", None), (f"page {gpos // PAGE + 1} (after group {gpos} of {groups})", latest)):
        params = {"limit": PAGE} if key is None else {"limit": PAGE, "id_lt": ids.key_to_id(key)}
        before = None if key is None else ids.key_time(key)
        got = agg.get(**params)["results"]
        mine = lean_groups(agg_id, before, group.activities_per_group)
        assert [g["group"] for g in got] == [g for g, _ in mine]
        assert [[_as_uuid(ids.id_to_key(a["id"])) for a in g["activities"]] for g in got] == [
            [a for a, _ in acts] for _, acts in mine
        ]
        ours = Contender(DB, lambda p=params: agg.get(**p))
        lean = Contender(LEAN, lambda b=before: lean_groups(agg_id, b, group.activities_per_group))
        compare([ours, lean], scale.read_runs, scale.warmup)
        rows.append(
            Row(section, f"aggregated ({size:,} activities), {label}", DB, ours.median, LEAN, lean.median, limit=1.5)
        )
    return rows


# -- Redis --------------------------------------------------------------------------------


def redis_rows(redis_cases: Any, series: dict[str, Any]) -> list[Row]:
    """The issue's Redis targets: fan-out from section 1's medians of this run,
    memory per flat entry against a bare member of the same sorted set."""
    from bench.cases_redis import RAW, REDIS, redis_backend

    section = "7. Against the leanest layout: Redis"
    rows = []
    medians = series.get("fanout", {})
    ours = medians.get(REDIS, {})
    for followers in sorted(ours):
        lua, pipelined = medians["Redis Lua per chunk"][followers], medians["Redis pipelined ZADD"][followers]
        case = f"fan-out, F={followers:,} (section 1's medians)"
        rows.append(Row(section, case, REDIS, ours[followers], "add-only Lua", lua, limit=1.3))
        rows.append(Row(section, case, REDIS, ours[followers], "pipelined ZADD", pipelined, limit=1.0))
    if redis_cases.missing:
        return rows
    feeds = [f for (f,) in fetch("SELECT DISTINCT feed FROM stream_django_entry ORDER BY feed", [])]
    sample = random.Random(7).sample(feeds, min(1000, len(feeds)))
    r = redis_cases.r
    with redis_backend() as backend:
        keys = [backend.base(f) + "e" for f in sample]
        ours_entry = redis_cases._zset_memory(keys)
        bare = [RAW + "{" + f + "}:bare" for f in sample]
        for feed, key in zip(sample, bare):
            members = [k for (k,) in fetch("SELECT activity_key FROM stream_django_entry WHERE feed = %s", [feed])]
            for start in range(0, len(members), 1000):
                r.zadd(key, dict.fromkeys(members[start : start + 1000], 0))
        bare_entry = redis_cases._zset_memory(bare)
        r.unlink(*bare)
    series["lean_redis_memory"] = {"backend_entry": ours_entry, "bare_member": bare_entry, "feeds": len(sample)}
    rows.append(
        Row(
            section,
            f"memory per flat entry (MEMORY USAGE, {len(sample):,} feeds)",
            REDIS,
            ours_entry,
            "bare member (activity key)",
            bare_entry,
            unit="B",
            limit=1.3,
        )
    )
    return rows


def run_all(scale: Scale, info: dict[str, Any], series: dict[str, Any], redis_cases: Any = None) -> list[Row]:
    build()
    rows = storage(series) + pages(scale, info) + fanout(scale, info)
    if redis_cases is not None:
        rows += redis_rows(redis_cases, series)
    return rows
