"""
The PostgreSQL cases: the database backend against hand-written SQL and
against django-activity-stream, on the data of ``bench.data``.

Every hand-written reference does the same job as the code it is compared
with, on the same connection: the same rows written in one transaction, or
the same page read and its JSON parsed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from bench.data import TIMELINE_LENGTH, scalar
from bench.measure import Contender, compare, count_queries
from bench.models import Post
from bench.report import Row
from bench.scales import Scale
from stream_django.engine import ids
from stream_django.engine.activities import prepare_activity
from stream_django.enrich import Enrich
from stream_django.feeds import get_client

PAGE = 25
DB = "database backend"


def _client() -> Any:
    return get_client()


def fetch(sql: str, params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# -- 1. fan-out -------------------------------------------------------------


def _fanout_activity(source: str, counter: int) -> dict[str, Any]:
    at = datetime.now(timezone.utc) + timedelta(milliseconds=counter)
    return {
        "actor": "auth.User:1",
        "verb": "post",
        "object": f"bench.Post:{source}-{counter}",
        "foreign_id": f"bench.Post:{source}-{counter}",
        "time": at,
    }


def fanout_label(case: dict[str, Any]) -> str:
    timelines = "full timelines" if case["full"] else "new timelines"
    return f"F={case['followers']:,}, {timelines}"


def _delete_activity(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM stream_django_entry WHERE activity_key = %s", [key])
        cursor.execute("DELETE FROM stream_django_activity WHERE key = %s", [key])


def raw_fanout(activity: Any, source: str) -> None:
    """The same rows as the backend writes, by hand: the activity, its entry
    in the source feed, and one ``INSERT ... SELECT`` over the follows."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO stream_django_activity (key, foreign_id, data) VALUES (%s, %s, %s)",
            [activity.key, activity.foreign_id, activity.json],
        )
        cursor.execute(
            "INSERT INTO stream_django_entry (feed, activity_key, origin) VALUES (%s, %s, NULL)",
            [source, activity.key],
        )
        cursor.execute(
            "INSERT INTO stream_django_entry (feed, activity_key, origin) "
            "SELECT source, %s, target FROM stream_django_follow WHERE target = %s",
            [activity.key, source],
        )


def fanout(scale: Scale, info: dict[str, Any], series: dict[str, Any]) -> list[Row]:
    """One activity to a feed with F followers; the writes are undone
    (untimed) after each run, so every run starts from the same data."""
    rows = []
    client = _client()
    for case in info["fanout"]:
        followers, source = case["followers"], f"user:{case['user']}"
        feed = client.feed("user", case["user"])
        assert scalar("SELECT COUNT(*) FROM stream_django_follow WHERE target = %s", [source]) == followers

        def ours_prepare(counter: int, source: str = source) -> dict[str, Any]:
            return _fanout_activity(source, counter)

        def ours_cleanup(activity: dict[str, Any]) -> None:
            _delete_activity(prepare_activity(activity).key)

        def raw_prepare(counter: int, source: str = source) -> Any:
            return prepare_activity(_fanout_activity(source, counter))

        ours = Contender(DB, feed.add_activity, ours_prepare, ours_cleanup)
        raw = Contender(
            "INSERT ... SELECT", lambda a, s=source: raw_fanout(a, s), raw_prepare, lambda a: _delete_activity(a.key)
        )
        compare([ours, raw], scale.write_runs, warmup=1)

        probe = ours_prepare(10**6)
        queries = count_queries(feed.add_activity, probe)
        key = prepare_activity(probe).key
        written = scalar("SELECT COUNT(*) FROM stream_django_entry WHERE activity_key = %s", [key])
        assert written == followers + 1, (written, followers)
        ours_cleanup(probe)
        probe_raw = raw_prepare(10**6 + 1)
        raw_queries = count_queries(raw_fanout, probe_raw, source)
        _delete_activity(probe_raw.key)
        rows.append(
            Row(
                "1. Fan-out: one activity to F followers (PostgreSQL)",
                fanout_label(case),
                DB,
                ours.median,
                "INSERT ... SELECT",
                raw.median,
                limit=1.5,
                queries=f"{queries} / {raw_queries}",
            )
        )
        if not case["full"]:
            series.setdefault("fanout", {}).setdefault(DB, {})[followers] = ours.median
            series["fanout"].setdefault("PostgreSQL INSERT ... SELECT", {})[followers] = raw.median
    return rows


