"""
Store-wide reads of the Redis backend, for maintenance and inspection
(``stream_django.maintenance``): every activity body, every feed, and the
feeds that hold given activities.

They walk the key space with ``SCAN`` (every node of a cluster), so their
cost grows with the store: an operator's tool, never a request's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from stream_django.backends.redis.commands import Call
from stream_django.backends.redis.entries import Entries
from stream_django.engine.plan import FeedLayout

_GLOB = re.compile(r"([*?\[\]\\])")


def glob_escape(text: str) -> str:
    """``text`` with the glob characters of ``SCAN MATCH`` escaped."""
    return _GLOB.sub(r"\\\1", text)


class Scan(Entries):
    """Walk every body and every feed of the store."""

    supports_activity_scan = True

    def _scan(self, pattern: str) -> Iterator[str]:
        with self._guard():
            yield from self.redis.scan_iter(match=pattern, count=1000)

    def _feeds_with(self, suffix: str) -> Iterator[str]:
        """The feeds that have a key ``P{F}:<suffix>``."""
        start = self.prefix + "{"
        for name in self._scan(f"{glob_escape(self.prefix)}{{*}}:{suffix}"):
            feed = name[len(start) : name.rfind("}:")]
            if name == self.base(feed) + suffix:
                yield feed

    def iter_activities(self, batch: int) -> Iterator[list[tuple[str, str]]]:
        head = self.prefix + "a:"
        pending: list[str] = []

        def bodies() -> list[tuple[str, str]]:
            keys = [n[len(head) :].replace("{", "").replace("}", "") for n in pending]
            texts = self._run([("get", (n,)) for n in pending])
            return [(k, t) for k, t in zip(keys, texts) if t is not None]

        for name in self._scan(glob_escape(head) + "*"):
            pending.append(name)
            if len(pending) >= batch:
                found = bodies()
                pending = []
                if found:
                    yield found
        if pending and (found := bodies()):
            yield found

    def keys_of_foreign_id(self, foreign_id: str) -> list[str]:
        if not foreign_id:
            return []
        return sorted((self._call("get", self.fid_key(foreign_id)) or "").split())

    def iter_feeds(self, batch: int) -> Iterator[list[str]]:
        feeds = sorted(set(self._feeds_with("e")) | set(self._feeds_with("g")))
        for start in range(0, len(feeds), batch):
            yield feeds[start : start + batch]

    def locate_activities(self, keys: Sequence[str], layout: FeedLayout) -> dict[str, list[tuple[str, str | None]]]:
        found: dict[str, list[tuple[str, str | None]]] = {k: [] for k in keys}
        wanted = list(found)
        if not wanted:
            return found
        feeds: list[str] = []
        calls: list[Call] = []
        for feed in self._feeds_with("e"):
            feeds.append(feed)
            calls.append(("script:FLAT_FIND", ([self.base(feed) + "e"], wanted)))
        for feed in self._feeds_with("g"):
            feeds.append(feed)
            calls.append(("script:GROUP_FIND", ([self.base(feed) + "g"], [self.base(feed), *wanted])))
        for feed, reply in zip(feeds, self._run(calls)):
            for key, origin in self._pairs(reply).items():
                found[key].append((feed, origin))
        for holders in found.values():
            holders.sort(key=lambda h: (h[0], h[1] or ""))
        return found
