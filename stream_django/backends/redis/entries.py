"""
Feed entries and body references: the steps every write of the Redis backend
is made of.

Each step is one script on one feed (``FLAT_*`` or ``GROUP_*``, as the
feed's group is flat or aggregated) or on one activity body (``BODY_*``):
the writes, follows, fan-out and chunk sections of the storage contract
build their round trips from the calls made here. A feed whose slug is no
longer configured is left alone.

Reference counts follow one rule: raised before entries are written,
lowered (``_release``) only after entries are deleted or were not written,
so a count is never below the entries that point to a body.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from stream_django.backends.redis.commands import Call, Commands, Rounds, rounds
from stream_django.backends.redis.keys import Keys
from stream_django.engine import serializer
from stream_django.engine.feeds import FeedGroup
from stream_django.engine.plan import FeedLayout, WritePlan

#: A feed is trimmed once it holds max_length + max_length // TRIM_SLACK
#: entries (groups), back to max_length: one trim per max_length / TRIM_SLACK
#: writes, each removing that many, so trimming costs O(1) per write.
TRIM_SLACK = 10

#: Entries a purge script reads per call: a few milliseconds of the server's
#: time however large the feed (docs/redis.md, "Bounded script calls").
PURGE_BATCH = 50

#: A purge: the feed, the origin whose entries go, whether the feed is flat,
#: and the guard (the origin's followers zset and the feed: nothing happens
#: while the feed follows it again; empty for none).
PurgeJob = tuple[str, str, bool, list[str]]


class GroupNames:
    """Group names and actors of the activities being written, with the
    layout of the operation: from the write plan for the activities it adds,
    else computed once per activity and feed group from the stored bodies
    (``texts``) by the layout's aggregation format."""

    def __init__(self, layout: FeedLayout, texts: dict[str, str] | None = None) -> None:
        self.layout = layout
        self.texts = texts or {}
        self.decoded: dict[str, dict[str, Any]] = {}
        self.names: dict[tuple[str, str], tuple[str, str]] = {}

    @classmethod
    def of_plan(cls, plan: WritePlan) -> GroupNames:
        names = cls(plan.layout)
        actors = {a.key: a.actor for a in plan.activities}
        for (slug, key), name in plan.names.items():
            names.names[(slug, key)] = (name, actors[key])
        return names

    def __call__(self, group: FeedGroup, key: str) -> tuple[str, str] | None:
        found = self.names.get((group.slug, key))
        if found is None:
            if key not in self.texts:
                return None
            activity = self.decoded.get(key)
            if activity is None:
                activity = self.decoded[key] = serializer.loads(self.texts[key])
            found = self.names[(group.slug, key)] = (group.group_key(activity), str(activity.get("actor", "")))
        return found