# -- 2. timeline reads --------------------------------------------------------


RAW_PAGE = (
    "SELECT e.activity_key, a.data, e.origin FROM stream_django_entry e "
    "JOIN stream_django_activity a ON a.key = e.activity_key WHERE e.feed = %s{cursor} "
    "ORDER BY e.activity_key DESC LIMIT %s"
)


def raw_page(feed: str, before: str | None) -> list[tuple[str, Any, str | None]]:
    """The page by hand: one query, the JSON parsed."""
    if before is None:
        rows = fetch(RAW_PAGE.format(cursor=""), [feed, PAGE])
    else:
        rows = fetch(RAW_PAGE.format(cursor=" AND e.activity_key < %s"), [feed, before, PAGE])
    return [(key, json.loads(data), origin) for key, data, origin in rows]


def deep_cursor(feed: str, position: int) -> str:
    key = scalar(
        "SELECT activity_key FROM stream_django_entry WHERE feed = %s ORDER BY activity_key DESC OFFSET %s LIMIT 1",
        [feed, position - 1],
    )
    assert key is not None, f"{feed} holds fewer than {position} entries"
    return key


def _actstream(user: Any, before: datetime | None, relations: bool) -> list[Any]:
    from actstream.models import user_stream

    kwargs = {} if before is None else {"timestamp__lt": before}
    qs = user_stream(user, **kwargs)
    if not relations:
        qs = qs.prefetch_related(None)
    return list(qs[:PAGE])


def _timeline_rows(
    scale: Scale,
    label: str,
    follows: int | None,
    reader: int,
    user: Any,
    series: dict[str, Any] | None,
    *,
    target: bool,
) -> list[Row]:
    """The first and the deep page of one reader's timeline, against the
    hand-written query and django-activity-stream."""
    rows = []
    section = "2. Timeline page of 25 (PostgreSQL)"
    feed_id = f"timeline:{reader}"
    feed = _client().feed("timeline", reader)
    length = scalar("SELECT COUNT(*) FROM stream_django_entry WHERE feed = %s", [feed_id])
    assert scale.deep_position + PAGE <= length <= TIMELINE_LENGTH, length
    deep_key = deep_cursor(feed_id, scale.deep_position)
    deep_time = ids.key_time(deep_key)
    for page, key in (("first", None), ("deep", deep_key)):
        params = {"limit": PAGE} if key is None else {"limit": PAGE, "id_lt": ids.key_to_id(key)}
        before = None if key is None else deep_time

        got = feed.get(**params)["results"]
        by_hand = raw_page(feed_id, key)
        assert [ids.id_to_key(a["id"]) for a in got] == [r[0] for r in by_hand]
        theirs = _actstream(user, before, relations=False)
        assert [a["object"] for a in got] == [f"bench.Post:{a.action_object_object_id}" for a in theirs]

        ours = Contender(DB, lambda f=feed, p=params: f.get(**p))
        raw = Contender("hand-written SQL", lambda f=feed_id, k=key: raw_page(f, k))
        act = Contender("django-activity-stream", lambda u=user, b=before: _actstream(u, b, relations=False))
        compare([ours, raw, act], scale.read_runs, scale.warmup)
        q = count_queries(feed.get, **params)
        q_act = count_queries(_actstream, user, before, False)
        case = f"{label}, {page} page"
        rows.append(Row(section, case, DB, ours.median, "hand-written SQL", raw.median, limit=2, queries=f"{q} / 1"))
        rows.append(
            Row(
                section,
                case,
                DB,
                ours.median,
                "actstream user_stream",
                act.median,
                mode="speedup",
                limit=20 if target else None,
                queries=f"{q} / {q_act}",
            )
        )
        if series is not None and follows is not None:
            series.setdefault(f"read_{page}", {}).setdefault(DB, {})[follows] = ours.median
            series[f"read_{page}"].setdefault("PostgreSQL hand-written SQL", {})[follows] = raw.median
            series[f"read_{page}"].setdefault("django-activity-stream user_stream", {})[follows] = act.median
    return rows


