"""
Fan-out in the Redis backend: writing activities into the feeds that follow
a flat feed, and taking them back out; what the writes and the chunked
fan-out sections of the storage contract both run.

A flat feed T's holders (``P{T}:fl``: its followers and the feeds that
unfollowed it keeping their history) are read in ranges of feed ids,
``batch_size`` feeds at a time, so no command runs over a whole follower
set. On one server a batch is one script (``FANOUT`` / ``UNFAN``): it checks
that T still holds (or no longer holds) the activities, changes every feed
of the batch and the reference counts, atomically. On a cluster the feeds of
a batch live in other slots, so a batch checks T (``HOLDERS``), raises the
references, writes the entries one feed at a time and checks T again, taking
back what it wrote if a removal overtook it; a removal batch that finds T
holding the activity again writes it back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence

from stream_django.backends.redis.commands import Rounds, rounds
from stream_django.backends.redis.entries import Entries, GroupNames
from stream_django.backends.redis.reads import Reads
from stream_django.engine.plan import FeedLayout


class Fanout(Entries, Reads):
    """One hop of fan-out, and its removal, over ranges of a feed's holders."""

    @staticmethod
    def _lex_range(after: str | None, upto: str | None) -> tuple[str, str]:
        """ZRANGEBYLEX bounds of the feed ids in ``(after, upto]``."""
        return ("-" if after is None else "(" + after), ("+" if upto is None else "[" + upto)

    def _batch_of(self, keys: Sequence[str]) -> int:
        """Holders per batch: about ``batch_size`` entries for ``keys``."""
        return max(1, self.batch_size // max(1, len(keys)))

    @staticmethod
    def _batches(low: str, high: str, size: int, run: Callable[[str, str], Rounds[tuple[str, int]]]) -> Rounds[None]:
        """Run ``run(min, max)``, which handles up to ``size`` holders from
        ``min`` and returns (the last it read, how many), until a batch comes
        back short."""
        while True:
            last, count = yield from run(low, high)
            if int(count) < size or not last:
                return
            low = "(" + last

    def _flat_source(self, feed: str, layout: FeedLayout) -> bool:
        """Whether activities fan out from ``feed``: only from a flat feed."""
        group = self._group(feed, layout)
        return group is not None and group.is_flat

    @rounds
    def _fan_out(
        self, source: str, keys: Sequence[str], after: str | None, upto: str | None, names: GroupNames | FeedLayout
    ) -> Rounds[None]:
        """Write the ``keys`` that ``source`` still holds into the feeds that
        follow it and whose id is in ``(after, upto]``, with origin ``source``.
        ``names``: those of the write plan, or the layout to name groups from
        the stored bodies."""
        layout = names.layout if isinstance(names, GroupNames) else names
        if keys and self._flat_source(source, layout):
            low, high = self._lex_range(after, upto)
            yield from self._fan_out_lex.steps(source, list(keys), low, high, names)

    @rounds
    def _fan_out_lex(
        self, source: str, keys: list[str], low: str, high: str, names: GroupNames | FeedLayout
    ) -> Rounds[None]:
        """``_fan_out`` over the holders between the ZRANGEBYLEX bounds ``low``
        and ``high``, a batch at a time."""
        if not isinstance(names, GroupNames):
            names = GroupNames(names, (yield from self.get_activities.steps(keys)) if names.grouped_slugs else {})
        entries, size = [self.base(source) + "e"], self._batch_of(keys)
        if not self.cluster:
            spec = json.dumps(self._fan_out_spec(keys, names))

            def script(lo: str, hi: str) -> Rounds[tuple[str, int]]:
                return tuple(
                    (yield from self._one("script:FANOUT", entries, [self.prefix, source, lo, hi, size, spec]))
                )

            yield from self._batches(low, high, size, script)
            return
        grouped = names

        def batch(lo: str, hi: str) -> Rounds[tuple[str, int]]:
            held, feeds, last, count = yield from self._one(
                "script:HOLDERS", entries, [self.base(source), lo, hi, size, "1", *keys]
            )
            if held and feeds:
                yield from self._write_from.steps(source, held, feeds, grouped)
            return last, count

        yield from self._batches(low, high, size, batch)

    def _fan_out_spec(self, keys: Sequence[str], names: GroupNames) -> dict[str, object]:
        """What the FANOUT script writes into a feed of each configured group."""
        slugs: dict[str, list[object]] = {}
        for slug, group in names.layout:
            maxlen, slack = self._slack(group)
            if group.is_flat:
                slugs[slug] = ["f", maxlen, slack]
            else:
                named = [list(n) if (n := names(group, k)) is not None else False for k in keys]
                kind = "n" if group.is_notification else "a"
                slugs[slug] = [kind, maxlen, slack, named, group.activities_per_group]
        return {"k": list(keys), "s": slugs}

    @rounds
    def _write_from(self, source: str, keys: Sequence[str], feeds: Sequence[str], names: GroupNames) -> Rounds[None]:
        """(Cluster) write ``keys`` into ``feeds`` with origin ``source``, then
        take them back from those feeds if ``source`` lost them meanwhile (its
        removal chunks may have run already)."""
        alive = yield [("script:BODY_REF", (self._body_keys(k), [len(feeds)])) for k in keys]
        keys = [k for k, ok in zip(keys, alive) if ok]  # references first; a body gone takes none
        if not keys:
            return
        released: Counter[str] = Counter({k: len(feeds) for k in keys})
        entries: dict[str, str | None] = dict.fromkeys(keys, source)
        for new, trimmed in (yield [c for f in feeds if (c := self._entry_call(f, entries, names))]):
            released.subtract(new)
            released.update(trimmed)
        still = self._pairs((yield [self._find_call(source, keys, names.layout)])[0])  # type: ignore[list-item]
        lost = [k for k in keys if k not in still]
        if lost:
            released.update((yield from self._remove_from.steps(feeds, lost, [source], names.layout)))
        yield from self._release.steps(released)

    @rounds
    def _unfan(
        self, source: str, keys: Sequence[str], after: str | None, upto: str | None, layout: FeedLayout
    ) -> Rounds[None]:
        """Remove the ``keys`` that ``source`` no longer holds from the feeds
        that received them from it and whose id is in ``(after, upto]``."""
        if not keys or not self._flat_source(source, layout):
            return
        keys = list(keys)
        low, high = self._lex_range(after, upto)
        entries, size = [self.base(source) + "e"], self._batch_of(keys)
        if not self.cluster:
            kinds = json.dumps({slug: "f" if g.is_flat else "a" for slug, g in layout})

            def script(lo: str, hi: str) -> Rounds[tuple[str, int]]:
                return tuple(
                    (yield from self._one("script:UNFAN", entries, [self.prefix, source, lo, hi, size, kinds, *keys]))
                )

            yield from self._batches(low, high, size, script)
            return

        def batch(lo: str, hi: str) -> Rounds[tuple[str, int]]:
            held, feeds, last, count = yield from self._one(
                "script:HOLDERS", entries, [self.base(source), lo, hi, size, "0", *keys]
            )
            gone = [k for k in keys if k not in set(held)]
            if gone and feeds:
                yield from self._release.steps((yield from self._remove_from.steps(feeds, gone, [source], layout)))
                # Added again meanwhile (its fan-out may have run already): write it back.
                back = self._pairs((yield [self._find_call(source, gone, layout)])[0])  # type: ignore[list-item]
                if back:
                    yield from self._fan_out_lex.steps(source, list(back), lo, "[" + last, layout)
            return last, count

        yield from self._batches(low, high, size, batch)