class Entries(Keys, Commands):
    """The per-feed and per-body script calls, and releasing references."""

    @staticmethod
    def _group(feed: str, layout: FeedLayout) -> FeedGroup | None:
        """The group of ``feed``, or None when its slug is no longer configured."""
        return layout.get(feed)

    def _slack(self, group: FeedGroup) -> tuple[int, int]:
        if group.max_length is None:
            return 0, 0
        return group.max_length, group.max_length // TRIM_SLACK

    def _entry_call(self, feed: str, entries: dict[str, str | None], names: GroupNames) -> Call | None:
        """The script writing ``entries`` ({key: origin}) into ``feed``."""
        group = self._group(feed, names.layout)
        if group is None or not entries:  # a group no longer configured
            return None
        maxlen, slack = self._slack(group)
        base = self.base(feed)
        argv: list[str | int]
        if group.is_flat:
            argv = [maxlen, slack]
            for key, origin in entries.items():
                argv += [key, origin or ""]
            return ("script:FLAT_ADD", ([base + "e"], argv))
        argv = [base, "1" if group.is_notification else "0", maxlen, slack, group.activities_per_group]
        for key, origin in entries.items():
            named = names(group, key)
            if named is not None:
                argv += [key, named[0], named[1], origin or ""]
        return ("script:GROUP_ADD", ([base + "g"], argv))

    def _remove_call(
        self, feed: str, keys: Sequence[str], origins: Sequence[str] | None, layout: FeedLayout
    ) -> Call | None:
        """The script removing ``keys`` from ``feed`` (only entries that came
        from ``origins``, when given)."""
        group = self._group(feed, layout)
        if group is None or not keys:
            return None
        restrict: list[str | int] = ["1", len(origins), *origins] if origins is not None else ["0", 0]
        if group.is_flat:
            return ("script:FLAT_REMOVE", ([self.base(feed) + "e"], [*restrict, *keys]))
        base = self.base(feed)
        return ("script:GROUP_REMOVE", ([base + "g"], [base, *restrict, *keys]))

    def _find_call(self, feed: str, keys: Sequence[str], layout: FeedLayout) -> Call | None:
        """The script returning which of ``keys`` ``feed`` holds, and their origins."""
        group = self._group(feed, layout)
        if group is None or not keys:
            return None
        if group.is_flat:
            return ("script:FLAT_FIND", ([self.base(feed) + "e"], list(keys)))
        base = self.base(feed)
        return ("script:GROUP_FIND", ([base + "g"], [base, *keys]))

    @staticmethod
    def _pairs(flat: list[str]) -> dict[str, str | None]:
        """``{key: origin}`` of a ``*_FIND`` reply."""
        return {flat[i]: (flat[i + 1] or None) for i in range(0, len(flat), 2)}

    @rounds
    def _release(self, released: Counter[str]) -> Rounds[None]:
        """Drop references; bodies nothing points to go (with their index entry)."""
        yield [("script:BODY_RELEASE", (self._body_keys(k), [n, self.prefix, k])) for k, n in released.items() if n > 0]

    @rounds
    def _remove_from_each(self, removing: dict[str, list[str]], layout: FeedLayout) -> Rounds[Counter[str]]:
        """Remove from each feed of ``removing`` its keys, whatever their origin."""
        removed: Counter[str] = Counter()
        calls = [c for f, keys in removing.items() if (c := self._remove_call(f, keys, None, layout))]
        for out in (yield calls):
            removed.update(out)
        return removed

    @rounds
    def _remove_from(
        self, feeds: Sequence[str], keys: Sequence[str], origins: Sequence[str] | None, layout: FeedLayout
    ) -> Rounds[Counter[str]]:
        """Remove ``keys`` from ``feeds`` (only entries from ``origins``, when
        given); return how many entries of each key went."""
        removed: Counter[str] = Counter()
        for out in (yield [c for f in feeds if (c := self._remove_call(f, keys, origins, layout))]):
            removed.update(out)
        return removed

    @rounds
    def _purge_origins(self, jobs: Sequence[PurgeJob]) -> Rounds[int]:
        """Run each purge job ``(feed, origin, flat, guard)`` to its end, a
        bounded batch of the feed's entries per script call (``PURGE_BATCH``),
        the jobs' calls of one round in one pipeline; return how many entries
        went.

        On one server a call drops the references of what it removed itself,
        so a purge interrupted between two calls leaves every count right and
        its retry (which starts over) finishes it; on a cluster the bodies are
        in other slots and the references go after each round."""
        release = "0" if self.cluster else "1"
        pending = {i: "" if flat else "0" for i, (_f, _o, flat, _g) in enumerate(jobs)}
        total = 0
        while pending:
            order = list(pending)
            calls: list[Call] = []
            for i in order:
                feed, origin, flat, guard = jobs[i]
                base = self.base(feed)
                if flat:
                    argv = [origin, pending[i], PURGE_BATCH, release, self.prefix, *guard]
                    calls.append(("script:FLAT_PURGE", ([base + "e"], argv)))
                else:
                    argv = [base, origin, pending[i], PURGE_BATCH, release, self.prefix, *guard]
                    calls.append(("script:GROUP_PURGE", ([base + "g"], argv)))
            released: Counter[str] = Counter()
            for i, (removed, resume) in zip(order, (yield calls)):
                total += len(removed)
                released.update(removed)
                if resume in ("", "0"):
                    del pending[i]
                else:
                    pending[i] = resume
            if self.cluster:
                yield from self._release.steps(released)
        return total
