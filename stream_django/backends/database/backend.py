"""
Feeds in the Django database.

Writes are set-based: fanning an activity out to N followers is one query
that surveys them, one ``INSERT ... SELECT`` over the follow table for the
flat feeds and two for each aggregated feed group they follow with, never N
statements. A page read is one indexed query. Every operation runs in one
transaction.

``DatabaseBackend`` combines one mixin per part of the storage contract,
listed from the top down: each builds only on those below it (its bases
say which), and Python's method resolution order enforces the layering.
"""

from __future__ import annotations

from stream_django.backends.database.chunks import ChunkedFanOutMixin
from stream_django.backends.database.connection import ConnectionMixin
from stream_django.backends.database.fanout import FanOutMixin
from stream_django.backends.database.follows import FollowMixin
from stream_django.backends.database.groups import GroupMixin
from stream_django.backends.database.maintenance import MaintenanceMixin
from stream_django.backends.database.orphans import OrphanMixin
from stream_django.backends.database.reads import ReadMixin
from stream_django.backends.database.trim import TrimMixin
from stream_django.backends.database.ungroup import UngroupMixin
from stream_django.backends.database.writes import WriteMixin


class DatabaseBackend(
    ChunkedFanOutMixin,  # fan-out in chunks of followers, for task workers
    WriteMixin,  # add, retarget, replace and remove activities
    FanOutMixin,  # write an activity into the followers of feeds
    MaintenanceMixin,  # store-wide scans, feed erasure, trimming now
    FollowMixin,  # follow, unfollow, list follows
    GroupMixin,  # aggregated feeds: groups kept at write time, and read
    TrimMixin,  # keep feeds at their max_length
    UngroupMixin,  # activities taken out of groups, their counts lowered
    ReadMixin,  # pages of flat feeds, activities by key or foreign id
    OrphanMixin,  # activity data that no feed holds any more
    ConnectionMixin,  # options, connection, transactions, deadlock retries
):
    """Feed storage in a Django database (``OPTIONS``: ``using``, the alias)."""

    name = "database"
