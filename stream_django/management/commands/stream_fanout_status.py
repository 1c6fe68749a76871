"""Show the fan-out backlog of the task workers; enqueue lost chunks again."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from stream_django import fanout
from stream_django.conf import stream_settings


class Command(BaseCommand):
    help = (
        "Show the fan-out chunks waiting for, or held by, task workers "
        "(docs/scale-out.md). With --requeue, enqueue failed and stale ones again."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="Print the numbers as JSON.")
        parser.add_argument(
            "--requeue",
            action="store_true",
            help="Enqueue again the chunks that failed or were claimed more than --older-than seconds ago.",
        )
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            help="Seconds after which a claimed chunk counts as lost (default: STREAM_FANOUT_RETRY_AFTER).",
        )
        parser.add_argument(
            "--include-unstarted",
            action="store_true",
            help="With --requeue, also chunks never started and older than --older-than (their task was lost).",
        )
        parser.add_argument(
            "--fail-above",
            type=int,
            default=None,
            help="Exit with an error when more than this many chunks are outstanding (for monitoring).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = options["older_than"]
        if older_than is None:
            older_than = stream_settings.FANOUT_RETRY_AFTER
        if older_than < 0:
            raise CommandError(f"--older-than must be >= 0, got {older_than}")
        requeued: list[int] = []
        if options["requeue"]:
            requeued = fanout.requeue(older_than=older_than, include_unstarted=options["include_unstarted"])
        state = fanout.backlog()
        if options["json"]:
            self.stdout.write(json.dumps({**state, "requeued": len(requeued)}, sort_keys=True))
        else:
            self._describe(state, requeued, options["requeue"])
        limit = options["fail_above"]
        if limit is not None and state["chunks"] > limit:
            raise CommandError(f"{state['chunks']} fan-out chunks outstanding, more than {limit}")

    def _describe(self, state: dict[str, Any], requeued: list[int], requeue: bool) -> None:
        write = self.stdout.write
        write(f"Fan-out chunks outstanding: {state['chunks']} ({state['bulk']} bulk)")
        labels = {
            "waiting": "waiting for a worker",
            "running": "running",
            "stale": "claimed, not finished",
            "failed": "failed",
        }
        for name, label in labels.items():
            line = f"  {label}: {state[name]}"
            age = state[f"oldest_{name}_seconds"]
            if age is not None:
                line += f" (oldest created {age:.0f}s ago)"
            write(line)
        for err in state["errors"]:
            write(f"  chunk {err['chunk']} ({err['attempts']} attempt(s)): {err['error']}")
        if requeue:
            write(f"Requeued {len(requeued)} chunk(s).")
        elif state["stale"] or state["failed"]:
            write("Run with --requeue to enqueue the stale and failed chunks again.")
