"""
Publish-to-client latency of the feed events over Server-Sent Events.

    python -m bench.realtime [--clients 1000] [--transport database,redis]
                             [--posts 10] [--interval 3] [--burst 50] [--json FILE]

(``python -m bench --only realtime`` runs it with the defaults and puts its
rows in the benchmark table.)

N users (``--clients``) follow one author: their ``timeline`` feeds follow
the author's ``user`` feed. One uvicorn worker process serves the REST API's
events endpoint (``bench/realtime_asgi.py``); this process opens N
connections to it on loopback, one per user, each
``GET /api/feeds/timeline/<user>/events/`` with that user's session, and
reads them all on one asyncio event loop (aiohttp; a connection answered
with a 5xx is tried again, as an EventSource would, up to 3 times). Then this process posts
as the author (``add_activity`` on ``user:<author>``, fanned out inline to
the N timelines, on PostgreSQL), and each client notes when the event that
carries the post reaches it.

- latency: ``--posts`` posts, one every ``--interval`` seconds; for each post
  and client, the time from the commit of the post (a ``transaction.on_commit``
  callback registered before the write, so the first to run) to the client's
  receipt of its timeline's event; p50, p99 and the maximum over all of them;
- throughput: ``--burst`` posts back to back; the events delivered per second
  (one event per timeline and post) from the first commit until every client
  has every post, and the posts per second the writer managed.

Every client must get every post exactly once; a missing or repeated event
is reported (and fails the run). ``--transport`` names the feed events'
transports to measure (``database``: PostgreSQL; ``redis``: Redis at
``BENCH_REDIS_URL``); one that is not configured is reported as not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Connection attempts of a client whose request failed with a 5xx.
CONNECT_ATTEMPTS = 3


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


def recreate_database() -> None:
    """Drop and create the benchmark's database, then migrate it."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    db = settings.DATABASES["default"]
    name = db["NAME"]
    if not name.startswith("bench_"):
        raise SystemExit(f"BENCH_REALTIME_DB must start with 'bench_', got {name!r}")
    connections.close_all()
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def create_readers(count: int) -> tuple[int, list[tuple[int, str]]]:
    """Create the author and ``count`` readers whose timelines follow them;
    return the author's id and ``(user id, session key)`` of each reader."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from stream_django.client import stream_client

    user_model = get_user_model()
    author = user_model.objects.create_user(username="author")
    user_model.objects.bulk_create(user_model(username=f"reader{i}") for i in range(count))
    readers = list(user_model.objects.filter(username__startswith="reader").order_by("pk"))
    stream_client.follow_many(
        [{"source": f"timeline:{u.pk}", "target": f"user:{author.pk}"} for u in readers], activity_copy_limit=0
    )
    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    sessions, keys = [], []
    for user in readers:
        key = get_random_string(32)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        keys.append((user.pk, key))
    Session.objects.bulk_create(sessions)
    return author.pk, keys


class Publisher:
    """Posts as the author from a thread of its own; notes each commit's time."""

    def __init__(self, author: int) -> None:
        self.author = author
        self.committed: dict[str, float] = {}
        self.count = 0

    def post(self) -> str:
        from django.db import transaction

        from stream_django.client import stream_client

        self.count += 1
        foreign_id = f"bench.Post:{self.count}"
        with transaction.atomic():
            transaction.on_commit(lambda: self.committed.__setitem__(foreign_id, time.time()))
            stream_client.feed("user", self.author).add_activity(
                {"actor": f"auth.User:{self.author}", "verb": "post", "object": foreign_id, "foreign_id": foreign_id}
            )
        return foreign_id


