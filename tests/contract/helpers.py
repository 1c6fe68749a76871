from __future__ import annotations

from datetime import datetime, timedelta, timezone

BASE = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float = 0) -> datetime:
    return BASE + timedelta(seconds=seconds)


def act(n: int, *, actor: str = "auth.User:1", verb: str = "tweet", seconds: float | None = None, **extra):
    """An activity with foreign id ``testapp.Tweet:<n>`` at BASE + n seconds."""
    return {
        "actor": actor,
        "verb": verb,
        "object": f"testapp.Tweet:{n}",
        "foreign_id": f"testapp.Tweet:{n}",
        "time": at(n if seconds is None else seconds),
        **extra,
    }


def fids(response) -> list[str]:
    return [a["foreign_id"] for a in response["results"]]
