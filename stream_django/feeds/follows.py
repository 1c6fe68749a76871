"""
Follows through the feeds API: validation shared by ``Feed.follow`` and
``Client.follow_many``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stream_django.conf import stream_settings
from stream_django.engine.feeds import get_group, slug_of
from stream_django.exceptions import FeedConfigException, InputException
from stream_django.feeds.params import MAX_COPY_LIMIT, parse_int
from stream_django.feeds.steps import Fanout, Steps


def follow(pairs: Sequence[tuple[str, str]], activity_copy_limit: Any) -> Steps[None]:
    """Make each ``(source, target)`` follow, copying ``activity_copy_limit``
    activities (default ``STREAM_ACTIVITY_COPY_LIMIT``); validate everything first."""
    copy_limit = stream_settings.ACTIVITY_COPY_LIMIT if activity_copy_limit is None else activity_copy_limit
    copy_limit = parse_int(copy_limit, "activity_copy_limit", maximum=MAX_COPY_LIMIT)
    for source, target in pairs:
        get_group(slug_of(source))
        target_group = get_group(slug_of(target))
        if source == target:
            raise InputException(f"feed {source!r} cannot follow itself")
        if not target_group.is_flat:
            raise FeedConfigException(f"only flat feeds can be followed; {target!r} is {target_group.type}")
    yield Fanout("follow_many", (list(dict.fromkeys(pairs)), copy_limit))