def timelines(scale: Scale, info: dict[str, Any], series: dict[str, Any]) -> list[Row]:
    """First and deep pages of each reader's timeline, and the enriched page;
    then the same for the reader of the busy accounts (not in the series:
    rows 2b compare readers by follow count)."""
    rows: list[Row] = []
    enriched: list[Row] = []
    User = get_user_model()
    readers = [(f"{follows:,} follows", follows, reader) for follows, reader in info["readers"].items()]
    if info.get("busy_reader"):
        readers.append((f"{scale.busy_accounts} busy accounts", None, info["busy_reader"]))
    for label, follows, reader in readers:
        user = User.objects.get(pk=reader)
        # The 20x target is about the reader of few accounts; the busy
        # accounts' reader is there for the record (user_stream's cost
        # depends on how the followed accounts' actions are spread in time).
        target = follows == min(info["readers"])
        rows += _timeline_rows(scale, label, follows, reader, user, series if follows else None, target=target)
        enriched += _enriched(
            scale, label, _client().feed("timeline", reader), user, f"timeline:{reader}", target=target
        )

    first = series["read_first"][DB]
    deep = series["read_deep"][DB]
    few, many = min(first), max(first)
    flat = "2b. Timeline read against follows (flat: same cost at any follow count)"
    rows.append(
        Row(
            flat,
            f"first page, {many:,} vs {few:,} follows",
            f"{many:,} follows",
            first[many],
            f"{few:,} follows",
            first[few],
            limit=1.3,
        )
    )
    rows.append(
        Row(
            flat,
            f"deep page, {many:,} vs {few:,} follows",
            f"{many:,} follows",
            deep[many],
            f"{few:,} follows",
            deep[few],
            limit=1.3,
        )
    )
    return rows + enriched


def _hand_enriched(feed_id: str) -> list[Any]:
    """The enriched page by hand: the page, then the users and the posts."""
    User = get_user_model()
    page = raw_page(feed_id, None)
    users = User.objects.in_bulk({int(a["actor"].split(":")[1]) for _, a, _ in page})
    posts = Post.objects.select_related("user").in_bulk({int(a["object"].split(":")[1]) for _, a, _ in page})
    return [(a, users[int(a["actor"].split(":")[1])], posts[int(a["object"].split(":")[1])]) for _, a, _ in page]


def _enriched(scale: Scale, label: str, feed: Any, user: Any, feed_id: str, *, target: bool) -> list[Row]:
    def ours() -> list[Any]:
        return Enrich().enrich_activities(feed.get(limit=PAGE)["results"])

    check = ours()
    assert all(a.enriched for a in check) and isinstance(check[0]["object"], Post)
    mine = Contender(DB, ours)
    hand = Contender("hand-written", lambda: _hand_enriched(feed_id))
    act = Contender("django-activity-stream", lambda: _actstream(user, None, relations=True))
    compare([mine, hand, act], scale.read_runs, scale.warmup)
    q = count_queries(ours)
    section = "3. Enriched page: read + Enrich of 25 activities (PostgreSQL)"
    case = label
    return [
        Row(
            section,
            case,
            "read + Enrich",
            mine.median,
            "SQL + in_bulk",
            hand.median,
            queries=f"{q} / {count_queries(_hand_enriched, feed_id)}",
        ),
        Row(
            section,
            case,
            "read + Enrich",
            mine.median,
            "user_stream + relations",
            act.median,
            mode="speedup",
            limit=20 if target else None,
            queries=f"{q} / {count_queries(_actstream, user, None, True)}",
        ),
    ]


