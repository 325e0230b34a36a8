"""A stand-in for the Hugging Face Hub's HTTP API on loopback, for testing `synthgen publish`.

The real Hub cannot be reached from the test machines. This stand-in answers the requests
huggingface_hub makes for `create_repo`, `create_branch` and `upload_folder` (found by
logging them: every request is recorded, and an unknown one gets 404 so that a new call
fails the test loudly):

- `POST /api/repos/create` (JSON: name, organization, type, visibility or private): 200 `{"url"}`;
- `POST /api/{type}s/{repo}/branch/{branch}`: 200;
- `GET /api/{type}s/{repo}/tree/{revision}` (the listing `delete_patterns` needs): 200 with
  the files of `existing` (a repo published before);
- `POST /api/validate-yaml` (JSON: the README's content, repoType): 200 without errors, or
  400 with `yaml_errors` (the real Hub checks the metadata against its schema; the stand-in
  keeps the content for the test);
- `POST /api/{type}s/{repo}/preupload/{revision}`: every file `"uploadMode": "regular"`, so
  no LFS or Xet storage is needed;
- `POST /api/{type}s/{repo}/commit/{revision}` (NDJSON: a header, then each file with its
  content in base64, then deletions): 200 `{"commitOid", "commitUrl"}`;
- `GET /api/agent-harnesses` (huggingface_hub's best-effort registry lookup, failures
  ignored, sent without the token): 404 like any unknown request.

Commits are decoded and kept (`files`: path -> bytes) for the test to compare.
`refuse_with=401` (or 403) answers every authenticated request with that status, as the
Hub does for a bad token or a repo the token may not write.
"""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

REPO = r"(?P<type>datasets|models|spaces)/(?P<repo>[^/]+/[^/]+)"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HubStandIn:
    """`with HubStandIn() as hub:` serves on 127.0.0.1 at a free port; `hub.url` is the endpoint."""

    existing: list[str] = field(default_factory=list)  # files the repo already holds
    refuse_with: int | None = None
    yaml_errors: list[str] = field(default_factory=list)  # validate-yaml answers 400 with these
    requests: list[Request] = field(default_factory=list)
    created: list[dict] = field(default_factory=list)
    branches: list[str] = field(default_factory=list)
    validated: list[dict] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # "METHOD /path" of requests answered 404
    # each {"repo", "revision", "header", "files": {path: bytes}, "deleted": [path]}
    commits: list[dict] = field(default_factory=list)

    def __enter__(self) -> "HubStandIn":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

            def do_HEAD(self):
                standin._handle(self, "HEAD")

            def log_message(self, *args):  # keep pytest output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def files(self) -> dict[str, bytes]:
        """Every file committed, by path (later commits win)."""
        return {path: data for commit in self.commits for path, data in commit["files"].items()}

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = handler.path.split("?")[0]
        self.requests.append(Request(method, handler.path, {k.lower(): v for k, v in handler.headers.items()}, body))
        if self.refuse_with and "authorization" in self.requests[-1].headers:
            status, answer = self.refuse_with, {"error": "Invalid credentials in Authorization header"}
        else:
            status, answer = self._answer(method, path, body)
        data = orjson.dumps(answer)
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data)

    def _answer(self, method: str, path: str, body: bytes) -> tuple[int, object]:
        if method == "POST" and path == "/api/repos/create":
            request = orjson.loads(body)
            self.created.append(request)
            kind = {"dataset": "datasets", "space": "spaces"}.get(request.get("type"), "")
            owner = request.get("organization")
            repo = f"{owner}/{request['name']}" if owner else request["name"]
            return 200, {"url": f"{self.url}/{kind + '/' if kind else ''}{repo}", "name": repo}
        if method == "POST" and (match := re.fullmatch(rf"/api/{REPO}/branch/(?P<branch>.+)", path)):
            self.branches.append(match["branch"])
            return 200, {}
        if method == "POST" and path == "/api/validate-yaml":
            self.validated.append(orjson.loads(body))
            if self.yaml_errors:
                return 400, {"errors": [{"message": message} for message in self.yaml_errors]}
            return 200, {"errors": [], "warnings": []}
        if method == "GET" and re.fullmatch(rf"/api/{REPO}/tree/.+", path):
            return 200, [{"type": "file", "path": name, "size": 1, "oid": f"{i:040x}"}
                         for i, name in enumerate(self.existing)]
        if method == "POST" and re.fullmatch(rf"/api/{REPO}/preupload/.+", path):
            files = orjson.loads(body)["files"]
            return 200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                                   for f in files]}
        if method == "POST" and (match := re.fullmatch(rf"/api/{REPO}/commit/(?P<revision>.+)", path)):
            return 200, self._commit(f"{match['type']}/{match['repo']}", match["revision"], body)
        self.unknown.append(f"{method} {path}")
        return 404, {"error": f"the Hub stand-in does not know {method} {path}"}

    def _commit(self, repo: str, revision: str, body: bytes) -> dict:
        commit: dict = {"repo": repo, "revision": revision, "header": None, "files": {}, "deleted": []}
        for line in body.splitlines():
            entry = orjson.loads(line)
            if entry["key"] == "header":
                commit["header"] = entry["value"]
            elif entry["key"] == "file":
                value = entry["value"]
                assert value.get("encoding") == "base64", value.get("encoding")
                commit["files"][value["path"]] = base64.b64decode(value["content"])
            elif entry["key"] in ("deletedFile", "deletedFolder"):
                commit["deleted"].append(entry["value"]["path"])
            else:
                raise AssertionError(f"unexpected commit entry {entry['key']}")
        self.commits.append(commit)
        oid = f"{len(self.commits):040x}"
        return {"commitOid": oid, "commitUrl": f"{self.url}/{repo}/commit/{oid}", "success": True}
