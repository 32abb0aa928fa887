"""The tests' one raw-socket HTTP helper: bytes exactly as written (malformed on purpose, or a
body that trickles in), a small reader for the answers, a recording upstream (uvicorn +
httptools, like the real services) and a gateway process of its own pointed at it, so a test can
see every request an upstream parsed. Used by tests/security (framing, smuggling, header
spoofing) and tests/fault (slow requests during shutdown).

The reader below parses the *answers* in the test only; the platform itself never parses
requests by hand.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mcm_devstack.engines import free_port


# -- raw connections ------------------------------------------------------------------------------
def connect(url: str, *, source_ip: str | None = None, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to `url` (http://host:port), from `source_ip` when given (any 127.0.0.x:
    each test address has its own rate-limit counters)."""
    host, port = url.removeprefix("http://").split(":")
    source = (source_ip, 0) if source_ip else None
    sock = socket.create_connection((host, int(port)), timeout=timeout, source_address=source)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    raw_head: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


class Reader:
    """Reads answers off one socket: Content-Length, chunked, or until close."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.closed = False

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.buffer += data
        return True

    def _until(self, marker: bytes) -> bytes | None:
        while marker not in self.buffer:
            if not self._fill():
                return None
        index = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:index], self.buffer[index:]
        return data

    def _exactly(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            if not self._fill():
                return None
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def answer(self, *, head_only: bool = False) -> Answer | None:
        """The next answer (skipping 1xx), or None if the connection closed (or timed out) first."""
        try:
            while True:
                head = self._until(b"\r\n\r\n")
                if head is None:
                    return None
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ")[1])
                headers = [
                    (line.split(":", 1)[0].strip().lower(), line.split(":", 1)[1].strip())
                    for line in lines[1:]
                    if ":" in line
                ]
                if status >= 200:
                    break
            names = {name: value for name, value in headers}
            if head_only or status in (204, 304):
                body = b""
            elif "chunked" in names.get("transfer-encoding", "").lower():
                body = b""
                while True:
                    size_line = self._until(b"\r\n")
                    if size_line is None:
                        return None
                    size = int(size_line.split(b";")[0].strip(), 16)
                    if size == 0:
                        self._until(b"\r\n")
                        break
                    chunk = self._exactly(size + 2)
                    if chunk is None:
                        return None
                    body += chunk[:-2]
            elif "content-length" in names:
                sized = self._exactly(int(names["content-length"]))
                if sized is None:
                    return None
                body = sized
            else:
                while self._fill():
                    pass
                body, self.buffer = self.buffer, b""
            return Answer(status, headers, body, head)
        except TimeoutError:
            return None

    def is_closed(self, wait: float = 0.5) -> bool:
        """True if the peer closes the connection within `wait` seconds (data before that is kept)."""
        if self.closed:
            return True
        previous = self.sock.gettimeout()
        self.sock.settimeout(wait)
        try:
            while self._fill():
                pass
            return True
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(previous)


def exchange(
    url: str, payload: bytes, *, source_ip: str, answers: int = 1, timeout: float = 10.0
) -> list[Answer | None]:
    """Send `payload` on a new connection and read up to `answers` answers."""
    with connect(url, source_ip=source_ip, timeout=timeout) as sock:
        sock.sendall(payload)
        reader = Reader(sock)
        return [reader.answer() for _ in range(answers)]


def request(
    method: str,
    path: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    *,
    version: str = "HTTP/1.1",
    host: str = "gateway.test",
) -> bytes:
    """A request's bytes exactly as given (no header is checked or added besides `host`)."""
    lines = [f"{method} {path} {version}", f"host: {host}", *(f"{name}: {value}" for name, value in headers or [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# -- a recording upstream -----------------------------------------------------------------------
@dataclass
class Recorder:
    """An upstream on uvicorn + httptools (as the services run) that records every request it
    parsed and answers with its path and identifying headers, so each answer names its request."""

    port: int = field(default_factory=free_port)
    seen: list[dict[str, Any]] = field(default_factory=list)
    _server: Any = None
    _thread: threading.Thread | None = None

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        # Like the services' GET handlers, a body-less method's body is never read: the answer
        # goes out at once, which is what lets an unsent body poison a pooled connection.
        while scope["method"] not in ("GET", "HEAD"):
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers: dict[str, list[str]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        entry = {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode("latin-1"),
            "headers": headers,
            "body": body.decode("latin-1"),
        }
        self.seen.append(entry)
        data = json.dumps(entry).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": data})

    def start(self) -> Recorder:
        import uvicorn

        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            http="httptools",
            loop="asyncio",
            lifespan="on",
            log_level="critical",
            access_log=False,
            log_config=None,
            timeout_keep_alive=30,
            interface="asgi3",
            proxy_headers=False,
        )
        # Off the main thread uvicorn leaves the process's signal handlers alone.
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("the recording upstream did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def unrouted(self) -> list[dict[str, Any]]:
        """Requests this upstream parsed that the gateway did not send: everything the gateway
        forwards carries its X-Real-IP and exactly one X-Request-ID."""
        return [
            entry
            for entry in self.seen
            if "x-real-ip" not in entry["headers"]
            or len(entry["headers"].get("x-request-id", [])) != 1
            or "smuggled" in entry["path"] + entry["query"]
        ]

    def framing_forwarded(self) -> list[dict[str, Any]]:
        """Requests that reached this upstream with client framing or hop-by-hop headers, or with
        a Content-Length that does not match the body it carried."""
        hop = (
            "transfer-encoding",
            "te",
            "trailer",
            "upgrade",
            "connection",
            "keep-alive",
            "expect",
            "proxy-connection",
        )
        found = []
        for entry in self.seen:
            headers = entry["headers"]
            lengths = headers.get("content-length", [])
            if (
                any(name in headers for name in hop)
                or len(lengths) > 1
                or (lengths and int(lengths[0]) != len(entry["body"].encode("latin-1")))
            ):
                found.append(entry)
        return found


@contextmanager
def gateway_process(env: dict[str, str], log: Path, **overrides: str) -> Iterator[str]:
    """A gateway process of its own (stopped by its PID), ready when this yields its URL."""
    port = free_port()
    full = {**env, "GATEWAY_PORT": str(port), "TRUSTED_PROXIES": "", **overrides}
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mcm_gateway", "serve"],
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the extra gateway exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(url + "/api/v1/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the extra gateway did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)
