"""
Reads of the Redis backend: the "reads" section of the storage contract.

A page of a flat feed or of groups is two round trips: the entries (one
``ZREVRANGEBYLEX``, or the ``GROUP_READ`` script, which also applies
``mark_seen`` / ``mark_read``), then the bodies they point to. Cursors are
lexical bounds over the entries; an entry whose body went between the two
round trips is skipped. Follows are read from the feed's own ``fr`` / ``fg``
sets, their counts from the per-slug hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from datetime import timezone as dt_timezone

from stream_django.backends.base import Entry, Follow, Group, GroupPage, Page
from stream_django.backends.redis.commands import Call, Commands, Rounds, rounds
from stream_django.backends.redis.keys import HIGH, KEY, Keys
from stream_django.engine import ids
from stream_django.engine.feeds import FeedGroup

#: Bodies per MGET on one server.
MGET_SIZE = 500


def _from_us(value: float) -> datetime:
    return datetime.fromtimestamp(int(value) / 1_000_000, tz=dt_timezone.utc)


class Reads(Keys, Commands):
    """Pages of feeds and groups, activity bodies, follows and their counts."""

    @staticmethod
    def _bounds(page: Page) -> tuple[bytes, bytes]:
        """ZREVRANGEBYLEX (max, min) for the page's cursors."""
        upper: list[tuple[bytes, int]] = []  # (value, 0 exclusive / 1 inclusive)
        if page.lt is not None:
            upper.append((page.lt.encode(), 0))
        if page.lte is not None:
            upper.append((page.lte.encode() + HIGH, 0))
        lower: list[tuple[bytes, int]] = []
        if page.gt is not None:
            lower.append((page.gt.encode() + HIGH, 0))
        if page.gte is not None:
            lower.append((page.gte.encode(), 1))
        high = b"+"
        if upper:
            value, inclusive = min(upper)
            high = (b"[" if inclusive else b"(") + value
        low = b"-"
        if lower:
            value, inclusive = max(lower, key=lambda b: (b[0], -b[1]))
            low = (b"[" if inclusive else b"(") + value
        return high, low

    @rounds
    def read_feed(self, feed: str, page: Page) -> Rounds[list[Entry]]:
        if page.limit == 0:
            return []
        high, low = self._bounds(page)
        members = yield from self._one("zrevrangebylex", self.base(feed) + "e", high, low, page.offset, page.limit)
        pairs = [(m[:KEY], m[KEY:] or None) for m in members]
        bodies = yield from self.get_activities.steps([k for k, _ in pairs])
        return [Entry(k, bodies[k], origin) for k, origin in pairs if k in bodies]

    @rounds
    def read_groups(
        self,
        feed: str,
        group: FeedGroup,
        page: Page,
        mark_seen: bool | Sequence[str] = False,
        mark_read: bool | Sequence[str] = False,
    ) -> Rounds[GroupPage]:
        high, low = self._bounds(page)
        base = self.base(feed)
        argv: list[str | bytes | int] = [
            base,
            high,
            low,
            page.offset,
            page.limit,
            group.activities_per_group,
            "1" if group.is_notification else "0",
        ]
        for mark in (mark_seen, mark_read):
            if mark is True:
                argv += ["a", 0]
            elif mark:
                names = list(mark)
                argv += ["l", len(names), *names]
            else:
                argv += ["0", 0]
        out = yield from self._one("script:GROUP_READ", [base + "g"], argv)
        unseen, unread, rows = out[0], out[1], out[2:]
        keys = [row[7][i] for row in rows for i in range(0, len(row[7]), 2)]
        bodies = yield from self.get_activities.steps(keys)
        groups: list[Group] = []
        for name, latest, created, count, actors, seen, read, entries in rows:
            activities = [
                Entry(entries[i], bodies[entries[i]], entries[i + 1] or None)
                for i in range(0, len(entries), 2)
                if entries[i] in bodies
            ]
            groups.append(
                Group(
                    name=name,
                    latest_key=latest,
                    created_at=ids.key_time(created),
                    updated_at=ids.key_time(latest),
                    activity_count=int(count),
                    actor_count=int(actors),
                    activities=activities,
                    is_seen=bool(seen),
                    is_read=bool(read),
                )
            )
        return GroupPage(groups=groups, unseen=int(unseen), unread=int(unread))

    @rounds
    def feed_length(self, feed: str) -> Rounds[int]:
        return int((yield from self._one("zcard", self.base(feed) + "e")))

    @rounds
    def get_activities(self, keys: Sequence[str]) -> Rounds[dict[str, str]]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        if self.cluster:
            # Bodies spread over the slots: one GET each, every node's at once.
            values = yield [("get", (self.body_key(k),)) for k in keys]
        else:
            values = yield [
                ("mget", ([self.body_key(k) for k in keys[i : i + MGET_SIZE]],)) for i in range(0, len(keys), MGET_SIZE)
            ]
            values = [v for chunk in values for v in chunk]
        return {k: v for k, v in zip(keys, values) if v is not None}

    @rounds
    def _follow_rows(
        self, zset: str, feed: str, offset: int, limit: int, among: Sequence[str] | None, *, followers: bool
    ) -> Rounds[list[Follow]]:
        if limit == 0:
            return []
        rows: list[tuple[float, str]]
        if among is not None:
            among = list(dict.fromkeys(among))
            if not among:
                return []
            scores = yield from self._one("zmscore", zset, among)
            rows = sorted(((s, f) for f, s in zip(among, scores) if s is not None), reverse=True)
            rows = rows[offset : offset + limit]
        else:
            rows = [(s, f) for f, s in (yield from self._one("zrevrange", zset, offset, offset + limit - 1, True))]
        result: list[Follow] = []
        for score, other in rows:
            created = _from_us(score)
            source, target = (other, feed) if followers else (feed, other)
            result.append(Follow(source, target, created, created))
        return result

    @rounds
    def followers(self, feed: str, offset: int, limit: int, among: Sequence[str] | None) -> Rounds[list[Follow]]:
        return (yield from self._follow_rows.steps(self.base(feed) + "fr", feed, offset, limit, among, followers=True))

    @rounds
    def following(self, feed: str, offset: int, limit: int, among: Sequence[str] | None) -> Rounds[list[Follow]]:
        return (yield from self._follow_rows.steps(self.base(feed) + "fg", feed, offset, limit, among, followers=False))

    @rounds
    def follow_counts(
        self, feed: str, followers_slugs: Sequence[str] | None, following_slugs: Sequence[str] | None
    ) -> Rounds[tuple[int, int]]:
        base = self.base(feed)
        calls: list[Call] = []
        for zset, counts, slugs in (
            (base + "fr", base + "frc", followers_slugs),
            (base + "fg", base + "fgc", following_slugs),
        ):
            if slugs:
                calls.append(("hmget", (counts, list(slugs))))
            else:
                calls.append(("zcard", (zset,)))
        totals = [sum(int(v or 0) for v in r) if isinstance(r, list) else int(r) for r in (yield calls)]
        return totals[0], totals[1]
