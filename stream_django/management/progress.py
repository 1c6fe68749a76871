"""A progress bar for the long maintenance commands (counts and rate, on stderr)."""

from __future__ import annotations

import time
from typing import Any, Protocol

WIDTH = 30


class Stream(Protocol):
    """A command's ``stdout`` / ``stderr`` (Django's ``OutputWrapper``)."""

    def write(self, msg: str = "", style_func: Any = None, ending: str | None = None) -> None: ...
    def flush(self) -> None: ...


class ProgressBar:
    """``ProgressBar(stream, label, verbosity)`` is a ``Progress`` callback:
    ``bar(done, total)`` redraws ``label [#####.....] done/total  12.3/s``.
    Quiet at ``--verbosity 0``; ``finish()`` ends the line."""

    def __init__(self, stream: Stream, label: str, verbosity: int = 1) -> None:
        self.stream = stream
        self.label = label
        self.quiet = verbosity < 1
        self.started = time.monotonic()
        self.drawn = False
        self.width = 0

    def __call__(self, done: int, total: int | None) -> None:
        if self.quiet:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = f"{done / elapsed:.1f}/s"
        if total:
            filled = WIDTH * min(done, total) // total
            bar = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}"
        else:
            bar = f"{done}"
        line = f"{self.label} {bar}  {rate}"
        self.stream.write("\r" + line.ljust(self.width), ending="")
        self.width = len(line)
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("")
            self.stream.flush()
            self.drawn = False


def plural(n: int, noun: str, many: str | None = None) -> str:
    """Return "1 activity", "2 activities"."""
    return f"{n} {noun}" if n == 1 else f"{n} {many or noun + 's'}"
