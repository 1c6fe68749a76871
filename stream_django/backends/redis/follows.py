"""
Follows in the Redis backend: the "follows" section of the storage contract.

A follow is stored on both sides, in the slot of each feed: ``P{T}:fr`` (who
follows T, with ``frc`` counting per slug, and T's holder set ``fl``) and
``P{S}:fg`` (what S follows, with ``fgc``), one ``FOLLOW_*`` script each,
sent together. Following copies the target's newest activities into the
source (``_copy_newest``); unfollowing without history purges the source
of every entry that came from the target (``_purge``), after the follow is
gone, so no fan-out writes behind the purge.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence

from stream_django.backends.redis.commands import Call, Rounds, rounds
from stream_django.backends.redis.entries import Entries, GroupNames, PurgeJob
from stream_django.backends.redis.keys import KEY
from stream_django.engine.plan import FeedLayout


def _now_us() -> int:
    return time.time_ns() // 1000


class Follows(Entries):
    """Follow and unfollow, copying and purging what the follow brings."""

    @rounds
    def follow_many(self, pairs: Sequence[tuple[str, str]], copy_limit: int, layout: FeedLayout) -> Rounds[None]:
        now = _now_us()
        by_source: dict[str, list[str]] = defaultdict(list)
        by_target: dict[str, list[str]] = defaultdict(list)
        for source, target in pairs:
            by_source[source].append(target)
            by_target[target].append(source)
        calls: list[Call] = []
        for source, targets in by_source.items():
            base = self.base(source)
            calls.append(("script:FOLLOW_ADD", ([base + "fg"], [base + "fgc", "", "", now, *targets])))
        for target, sources in by_target.items():
            base = self.base(target)
            calls.append(
                ("script:FOLLOW_ADD", ([base + "fr"], [base + "frc", base + "fk", base + "fl", now, *sources]))
            )
        yield from self._copy_newest.steps(pairs, copy_limit, layout, before=calls)

    @rounds
    def unfollow_many(self, items: Sequence[tuple[str, str, bool]], layout: FeedLayout) -> Rounds[None]:
        now = _now_us()
        calls: list[Call] = []
        for source, target, keep_history in items:
            base = self.base(target)
            keep = "1" if keep_history else "0"
            calls.append(
                ("script:FOLLOW_REMOVE", ([base + "fr"], [base + "frc", base + "fk", base + "fl", keep, now, source]))
            )
            base = self.base(source)
            calls.append(("script:FOLLOW_REMOVE", ([base + "fg"], [base + "fgc", "", "", "0", now, target])))
        yield calls
        # Purged after the follow is gone (the previous round trip), so no
        # fan-out writes behind the purge.
        yield from self._purge.steps(
            [(source, target) for source, target, keep_history in items if not keep_history], layout, guarded=False
        )

    @rounds
    def _copy_newest(
        self, pairs: Sequence[tuple[str, str]], copy_limit: int, layout: FeedLayout, before: Sequence[Call] = ()
    ) -> Rounds[None]:
        """Run ``before``, then copy each target's newest ``copy_limit``
        activities into its source.

        The newest are read after ``before`` (the follows; same slot, same
        pipeline): an activity added meanwhile is either among those read or
        reaches the source through fan-out."""
        targets = list(dict.fromkeys(t for _, t in pairs)) if copy_limit else []
        out = yield [*before, *[("zrevrangebylex", (self.base(t) + "e", "+", "-", 0, copy_limit)) for t in targets]]
        if not targets:
            return
        newest = out[len(before) :]
        keys_of = {t: [m[:KEY] for m in members] for t, members in zip(targets, newest)}
        plan: dict[str, dict[str, str | None]] = defaultdict(dict)
        for source, target in pairs:
            for key in reversed(keys_of[target]):  # oldest first: groups start at their oldest
                plan[source].setdefault(key, target)
        planned: Counter[str] = Counter()
        for entries in plan.values():
            planned.update(entries.keys())
        if not planned:
            return
        keys = list(planned)
        grouped = any(g is not None and g.is_aggregated for g in map(layout.get, plan))
        # References first (a body that is gone takes none), and the bodies
        # the aggregated feeds need to name groups.
        out = yield [
            *[("script:BODY_REF", (self._body_keys(k), [planned[k]])) for k in keys],
            *[("get", (self.body_key(k),)) for k in (keys if grouped else [])],
        ]
        gone = {k for k, ok in zip(keys, out) if not ok}
        names = GroupNames(layout, {k: t for k, t in zip(keys, out[len(keys) :]) if t is not None})
        calls: list[Call] = []
        for source, entries in plan.items():
            call = self._entry_call(source, {k: o for k, o in entries.items() if k not in gone}, names)
            if call is not None:
                calls.append(call)
        released: Counter[str] = Counter({k: n for k, n in planned.items() if k not in gone})
        for new, trimmed in (yield calls):
            released.subtract(new)
            released.update(trimmed)
        yield from self._release.steps(released)

    @rounds
    def _purge(self, pairs: Sequence[tuple[str, str]], layout: FeedLayout, *, guarded: bool) -> Rounds[None]:
        """Remove from each source the entries whose origin is its target;
        ``guarded`` (one server only): not while the source follows it."""
        jobs: list[PurgeJob] = []
        for source, target in pairs:
            group = self._group(source, layout)
            if group is None:
                continue
            guard = [self.base(target) + "fr", source] if guarded else []
            jobs.append((source, target, group.is_flat, guard))
        yield from self._purge_origins.steps(jobs)

    def _follow_exists(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """Whether each ``(source, target)`` is a follow now."""
        scores = self._run([("zscore", (self.base(target) + "fr", source)) for source, target in pairs])
        return [score is not None for score in scores]
