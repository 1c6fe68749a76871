"""Timing: paired, interleaved runs and their medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

#: A case is a callable; ``prepare`` (untimed) returns its argument and
#: ``cleanup`` (untimed) undoes what it wrote.
Call = Callable[..., Any]


@dataclass
class Contender:
    name: str
    run: Call
    prepare: Callable[[int], Any] | None = None
    cleanup: Callable[[Any], None] | None = None
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def compare(contenders: list[Contender], runs: int, warmup: int) -> list[Contender]:
    """Run the contenders in turn, ``warmup`` + ``runs`` times each.

    The order rotates every round, so that whatever else the machine does
    falls on all of them alike; only the ``runs`` timed rounds are kept.
    """
    counter = 0
    for round_ in range(warmup + runs):
        shift = round_ % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            counter += 1
            arg = contender.prepare(counter) if contender.prepare else None
            started = time.perf_counter()
            contender.run(arg) if contender.prepare else contender.run()
            elapsed = time.perf_counter() - started
            if contender.cleanup:
                contender.cleanup(arg)
            if round_ >= warmup:
                contender.times.append(elapsed)
    return contenders


def count_queries(run: Call, *args: Any, **kwargs: Any) -> int:
    """Return how many SQL queries one call of ``run`` makes."""
    with CaptureQueriesContext(connection) as captured:
        run(*args, **kwargs)
    return len(captured.captured_queries)
