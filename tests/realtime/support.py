"""
A real ASGI server (uvicorn, in a thread of the test process) serving the
site, and a real HTTP client reading its event streams over raw asyncio
sockets (HTTP/1.1, chunked transfer coding, the SSE wire format).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

uvicorn = pytest.importorskip("uvicorn", reason="uvicorn (the test group) runs the SSE tests under a real ASGI server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def asgi_server(settings: Any) -> Iterator[str]:
    """``http://127.0.0.1:<port>``: uvicorn serving the site with the REST API mounted."""
    from django.core.asgi import get_asgi_application

    settings.ROOT_URLCONF = "tests.api_urls"
    port = free_port()
    config = uvicorn.Config(
        get_asgi_application(), host="127.0.0.1", port=port, lifespan="off", log_level="warning", backlog=4096
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    server.force_exit = True
    thread.join(10)


@dataclass
class Message:
    """One SSE message (or comment, ``event == ":"``)."""

    event: str = "message"
    id: str | None = None
    data: str = ""

    def json(self) -> Any:
        import json

        return json.loads(self.data)


@dataclass
class Stream:
    """An open ``GET`` of an event stream."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    status: int
    headers: dict[str, str]
    body: bytes = b""
    _buffer: bytes = b""
    _chunked: bool = True
    _done: bool = False
    pending: list[Message] = field(default_factory=list)

    async def _chunk(self) -> bytes:
        if not self._chunked:
            data = await self.reader.read(65536)
            if not data:
                self._done = True
            return data
        size_line = await self.reader.readline()
        if not size_line:
            self._done = True
            return b""
        size = int(size_line.strip().split(b";")[0], 16)
        data = await self.reader.readexactly(size + 2)
        if size == 0:
            self._done = True
        return data[:-2]

    async def next(self, timeout: float = 10.0, comments: bool = False) -> Message | None:
        """The next message; ``None`` when the server ended the stream."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            while b"\n\n" in self._buffer:
                block, self._buffer = self._buffer.split(b"\n\n", 1)
                message = parse(block.decode())
                if message.event != ":" or comments:
                    return message
            if self._done:
                return None
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError("no event in time")
            self._buffer += await asyncio.wait_for(self._chunk(), left)

    def close(self) -> None:
        self.writer.close()


def parse(block: str) -> Message:
    message = Message()
    data: list[str] = []
    for line in block.split("\n"):
        if line.startswith(":"):
            message.event, message.data = ":", line[1:].strip()
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            message.event = value
        elif name == "id":
            message.id = value
    if data:
        message.data = "\n".join(data)
    return message


async def open_stream(base: str, path: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> Stream:
    """Send the ``GET`` and read the response head; an error body is read whole."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port), limit=1 << 20)
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout)
    status = int(status_line.split()[1])
    head: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        head[name.strip().lower()] = value.strip()
    stream = Stream(reader, writer, status, head, _chunked=head.get("transfer-encoding") == "chunked")
    if not head.get("content-type", "").startswith("text/event-stream"):
        if "content-length" in head:
            stream.body = await reader.readexactly(int(head["content-length"]))
        else:
            while not stream._done:
                stream.body += await stream._chunk()
        writer.close()
    return stream


def session_cookie(client: Any, user: Any) -> dict[str, str]:
    """The ``Cookie`` header of ``user`` signed in on the site."""
    client.force_login(user)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
