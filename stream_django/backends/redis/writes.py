"""
Writes of the Redis backend: the "writes" section of the storage contract.

Write order, which keeps readers consistent across slots: an activity's body
(and its reference count) is written before any feed entry points to it, and
entries are deleted before the reference count drops and the body goes. A
reader that meets an entry whose body vanished between its two round trips
skips it. The reference count is never below the number of entries, so a
body is deleted only when nothing points to it; a crash between the steps
can only leave a body behind, never a dangling entry.

Adding writes the direct feeds (the feed and the activity's ``to`` feeds),
then fans out from each (``fanout.py``). Removing an activity the feed holds
directly removes it from the feed and its ``to`` feeds, then from their
holders; one the feed received by fan-out goes from that feed only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from stream_django.backends.redis.commands import Rounds, rounds
from stream_django.backends.redis.entries import GroupNames
from stream_django.backends.redis.fanout import Fanout
from stream_django.engine import serializer
from stream_django.engine.activities import PreparedActivity
from stream_django.engine.plan import FeedLayout, WritePlan


class Writes(Fanout):
    """Adding, replacing and removing activities, with their fan-out."""

    @rounds
    def add_activities(self, feed: str, plan: WritePlan) -> Rounds[None]:
        yield from self._add.steps(plan, [(a, plan.direct_feeds(feed, a)) for a in plan.activities], fan_out=True)

    @rounds
    def add_to_many(self, plan: WritePlan, feeds: Sequence[str]) -> Rounds[None]:
        yield from self._add.steps(plan, [(a, feeds) for a in plan.activities], fan_out=False)

    @rounds
    def change_targets(self, plan: WritePlan, added: Sequence[str], removed: Sequence[str]) -> Rounds[None]:
        (activity,) = plan.activities
        removals = {activity.key: list(removed)} if removed else None
        yield from self._add.steps(plan, [(activity, added)], fan_out=True, removals=removals)

    @rounds
    def remove_activities(self, feed: str, keys: Sequence[str], layout: FeedLayout) -> Rounds[None]:
        yield from self._remove_held.steps(feed, keys, layout, holders=True)

    @rounds
    def keys_for_foreign_id(self, feed: str, foreign_id: str, layout: FeedLayout) -> Rounds[list[str]]:
        if not foreign_id:
            return []
        candidates = sorted(((yield from self._one("get", self.fid_key(foreign_id))) or "").split())
        find = self._find_call(feed, candidates, layout)
        return list(self._pairs((yield [find])[0])) if find else []

    @rounds
    def replace_activities(self, activities: Sequence[PreparedActivity]) -> Rounds[list[str]]:
        latest = {a.key: a for a in activities}
        keys = list(latest)
        results = yield [("script:BODY_REPLACE", ([self.body_key(k)], [latest[k].json])) for k in keys]
        return [k for k, ok in zip(keys, results) if ok]

    @rounds
    def _add(
        self,
        plan: WritePlan,
        items: Sequence[tuple[PreparedActivity, Sequence[str]]],
        *,
        fan_out: bool,
        removals: dict[str, list[str]] | None = None,
        remove_holders: bool = True,
    ) -> Rounds[None]:
        """Store each activity and write it into its feeds (origin None) and,
        with ``fan_out``, into every feed following one of them.

        1. store the bodies, their references raised by the direct entries;
        2. (``removals``: remove activities from feeds and, with
           ``remove_holders``, from the feeds that received them there);
        3. write the direct entries and lower the references by those not
           written or trimmed;
        4. fan out from each flat feed, a batch of followers at a time.
        """
        activities: dict[str, PreparedActivity] = {}
        direct: dict[str, list[str]] = {}
        for activity, feeds in items:
            activities[activity.key] = activity
            known = direct.setdefault(activity.key, [])
            known += [f for f in feeds if f not in known]
        released: Counter[str] = Counter({k: len(feeds) for k, feeds in direct.items()})
        yield [
            ("script:BODY_PUT", (self._body_keys(k), [a.json, a.foreign_id, released[k], self.prefix, k]))
            for k, a in activities.items()
        ]
        if removals:
            yield from self._remove_everywhere.steps(removals, {}, plan.layout, holders=remove_holders)
        names = GroupNames.of_plan(plan)
        by_feed: dict[str, dict[str, str | None]] = defaultdict(dict)
        for key, feeds in direct.items():
            for feed in feeds:
                by_feed[feed].setdefault(key, None)
        calls = [c for f, entries in by_feed.items() if (c := self._entry_call(f, entries, names))]
        for new, trimmed in (yield calls):
            released.subtract(new)
            released.update(trimmed)
        yield from self._release.steps(released)
        if fan_out:
            for feed, entries in by_feed.items():
                yield from self._fan_out.steps(feed, list(entries), None, None, names)

    @rounds
    def _remove_held(
        self, feed: str, keys: Sequence[str], layout: FeedLayout, *, holders: bool
    ) -> Rounds[dict[str, list[str]]]:
        """Remove ``keys`` from ``feed``; those it holds directly also from
        their ``to`` feeds and, with ``holders``, from every feed that got
        them from there. Return ``{flat feed: keys}`` of those direct ones."""
        keys = list(dict.fromkeys(keys))
        find = self._find_call(feed, keys, layout)
        if find is None:
            return {}
        # Which keys the feed holds, and (in the same round trip) their
        # bodies, whose "to" names the feeds a direct entry reached.
        out = yield [find, *[("get", (self.body_key(k),)) for k in keys]]
        held = self._pairs(out[0])
        bodies = dict(zip(keys, out[1:]))
        scopes: dict[str, list[str]] = {}
        for key, origin in held.items():
            if origin is None:
                to = serializer.loads(bodies[key]).get("to", []) if bodies.get(key) else []
                scopes[key] = [feed, *[t for t in to if t != feed]]
        reached = [k for k, origin in held.items() if origin is not None]
        return (
            yield from self._remove_everywhere.steps(
                scopes, {feed: reached} if reached else {}, layout, holders=holders
            )
        )

    @rounds
    def _remove_everywhere(
        self,
        scopes: dict[str, list[str]],
        single: dict[str, list[str]],
        layout: FeedLayout,
        *,
        holders: bool = True,
    ) -> Rounds[dict[str, list[str]]]:
        """Remove each key of ``scopes`` from its scope feeds and, with
        ``holders``, from the feeds that received it from one of them; each
        feed of ``single`` loses its keys there only. Return the flat scope
        feeds whose holders may still have the keys ``{feed: [keys]}``."""
        removing: dict[str, list[str]] = defaultdict(list)
        sources: dict[str, list[str]] = defaultdict(list)
        for key, scope in scopes.items():
            for feed in dict.fromkeys(scope):
                removing[feed].append(key)
                group = self._group(feed, layout)
                if group is not None and group.is_flat:
                    sources[feed].append(key)
        for feed, keys in single.items():
            removing[feed].extend(keys)
        yield from self._release.steps((yield from self._remove_from_each.steps(removing, layout)))
        if holders:
            for source, keys in sources.items():
                yield from self._unfan.steps(source, keys, None, None, layout)
        return dict(sources)
