"""A scripted OpenAI-compatible server on loopback, for the openai engine's unit tests:
each request gets the next scripted reply (a completion, an HTTP error, a slow or cut body)."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from synthgen.engines.base import GenerationRequest
from synthgen.engines.openai_engine import Backoff, OpenAIGenerator

SENTINEL = "sk-SENTINEL-0123456789abcdef"
FAST = Backoff(base=0.001, cap=0.01)


def completion(text: str | None, finish_reason: str = "stop", usage: dict | None = None,
               refusal: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if refusal is not None:
        message["refusal"] = refusal
    return {"id": "cmpl-1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": usage if usage is not None else {"prompt_tokens": 11, "completion_tokens": 3,
                                                      "total_tokens": 14}}


class Reply:
    """What the server does with one request."""

    def __init__(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None,
                 delay: float = 0.0, cut: int | None = None, reset: bool = False, raw: bytes | None = None):
        self.status, self.body, self.headers = status, body, headers or {}
        self.delay, self.cut, self.reset, self.raw = delay, cut, reset, raw


Script = Callable[[int, dict[str, Any]], Reply]


def echo(index: int, body: dict[str, Any]) -> Reply:
    """A completion whose text is the request's last user message."""
    return Reply(body=completion(body["messages"][-1]["content"]))


class ScriptedServer:
    """A loopback HTTP server answering POST /v1/chat/completions by `script`."""

    def __init__(self, script: Script = echo, models: Reply | None = None):
        self.script = script
        self.models = models or Reply(404, {"error": "no such route"})
        self.received: list[dict[str, Any]] = []  # {"headers": {...}, "body": {...}}
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                with outer.lock:
                    outer.received.append({"path": self.path, "headers": dict(self.headers), "body": None})
                self._answer(outer.models)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with outer.lock:
                    index = len(outer.received)
                    outer.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    self._answer(outer.script(index, body))
                except OSError:
                    self.close_connection = True
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

            def _answer(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.reset:  # RST: SO_LINGER 0 and close, no reply at all
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.cut is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload if reply.cut is None else payload[:reply.cut])
                self.wfile.flush()
                if reply.cut is not None:
                    self.close_connection = True

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request, client_address):  # a client that gave up: fine
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> "ScriptedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def request(i: int, schema: dict | None = None, max_tokens: int = 32) -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": f"request {i}"}],
                             seed=1000 + i, max_tokens=max_tokens, temperature=0.7, top_p=0.9, schema=schema)


def generator(server: ScriptedServer, **kwargs) -> OpenAIGenerator:
    options = {"model": "served-name", "backoff": FAST, "request_timeout": 5.0, "seed": 0, **kwargs}
    return OpenAIGenerator(server.base_url, **options)


def failing_then(failures: list[Reply], then: Script = echo) -> Script:
    """The first len(failures) requests get those replies, the rest `then`."""
    def script(index: int, body: dict[str, Any]) -> Reply:
        return failures[index] if index < len(failures) else then(index, body)
    return script


# Requests and outputs -----------------------------------------------------------------------