class Readers:
    """N SSE connections read on one event loop; ``received[foreign_id]``
    holds each client's receipt times."""

    def __init__(self, base: str, keys: list[tuple[int, str]]) -> None:
        self.base = base
        self.keys = keys
        self.received: dict[str, list[float]] = defaultdict(list)
        self.repeated = 0
        self.errors: list[str] = []
        self.connected = 0
        self.retried = 0
        self._seen: list[set[str]] = [set() for _ in keys]
        self._tasks: list[asyncio.Task[None]] = []
        self._session: Any = None

    async def open(self, concurrency: int = 20) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=False),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=None),
        )
        gate = asyncio.Semaphore(concurrency)
        ready = [asyncio.Event() for _ in self.keys]
        for index, (user_id, key) in enumerate(self.keys):
            self._tasks.append(asyncio.ensure_future(self._read(index, user_id, key, gate, ready[index])))
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), timeout=300)
        if self.errors:
            raise RuntimeError(f"{len(self.errors)} clients could not connect, e.g. {self.errors[0]}")

    async def _read(self, index: int, user_id: int, key: str, gate: asyncio.Semaphore, ready: asyncio.Event) -> None:
        url = f"{self.base}/api/feeds/timeline/{user_id}/events/"
        try:
            for attempt in range(CONNECT_ATTEMPTS):
                async with gate:
                    response = await self._session.get(
                        url, headers={"Cookie": f"sessionid={key}", "Accept": "text/event-stream"}
                    )
                if response.status == 200:
                    break
                body = (await response.text())[:200]
                if response.status < 500 or attempt == CONNECT_ATTEMPTS - 1:
                    self.errors.append(f"{url}: HTTP {response.status} {body}")
                    ready.set()
                    return
                # As an EventSource would: try again (the server was busy).
                self.retried += 1
                await asyncio.sleep(1 + attempt)
            self.connected += 1
            ready.set()
            data: list[str] = []
            seen = self._seen[index]
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
                elif not line and data:
                    now = time.time()
                    message = json.loads("\n".join(data))
                    data = []
                    for activity in message.get("new", ()):
                        foreign_id = activity.get("foreign_id")
                        if foreign_id in seen:
                            self.repeated += 1
                            continue
                        seen.add(foreign_id)
                        self.received[foreign_id].append(now)
                elif not line:
                    data = []
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.errors.append(f"{url}: {e!r}")
            ready.set()

    async def wait_for(self, foreign_ids: list[str], timeout: float) -> bool:
        """Wait until every client got each of ``foreign_ids``; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(len(self.received.get(f, ())) >= self.connected for f in foreign_ids):
                return True
            await asyncio.sleep(0.01)
        return False

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()


async def measure(base: str, author: int, keys: list[tuple[int, str]], args: argparse.Namespace) -> dict[str, Any]:
    readers = Readers(base, keys)
    publisher = Publisher(author)
    started = time.perf_counter()
    try:
        await readers.open()
        connect_seconds = time.perf_counter() - started
        # Warm up: every client subscribed and the server's code paths run once.
        warm = [await asyncio.to_thread(publisher.post) for _ in range(2)]
        if not await readers.wait_for(warm, timeout=120):
            raise RuntimeError(f"warm-up posts reached {[len(readers.received[f]) for f in warm]} of {len(keys)}")
        # Latency: one post every interval.
        paced = []
        for _ in range(args.posts):
            paced.append(await asyncio.to_thread(publisher.post))
            await asyncio.sleep(args.interval)
        complete = await readers.wait_for(paced, timeout=60)
        latencies = [t - publisher.committed[f] for f in paced for t in readers.received[f]]
        # Throughput: a burst of posts back to back.
        burst_started = time.time()
        burst = await asyncio.to_thread(lambda: [publisher.post() for _ in range(args.burst)])
        written = time.time()
        burst_complete = await readers.wait_for(burst, timeout=300)
        delivered_at = max((t for f in burst for t in readers.received[f]), default=time.time())
        first_commit = min(publisher.committed[f] for f in burst)
    finally:
        await readers.close()
    missing = sum(len(keys) - len(readers.received[f]) for f in paced + burst)
    burst_seconds = delivered_at - first_commit
    return {
        "clients": len(keys),
        "connected": readers.connected,
        "connect_seconds": round(connect_seconds, 2),
        "connect_retries": readers.retried,
        "posts": len(paced),
        "interval": args.interval,
        "samples": len(latencies),
        "p50": statistics.median(latencies),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
        "burst": args.burst,
        "burst_seconds": round(burst_seconds, 3),
        "events_per_second": args.burst * len(keys) / burst_seconds,
        "posts_per_second_written": args.burst / (written - burst_started),
        "missing": missing,
        "repeated": readers.repeated,
        "complete": complete and burst_complete,
        "errors": readers.errors[:5],
    }


def run_transport(transport: str, args: argparse.Namespace) -> dict[str, Any]:
    """Set up, serve and measure with one transport of the feed events."""
    import django

    from example_project.asgi_server import uvicorn_server

    os.environ["BENCH_REALTIME_TRANSPORT"] = transport
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.realtime_settings"
    django.setup()
    from django.conf import settings

    if transport != settings.TRANSPORT:
        raise RuntimeError("one transport per process: run python -m bench.realtime once per transport")
    recreate_database()
    started = time.perf_counter()
    author, keys = create_readers(args.clients)
    setup_seconds = time.perf_counter() - started
    env = {"DJANGO_SETTINGS_MODULE": "bench.realtime_settings", "BENCH_REALTIME_TRANSPORT": transport}
    log = Path(tempfile.gettempdir()) / f"bench-realtime-{transport}-server.log"
    with uvicorn_server("bench.realtime_asgi:application", env, extra_args=("--backlog", "4096"), log=log) as base:
        result = asyncio.run(measure(base, author, keys, args))
    result["transport"] = transport
    result["setup_seconds"] = round(setup_seconds, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime", description=__doc__.strip().splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--transport", default="database", help="database, redis, or both: database,redis")
    parser.add_argument("--posts", type=int, default=10, help="paced posts for the latency figures")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between two paced posts")
    parser.add_argument("--burst", type=int, default=50, help="posts back to back for the throughput figure")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    transports = [t.strip() for t in args.transport.split(",") if t.strip()]
    results = []
    for transport in transports:
        if len(transports) > 1:
            # Each transport in a process of its own: Django is set up once per process.
            import subprocess

            out = Path(tempfile.gettempdir()) / f"bench-realtime-{transport}.json"
            command = [sys.executable, "-m", "bench.realtime", "--transport", transport, "--json", str(out)]
            command += ["--clients", str(args.clients), "--posts", str(args.posts)]
            command += ["--interval", str(args.interval), "--burst", str(args.burst)]
            code = subprocess.run(command, cwd=ROOT, check=False).returncode
            results.extend(json.loads(out.read_text()) if code == 0 else [{"transport": transport, "failed": code}])
            continue
        print(f"realtime: {args.clients} SSE clients, transport {transport}", flush=True)
        result = run_transport(transport, args)
        results.append(result)
        print(summary(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r.get("complete") and not r.get("missing") and not r.get("repeated") for r in results) else 1


SECTION = "7. Realtime: post to 1,000 SSE clients following the author (one uvicorn worker, loopback)"

#: The target: p99 from the commit to each client's receipt.
P99_TARGET = 1.0


def rows(clients: int = 1000, transports: str = "database,redis") -> list[Any]:
    """Run the benchmark in a child process (Django is set up once per
    transport); return its rows for ``python -m bench``'s table."""
    import subprocess

    from bench.report import Row

    out = Path(tempfile.gettempdir()) / "bench-realtime.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.realtime", "--clients", str(clients), "--transport", transports]
    subprocess.run([*command, "--json", str(out)], cwd=ROOT, check=False)
    results = json.loads(out.read_text()) if out.exists() else []
    table = []
    section = SECTION.replace("1,000", f"{clients:,}")
    for r in results:
        name = f"{r['transport']} transport"
        if "failed" in r:
            table.append(
                Row(section, f"p99 commit to client ({name})", "SSE", None, "target", P99_TARGET, note="failed")
            )
            continue
        note = "" if r["complete"] and not r["missing"] and not r["repeated"] else "events missing or repeated"
        table += [
            Row(
                section,
                f"p99 commit to client ({name})",
                "SSE",
                r["p99"] if not note else None,
                "target",
                P99_TARGET,
                limit=1,
                note=note,
            ),
            Row(section, f"p50 commit to client ({name})", "SSE", r["p50"], "", None),
            Row(
                section,
                f"events delivered per second, burst of {r['burst']} posts ({name})",
                "SSE",
                round(r["events_per_second"]),
                "",
                None,
                unit="events/s",
            ),
        ]
    return table


def summary(r: dict[str, Any]) -> str:
    if "failed" in r:
        return f"{r['transport']}: failed (exit {r['failed']})"
    return (
        f"{r['transport']}: {r['connected']}/{r['clients']} clients connected in {r['connect_seconds']}s; "
        f"latency over {r['samples']} receipts: p50 {r['p50'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms, "
        f"max {r['max'] * 1000:.0f} ms; burst of {r['burst']} posts: {r['events_per_second']:,.0f} events/s "
        f"delivered in {r['burst_seconds']}s (writer {r['posts_per_second_written']:.0f} posts/s); "
        f"missing {r['missing']}, repeated {r['repeated']}"
    )


if __name__ == "__main__":
    sys.exit(main())
