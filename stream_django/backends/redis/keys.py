"""
Key naming of the Redis backend: where each part of a feed is stored.

Key layout (``P`` is the ``key_prefix``, default ``"sd:"``; ``F`` a feed id
such as ``user:1``; every key of a feed carries the hash tag ``{F}``, so a
feed lives in one cluster slot and one Lua script changes it atomically):

===============================  =====  ======================================
key                              type   content
===============================  =====  ======================================
``P{F}:e``                       zset   flat feed: ``key + origin``, scores 0
``P{F}:g``                       zset   groups: ``latest key + name``, scores 0
``P{F}:ge:<group>``              zset   a group's newest activity keys (at
                                        most ``activities_per_group``),
                                        scores 0
``P{F}:ga:<group>``              hash   actor -> activities of the group
                                        (those cut by the cap included)
``P{F}:gn``                      hash   group -> its ``activity_count``
``P{F}:gc``                      hash   group -> key of its first activity
``P{F}:x``                       hash   key -> JSON ``[group, actor, origin]``
``P{F}:us`` / ``P{F}:ur``        set    unseen / unread groups (notification)
``P{F}:fr`` / ``P{F}:frc``       zset   feeds following F (score: µs) / per
                                        slug
``P{F}:fk``                      zset   feeds that unfollowed F keeping history
``P{F}:fl``                      zset   feeds that follow F or are in ``fk``,
                                        scores 0 (by id: fan-out ranges)
``P{F}:fg`` / ``P{F}:fgc``       zset   feeds F follows / per slug
``Pa:<time+seq>{<node>}``        str    activity body: its JSON
``Pn:<time+seq>{<node>}``        str    references to the body (entries)
``Pf:{<node>}<foreign id>``      str    keys of the activities with that
                                        foreign id (space-separated)
===============================  =====  ======================================

Storage keys (``stream_django.engine.ids``) are 31 hex characters that sort
in time order, so a sorted set with equal scores is ordered exactly by
``ZRANGEBYLEX``; cursors become lexical bounds. A key's last 12 digits (the
UUID node) are a hash of the foreign id: the body, reference count and
foreign-id index of an activity share that hash tag, so one script keeps
them consistent, and bodies spread over the cluster.
"""

from __future__ import annotations

import functools
from datetime import datetime
from datetime import timezone as dt_timezone

from stream_django.engine import ids

DEFAULT_PREFIX = "sd:"
#: Length of a storage key: a member ``key + origin`` splits at it.
KEY = ids.KEY_LENGTH
#: Byte 255: above every byte of a UTF-8 origin, so ``key + HIGH`` bounds
#: every member that starts with ``key``.
HIGH = b"\xff"
_ANY_TIME = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)


@functools.lru_cache(maxsize=4096)
def node_of(foreign_id: str) -> str:
    """The last 12 hex digits of the keys of every activity with ``foreign_id``."""
    return ids.id_to_key(ids.activity_id(foreign_id, _ANY_TIME))[19:]


class Keys:
    """The names of a feed's keys and of an activity's body keys."""

    #: The ``key_prefix`` option: every key starts with it.
    prefix: str

    def base(self, feed: str) -> str:
        """The key base of ``feed``: every key of the feed starts with it."""
        return f"{self.prefix}{{{feed}}}:"

    def body_key(self, key: str) -> str:
        """The key of an activity body (hash tag: the key's node digits)."""
        return f"{self.prefix}a:{key[:19]}{{{key[19:]}}}"

    def refs_key(self, key: str) -> str:
        """The key of the reference count of an activity body (its slot)."""
        return f"{self.prefix}n:{key[:19]}{{{key[19:]}}}"

    def _body_keys(self, key: str) -> list[str]:
        return [self.body_key(key), self.refs_key(key)]

    def fid_key(self, foreign_id: str) -> str:
        """The key of the foreign-id index of ``foreign_id`` (the slot of its bodies)."""
        return f"{self.prefix}f:{{{node_of(foreign_id)}}}{foreign_id}"
