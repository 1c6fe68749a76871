"""
Running an ASGI application under uvicorn in a child process, for the
example's browser test and the realtime benchmark.

``uvicorn_server("example_project.asgi:application", env)`` starts
``python -m uvicorn`` (one worker) on a free loopback port, waits until it
answers, yields its base URL and stops it at the end; what the server wrote
to its output is in the exception when it does not start.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent


class ServerDidNotStart(RuntimeError):
    """The ASGI server exited or did not answer in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port nothing listens on at the moment."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextmanager
def uvicorn_server(
    app: str,
    env: Mapping[str, str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float = 60.0,
    extra_args: tuple[str, ...] = (),
    log: Path | None = None,
) -> Iterator[str]:
    """Serve ``app`` (``"module:attribute"``) with uvicorn; yield ``http://host:port``.

    ``log``: a file to keep the server's output in (else a temporary one).
    """
    port = port or free_port(host)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
        "--timeout-graceful-shutdown",
        "1",
        *extra_args,
    ]
    with open(log, "w+b") if log else tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            command,
            cwd=REPO_DIR,
            env={**os.environ, **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_listening(process, host, port, timeout, output)
            yield f"http://{host}:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_listening(process: subprocess.Popen, host: str, port: int, timeout: float, output: object) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerDidNotStart(f"uvicorn exited with {process.returncode}: {_read(output)}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise ServerDidNotStart(f"uvicorn did not listen on {host}:{port} within {timeout:g}s: {_read(output)}")


def _read(output: object) -> str:
    output.seek(0)  # type: ignore[attr-defined]
    return output.read().decode(errors="replace")[-4000:]  # type: ignore[attr-defined]
