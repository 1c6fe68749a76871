"""
``python -m bench --scale small|full``: build the data, run every case, print
the table of medians with each target's PASS/MISS, and write the results
(``bench/results/<scale>.json`` and ``.md``) and the scaling plot
(``docs/benchmarks-<scale>.png``).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("storage", "timeline", "aggregated", "api", "fanout", "lean", "trap", "realtime")
#: Sections that bring their own data: ``--only`` them skips building the data set.
OWN_DATA = {"realtime"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.strip().splitlines()[0])
    parser.add_argument("--scale", choices=("tiny", "small", "full"), default="small")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections (repeatable); default: all"
    )
    parser.add_argument("--no-redis", action="store_true", help="leave out every Redis case")
    parser.add_argument(
        "--plot-only", action="store_true", help="only draw the plot again from bench/results/<scale>.json"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep the PostgreSQL data of the last run at the same scale (development)"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from bench import cases_db, data, plot, report
    from bench.scales import SCALES

    scale = SCALES[args.scale]
    if args.plot_only:
        import json

        saved = json.loads((ROOT / "bench" / "results" / f"{scale.name}.json").read_text())
        png = ROOT / "docs" / f"benchmarks-{scale.name}.png"
        meta = saved["meta"]
        plot.draw(
            saved["series"], str(png), f"django-activity-feeds, {scale.name} scale ({meta['date']}, {meta['machine']})"
        )
        print(f"wrote {png.relative_to(ROOT)}")
        return 0
    sections = args.only or list(SECTIONS)
    started = time.perf_counter()
    print(f"bench: {scale.name} scale, {scale.activities:,} activities", flush=True)

    info: dict[str, Any] | None = None
    needs_data = not set(sections) <= OWN_DATA
    if needs_data and args.reuse:
        info = _reused(scale)
    if needs_data and info is None:
        print("building PostgreSQL data", flush=True)
        info = data.build(scale)
        _remember(scale, info)
    if info is not None:
        data.verify(info)
    meta = machine(args)  # the database exists now
    print(f"machine: {meta['machine']}", flush=True)
    if info is not None:
        meta["entries"] = data.scalar("SELECT COUNT(*) FROM stream_django_entry")
    meta["build_seconds"] = round(time.perf_counter() - started)

    rows: list[report.Row] = []
    series: dict[str, Any] = {}
    redis_cases = None
    if needs_data and not args.no_redis:
        from bench.cases_redis import RedisCases

        redis_cases = RedisCases(scale, info)
        print("loading Redis", flush=True)
        redis_cases.load()
        meta["redis"] = redis_cases.missing or "redis backend"

    def run(name: str, what: str, fn: Any, *a: Any) -> None:
        if name not in sections:
            return
        t = time.perf_counter()
        print(f"measuring: {what}", flush=True)
        rows.extend(fn(*a))
        print(f"  {time.perf_counter() - t:.0f}s", flush=True)

    # Storage first (before the writes), reads before the fan-out writes.
    run("storage", "storage (PostgreSQL)", cases_db.storage, series)
    if redis_cases:
        run("storage", "storage (Redis)", redis_cases.storage, series)
    run("timeline", "timeline and enriched pages (PostgreSQL)", cases_db.timelines, scale, info, series)
    if redis_cases:
        run("timeline", "timeline pages (Redis)", redis_cases.timelines, series)
    run("aggregated", "aggregated pages (PostgreSQL)", cases_db.aggregated, scale, info, series)
    if redis_cases:
        run("aggregated", "aggregated pages (Redis)", redis_cases.aggregated, series)
    if "api" in sections:
        from bench import cases_api  # needs the api extra

        run("api", "REST API page (PostgreSQL)", cases_api.api, scale, info, series)
    run("fanout", "fan-out (PostgreSQL)", cases_db.fanout, scale, info, series)
    if redis_cases:
        run("fanout", "fan-out (Redis)", redis_cases.fanout, series)
    from bench import cases_lean, cases_trap  # sections 7 and 8

    run("lean", "against the leanest layout", cases_lean.run_all, scale, info, series, redis_cases)
    run("trap", "statistics taken on empty tables", cases_trap.trap, scale, series)
    if redis_cases:
        redis_cases.clear()
    if "realtime" in sections:
        from bench import realtime  # needs the api extra and aiohttp

        transports = "database" if args.no_redis else "database,redis"
        clients = int(os.environ.get("BENCH_REALTIME_CLIENTS", "1000"))
        run("realtime", f"realtime: {clients:,} SSE clients", realtime.rows, clients, transports)

    rows.sort(key=lambda r: r.section.split(".")[0].rjust(3) + r.section)
    meta["seconds"] = round(time.perf_counter() - started)
    table = report.text_table(rows)
    print()
    print(table)
    print()
    print(report.summary(rows))
    print(f"total {meta['seconds']}s (building the data {meta['build_seconds']}s)")

    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{scale.name}.json").write_text(report.to_json(rows, meta, series))
    (out / f"{scale.name}.md").write_text(_markdown(meta, rows, report))
    if "fanout" in sections and "timeline" in sections:
        png = ROOT / "docs" / f"benchmarks-{scale.name}.png"
        plot.draw(series, str(png), f"django-activity-feeds, {scale.name} scale ({meta['date']}, {meta['machine']})")
        print(f"wrote {out / (scale.name + '.md')} and {png.relative_to(ROOT)}")
    return 0


def _markdown(meta: dict[str, Any], rows: list[Any], report: Any) -> str:
    lines = [f"- {k}: {v}" for k, v in meta.items()]
    return "\n".join(lines) + "\n\n" + report.markdown_table(rows) + "\n\n" + report.summary(rows) + "\n"


def _reused(scale: Any) -> dict[str, Any] | None:
    import json

    from django.db import DatabaseError

    from bench.data import scalar

    try:
        stored = scalar("SELECT info FROM bench_meta WHERE scale = %s", [scale.name])
    except DatabaseError:
        return None
    if stored is None:
        return None
    info = json.loads(stored)
    info["readers"] = {int(k): v for k, v in info["readers"].items()}
    info["aggregated"] = {(k.split("|")[0], int(k.split("|")[1])): v for k, v in info["aggregated"].items()}
    print("reusing the PostgreSQL data of the last run", flush=True)
    from bench.data import execute

    execute("VACUUM ANALYZE")
    return info


def _remember(scale: Any, info: dict[str, Any]) -> None:
    import json

    from bench.data import execute

    stored = {**info, "aggregated": {f"{s}|{n}": f for (s, n), f in info["aggregated"].items()}}
    execute("CREATE TABLE bench_meta (scale text PRIMARY KEY, info text)")
    execute("INSERT INTO bench_meta VALUES (%s, %s)", [scale.name, json.dumps(stored)])


def machine(args: argparse.Namespace) -> dict[str, Any]:
    """What the figures were measured on."""
    from django.db import connection

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    from django.db import DatabaseError

    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg = cursor.fetchone()[0]
            cursor.execute("SHOW shared_buffers")
            shared_buffers = cursor.fetchone()[0]
    except DatabaseError:  # --only realtime: the data set's database was not built
        import psycopg
        from django.conf import settings as django_settings

        db = django_settings.DATABASES["default"]
        with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres") as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]
            shared_buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    try:
        import redis
        from django.conf import settings

        redis_version = redis.Redis.from_url(settings.STREAM_REDIS_URL).info("server")["redis_version"]
    except Exception as e:
        redis_version = f"unreachable ({e})"

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "machine": f"{os.cpu_count()} CPUs ({cpu}), {memory} RAM",
        "python": platform.python_version(),
        "django": version("Django"),
        "postgresql": f"{pg} (shared_buffers {shared_buffers})",
        "psycopg": version("psycopg"),
        "redis server": redis_version,
        "redis-py": version("redis"),
        "django-activity-stream": version("django-activity-stream"),
        "commit": commit or "?",
    }


if __name__ == "__main__":
    sys.exit(main())