# -- 4. aggregated and notification pages -------------------------------------


RAW_GROUPS = (
    "SELECT g.name, g.latest_key, g.created_at, g.activity_count, g.actor_count, g.is_seen, g.is_read, "
    "x.activity_key, x.origin, x.data FROM (SELECT * FROM stream_django_group WHERE feed = %s "
    "ORDER BY latest_key DESC LIMIT %s) g CROSS JOIN LATERAL (SELECT e.activity_key, e.origin, a.data "
    "FROM stream_django_group_entry e JOIN stream_django_activity a ON a.key = e.activity_key "
    "WHERE e.feed = g.feed AND e.group_name = g.name ORDER BY e.activity_key DESC LIMIT %s) x "
    "ORDER BY g.latest_key DESC, x.activity_key DESC"
)
RAW_COUNTS = (
    "SELECT COUNT(*) FILTER (WHERE NOT is_seen), COUNT(*) FILTER (WHERE NOT is_read) "
    "FROM stream_django_group WHERE feed = %s"
)


def raw_groups(feed: str, per_group: int, notification: bool) -> tuple[list[dict[str, Any]], Any]:
    """A page of groups by hand: one LATERAL query (plus the counts)."""
    groups: list[dict[str, Any]] = []
    for name, latest, created, count, actors, seen, read, key, origin, data in fetch(
        RAW_GROUPS, [feed, PAGE, per_group]
    ):
        if not groups or groups[-1]["name"] != name:
            groups.append(
                {
                    "name": name,
                    "latest": latest,
                    "created_at": created,
                    "activity_count": count,
                    "actor_count": actors,
                    "is_seen": seen,
                    "is_read": read,
                    "activities": [],
                }
            )
        groups[-1]["activities"].append((key, json.loads(data), origin))
    counts = fetch(RAW_COUNTS, [feed])[0] if notification else None
    return groups, counts


def aggregated(scale: Scale, info: dict[str, Any], series: dict[str, Any]) -> list[Row]:
    from stream_django.engine.feeds import get_group

    rows = []
    client = _client()
    section = "4. Aggregated / notification page of 25 groups (PostgreSQL)"
    for (slug, size), feed_id in info["aggregated"].items():
        group = get_group(slug)
        feed = client.feed(slug, feed_id.split(":")[1])
        got = feed.get(limit=PAGE)["results"]
        by_hand, _ = raw_groups(feed_id, group.activities_per_group, group.is_notification)
        assert [g["group"] for g in got] == [g["name"] for g in by_hand]
        assert [[ids.id_to_key(a["id"]) for a in g["activities"]] for g in got] == [
            [a[0] for a in g["activities"]] for g in by_hand
        ]
        ours = Contender(DB, lambda f=feed: f.get(limit=PAGE))
        raw = Contender(
            "hand-written SQL", lambda f=feed_id, g=group: raw_groups(f, g.activities_per_group, g.is_notification)
        )
        compare([ours, raw], scale.read_runs, scale.warmup)
        q = count_queries(feed.get, limit=PAGE)
        q_raw = 2 if group.is_notification else 1
        rows.append(
            Row(
                section,
                f"{slug}, {size:,} activities",
                DB,
                ours.median,
                "hand-written SQL",
                raw.median,
                limit=2,
                queries=f"{q} / {q_raw}",
            )
        )
        series.setdefault(f"aggregated_{slug}", {}).setdefault(DB, {})[size] = ours.median
        series[f"aggregated_{slug}"].setdefault("PostgreSQL hand-written SQL", {})[size] = raw.median
    # In the smallest feed a group holds two activities, so its page is
    # smaller; from the next size on every page shows 25 groups of 15.
    for slug in ("timeline_aggregated", "notification"):
        sizes = series[f"aggregated_{slug}"][DB]
        mid, large = sorted(sizes)[-2:]
        rows.append(
            Row(
                "4b. Aggregated page against feed size, same page (no target: for the record)",
                f"{slug}, {large:,} vs {mid:,} activities",
                f"{large:,}",
                sizes[large],
                f"{mid:,}",
                sizes[mid],
            )
        )
    return rows


