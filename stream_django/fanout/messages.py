"""
Fan-out chunk messages: the JSON steps a chunk carries, and their validation.

A chunk's message is a list of steps, each one of ::

    {"op": "add", "source": "user:1", "keys": [...], "range": [after, upto]}
    {"op": "remove", "source": "user:1", "keys": [...]}
    {"op": "remove", "source": "user:1", "keys": [...], "range": [after, upto]}
    {"op": "copy", "pairs": [["timeline:2", "user:1"], ...], "limit": 100}
    {"op": "purge", "pairs": [["timeline:2", "user:1"], ...]}

``keys`` are activity storage keys; ``range`` bounds the follower feed ids
of an add chunk, ``(after, upto]`` with ``null`` for unbounded. A first step
carries ``"plan": true`` instead of a range (adds) or holds every pair
(copy, purge): running it cuts it into chunks (``stream_django.fanout.worker``).
"""

from __future__ import annotations

from typing import Any

ADD, REMOVE, COPY, PURGE = "add", "remove", "copy", "purge"
OPERATIONS = (ADD, REMOVE, COPY, PURGE)

#: How many activities an unfollowed feed is assumed to hold from the feed it
#: followed, to size purge chunks (its exact number is unknown beforehand).
PURGE_ENTRIES_PER_PAIR = 100


class InvalidFanoutMessage(ValueError):
    """A fan-out task message that is not a list of valid steps."""


def validate_step(step: Any) -> dict[str, Any]:
    """Return ``step`` if it is a valid fan-out step, else raise ``InvalidFanoutMessage``."""
    if not isinstance(step, dict) or step.get("op") not in OPERATIONS:
        raise InvalidFanoutMessage(f"fan-out step {step!r} has no valid 'op' (one of {OPERATIONS})")
    op = step["op"]
    if op in (ADD, REMOVE):
        if not isinstance(step.get("source"), str) or not _strings(step.get("keys")) or not step["keys"]:
            raise InvalidFanoutMessage(f"fan-out step {step!r} needs a 'source' feed id and a list of 'keys'")
        if (op == ADD and not step.get("plan")) or "range" in step:
            bounds = step.get("range")
            if not (
                isinstance(bounds, list) and len(bounds) == 2 and all(b is None or isinstance(b, str) for b in bounds)
            ):
                raise InvalidFanoutMessage(f"fan-out step {step!r} needs 'plan' or a 'range' [after, upto]")
    else:
        pairs = step.get("pairs")
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and _strings(p) for p in pairs):
            raise InvalidFanoutMessage(f"fan-out step {step!r} needs 'pairs' of [source, target] feed ids")
        if op == COPY and not (isinstance(step.get("limit"), int) and step["limit"] >= 0):
            raise InvalidFanoutMessage(f"fan-out step {step!r} needs a copy 'limit' >= 0")
    return step


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
