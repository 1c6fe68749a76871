"""
Fan-out: writing an activity into every feed that follows the feeds it
was added to, the one hop of the contract's writes.

It is set-based: one query surveys the followers (which aggregated feed
groups have any, and a sample of them to trim), then one
``INSERT ... SELECT`` over the follow table writes every flat follower, and
two statements per aggregated feed group with followers write its groups;
never one statement per follower. With a range of followers, the same
statements write one chunk of the chunked fan-out (``chunks.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.backends.utils import CursorWrapper

from stream_django.backends.database import sql
from stream_django.backends.database.groups import GroupMixin
from stream_django.backends.database.sql import ENTRY, FOLLOW
from stream_django.backends.database.trim import TRIM_SAMPLES, TrimMixin
from stream_django.engine.activities import PreparedActivity
from stream_django.engine.plan import FeedLayout, WritePlan


class FanOutMixin(GroupMixin, TrimMixin):
    """Write an activity into the followers of feeds, and trim a sample of them."""

    def _fan_out(
        self,
        cursor: CursorWrapper,
        plan: WritePlan,
        activity: PreparedActivity,
        sources: Sequence[str],
        chunk: tuple[str | None, str | None] | None = None,
        *,
        new_key: bool = False,
    ) -> None:
        """Write ``activity`` into every feed following one of ``sources``.

        With ``chunk`` (one source only), only into the followers whose id
        is in ``(after, upto]``, and only while the source holds the activity.
        With ``new_key`` (its row was inserted by this transaction), the only
        entries of the activity are those just written into ``sources``, so
        when the flat followers come from one source (each feed at most
        once) they are inserted without ``ON CONFLICT``: PostgreSQL's
        speculative insertion took about half again as long.
        """
        layout = plan.layout
        flat_slugs = layout.flat_slugs
        marks = sql.placeholders(sources)
        where = ""
        params: list[Any] = []
        if chunk is not None:
            where, params = sql.range_condition(chunk, "f.source")
            where += f" AND EXISTS (SELECT 1 FROM {ENTRY} o WHERE o.feed = %s AND o.activity_key = %s)"
            params += [sources[0], activity.key]
        grouped = layout.grouped_slugs
        followed_by, sample = self._survey_followers(cursor, layout, sources, grouped, chunk)
        if flat_slugs:
            select = (
                f"SELECT f.source, %s, f.target FROM {FOLLOW} f "
                f"WHERE f.target IN ({marks}) AND f.source_slug IN ({sql.placeholders(flat_slugs)}){where}"
            )
            if new_key and chunk is None and len(sources) == 1:
                cursor.execute(
                    f"INSERT INTO {ENTRY} (feed, activity_key, origin) {select} AND f.source <> %s",
                    [activity.key, *sources, *flat_slugs, sources[0]],
                )
            else:
                cursor.execute(
                    self._ignore(ENTRY, ["feed", "activity_key", "origin"], select),
                    [activity.key, *sources, *flat_slugs, *params],
                )
        for slug in grouped:
            if slug not in followed_by:
                continue  # no statements for a feed group without followers here
            rows = (
                f"SELECT f.source AS feed, f.target AS origin FROM {FOLLOW} f "
                f"WHERE f.target IN ({marks}) AND f.source_slug = %s{where}"
            )
            name = plan.group_name(slug, activity)
            cap = layout.of(slug).activities_per_group
            self._add_to_groups(cursor, activity, name, rows, [*sources, slug, *params], cap=cap)
        for slug, feeds in sample.items():
            self._trim(cursor, layout.of(slug), feeds)

    def _survey_followers(
        self,
        cursor: CursorWrapper,
        layout: FeedLayout,
        sources: Sequence[str],
        slugs: Sequence[str],
        chunk: tuple[str | None, str | None] | None = None,
    ) -> tuple[set[str], dict[str, list[str]]]:
        """One query about the feeds following ``sources`` (in ``chunk``):
        which of ``slugs`` have any, and a random sample of them to trim
        (``{slug: [feeds]}``).

        The sample is drawn by the query, then trimmed by name (see
        ``_trim``). Drawn inside the trimming statement, the sample cannot be
        estimated: PostgreSQL planned for a third of the followers and
        scanned the whole entry table on every fan-out. Asking which feed
        groups have followers spares a fan-out the statements of the
        aggregated groups nobody follows with (an indexed probe each).
        """
        rates = {
            slug: min(1.0, TRIM_SAMPLES / group.max_length) for slug, group in layout if group.max_length is not None
        }
        where, range_params = sql.range_condition(chunk, "f.source") if chunk is not None else ("", [])
        marks = sql.placeholders(sources)
        parts: list[str] = []
        params: list[Any] = []
        if rates:
            rate = "CASE f.source_slug " + " ".join(["WHEN %s THEN %s"] * len(rates)) + " END"
            parts.append(
                f"SELECT DISTINCT f.source, f.source_slug FROM {FOLLOW} f "
                f"WHERE f.target IN ({marks}) AND f.source_slug IN ({sql.placeholders(rates)}){where} "
                f"AND {sql.random_below(self.vendor, rate)}"
            )
            params += [*sources, *rates, *range_params, *(value for item in rates.items() for value in item)]
        for slug in slugs:
            parts.append(
                f"SELECT NULL, %s FROM (SELECT 1 AS one) d WHERE EXISTS (SELECT 1 FROM {FOLLOW} f "
                f"WHERE f.target IN ({marks}) AND f.source_slug = %s{where})"
            )
            params += [slug, *sources, slug, *range_params]
        if not parts:
            return set(), {}
        cursor.execute(" UNION ALL ".join(parts), params)
        followed_by: set[str] = set()
        sampled: dict[str, list[str]] = {}
        for feed, slug in cursor.fetchall():
            if feed is None:
                followed_by.add(slug)
            else:
                sampled.setdefault(slug, []).append(feed)
        return followed_by, sampled