# -- 5. storage ------------------------------------------------------------------


def _size(table: str) -> tuple[int, int]:
    return (
        scalar("SELECT pg_total_relation_size(%s::regclass)", [table]),
        scalar(f"SELECT COUNT(*) FROM {table}"),
    )


def storage(series: dict[str, Any]) -> list[Row]:
    """Bytes per row, indexes included (``pg_total_relation_size`` / rows)."""
    _build_reference_entries()
    section = "5. Storage in PostgreSQL: bytes per row, indexes included"
    tables = (
        "stream_django_activity",
        "stream_django_entry",
        "stream_django_follow",
        "stream_django_group_entry",
        "stream_django_group",
        "actstream_action",
        "actstream_follow",
        "bench_ref_entry",
    )
    # Every index freshly built, as the reference's are: the unique indexes
    # grew by inserts in no particular order while the data was loaded.
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"REINDEX TABLE {table}")
    sizes = {t: _size(t) for t in tables}

    def per(table: str) -> float:
        total, count = sizes[table]
        return total / count

    ours_total = sum(sizes[t][0] for t in sizes if t.startswith("stream_django_"))
    theirs_total = sizes["actstream_action"][0] + sizes["actstream_follow"][0]
    activities = sizes["stream_django_activity"][1]
    series["storage_pg"] = {t: {"bytes": b, "rows": n} for t, (b, n) in sizes.items()}
    return [
        Row(
            section,
            "per activity",
            "stream_django_activity",
            per("stream_django_activity"),
            "actstream_action",
            per("actstream_action"),
            unit="B",
        ),
        Row(
            section,
            "per flat feed entry",
            "stream_django_entry",
            per("stream_django_entry"),
            "integer-keyed entry table",
            per("bench_ref_entry"),
            unit="B",
            note="reference: the same rows with integer feed and activity ids",
        ),
        Row(
            section,
            "per follow",
            "stream_django_follow",
            per("stream_django_follow"),
            "actstream_follow",
            per("actstream_follow"),
            unit="B",
        ),
        Row(
            section,
            "per aggregated entry",
            "stream_django_group_entry",
            per("stream_django_group_entry"),
            "stream_django_entry",
            per("stream_django_entry"),
            unit="B",
        ),
        Row(
            section,
            f"all tables / {activities:,} activities",
            "stream_django_*",
            ours_total / activities,
            "actstream_*",
            theirs_total / sizes["actstream_action"][1],
            unit="B",
        ),
    ]


def _build_reference_entries() -> None:
    """The flat entries again with integer ids and the same three indexes:
    what a feed entry costs at the least in PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_ref_entry, bench_ref_feed")
        cursor.execute(
            "CREATE TABLE bench_ref_feed AS SELECT feed, (row_number() OVER ())::integer AS id "
            "FROM (SELECT DISTINCT feed FROM stream_django_entry) f"
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_ref_feed (feed)")
        cursor.execute(
            "CREATE TABLE bench_ref_entry (id bigserial PRIMARY KEY, feed integer NOT NULL, "
            "activity bigint NOT NULL, origin integer)"
        )
        cursor.execute(
            "INSERT INTO bench_ref_entry (feed, activity, origin) SELECT f.id, s.n, o.id "
            "FROM stream_django_entry e JOIN bench_ref_feed f ON f.feed = e.feed "
            "JOIN bench_seed s ON s.key = e.activity_key LEFT JOIN bench_ref_feed o ON o.feed = e.origin"
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_ref_entry (feed, activity)")
        cursor.execute("CREATE INDEX ON bench_ref_entry (activity)")
        cursor.execute("CREATE INDEX ON bench_ref_entry (origin)")
        cursor.execute("VACUUM ANALYZE bench_ref_entry")
