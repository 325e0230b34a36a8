"""The `openai` engine: any OpenAI-compatible chat-completions server over HTTP.

`vllm serve` (or `python -m vllm.entrypoints.openai.api_server`), SGLang, llama.cpp's
`llama-server`, TGI and hosted APIs all speak `POST {base_url}/chat/completions`. A batch of
requests goes out concurrently (at most `concurrency` in flight, over one connection pool),
and the outputs come back in request order, like the in-process engine's.

Failures, by kind:

- 408, 409, 429, 5xx, connection errors, timeouts (connect, read, or the whole attempt
  beyond `request_timeout`) and bodies that are not a chat completion (a reply cut short)
  are retried with exponential backoff and full jitter: attempt n waits a uniform time in
  [0, min(cap, base * 2**n)] (base 0.5 s, cap 30 s), or what the server's `Retry-After`
  (`retry-after-ms`) asks for. After `max_retries` retries the run stops with `EngineError`.
- 401, 403 and 404 are a wrong key, URL or model name: every request would fail the same
  way, so they stop the run at once with `EngineError`.
- Any other 4xx (400 "context too long", 422) is a property of that one request: its
  output is empty with `finish_reason = "error:<status>"`, and the item is rejected.
  A 400 that names `response_format` / `json_schema` means the server lacks structured
  outputs: the request is sent again without it, and so is the rest of the run.

The API key is read from the environment variable named by `api_key_env` when a batch
starts. It lives only in the request headers of that batch's HTTP client: it is not an
attribute of the generator. A key that no HTTP header may carry (a trailing carriage
return from a CRLF env file, a non-ASCII character) stops the run with a `UserError`
naming the variable, before any request: the HTTP library's own error would quote it.
Credentials in `base_url` (`user:password@`, `?api_key=...`) are sent as configured. Every
URL this module logs or raises goes through `synthgen.config.redaction.redact_url`, and every
message is scrubbed of the key and the URL's credentials (`synthgen.config.redaction.Scrubber`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import logging
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import urlsplit, urlunsplit

from synthgen.engines.base import GenerationOutput, GenerationRequest, Generator
from synthgen.errors import MissingDependencyError, UserError
from synthgen.config.redaction import Scrubber, redact_logged_urls, redact_url, url_secrets

log = logging.getLogger("synthgen.engines.openai")

RETRY_STATUSES = frozenset({408, 409, 429})
FATAL_STATUSES = frozenset({401, 403, 404})
_SCHEMA_UNSUPPORTED = re.compile(r"response_format|json_schema|structured", re.IGNORECASE)


class EngineError(UserError):
    """The server could not be used: retries exhausted, or the key/URL/model was refused."""


class _Retryable(Exception):
    """One failed attempt that may succeed if tried again."""

    def __init__(self, what: str, retry_after: float | None = None):
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: retry n sleeps U(0, min(cap, base * 2**n))."""

    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, retry: int, rng: random.Random, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return rng.uniform(0.0, min(self.cap, self.base * (2 ** retry)))


class OpenAIGenerator(Generator):
    """Chat generation against an OpenAI-compatible server (`/v1/chat/completions`).

    `model` is the name sent in requests: it must be a name the server serves (vLLM's
    `--served-model-name`). `model_id` is what rows and manifests record.
    `structured_outputs=True` sends each request's JSON schema as
    `response_format = {"type": "json_schema", ...}`.
    """

    def __init__(self, base_url: str, model: str, model_id: str | None = None, structured_outputs: bool = True,
                 api_key_env: str = "OPENAI_API_KEY", concurrency: int = 16, max_retries: int = 6,
                 request_timeout: float = 120.0, backoff: Backoff | None = None, seed: int | None = None):
        try:
            import httpx  # noqa: F401
        except ImportError:
            raise MissingDependencyError("the openai engine", "httpx") from None
        redact_logged_urls("httpx")  # httpx logs each request's URL, credentials included, at INFO
        self.base_url = base_url.rstrip("/")
        self.url = _endpoint(self.base_url, "chat/completions")
        self.model = model
        self.model_id = model_id or model
        self.structured_outputs = structured_outputs
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.request_timeout = request_timeout
        self.backoff = backoff or Backoff()
        self._rng = random.Random(seed)
        self._schema_supported = True
        self._context_length: int | None | bool = False  # False: not asked yet
        self.stats = {"requests": 0, "attempts": 0, "retries": 0, "errors": 0}

    def __repr__(self) -> str:
        return (f"OpenAIGenerator(url={redact_url(self.url)!r}, model={self.model!r}, "
                f"concurrency={self.concurrency}, api_key_env={self.api_key_env!r})")

    @property
    def context_length(self) -> int | None:
        """The served model's context in tokens where the server tells it (vLLM and SGLang
        list `max_model_len` in `/v1/models`), else None; asked once. The pipeline fits
        documents to it, so that prompts are not refused as too long."""
        if self._context_length is False:
            self._context_length = self._ask_context_length()
        return self._context_length  # type: ignore[return-value]

    def _ask_context_length(self) -> int | None:
        import httpx

        try:
            reply = httpx.get(_endpoint(self.base_url, "models"), headers=self._headers(),
                              timeout=min(self.request_timeout, 30.0))
            for entry in reply.json().get("data", []) if reply.status_code == 200 else []:
                if entry.get("id") == self.model and isinstance(entry.get("max_model_len"), int):
                    return entry["max_model_len"]
        except (httpx.HTTPError, ValueError, AttributeError, TypeError):
            pass
        log.debug("%s does not give the context length of %s", redact_url(_endpoint(self.base_url, "models")),
                  self.model)
        return None

    def _headers(self) -> dict[str, str]:
        """The Authorization header with the key in `$api_key_env` (none when it is unset
        or empty); a key that no header may hold is refused here, without being shown."""
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        if not key:
            return {}
        problem = _key_problem(key)
        if problem:
            raise UserError(f"generator.api_key_env: the key in ${self.api_key_env} {problem}, which no HTTP "
                            f"header may hold (key not shown): {_KEY_FIXES[problem]} {self.api_key_env}")
        return {"Authorization": f"Bearer {key}"}

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        if not requests:
            return []
        try:
            asyncio.get_running_loop()
            in_loop = True
        except RuntimeError:
            in_loop = False
        if not in_loop:
            return asyncio.run(self._generate(requests))
        # Called from inside an event loop (a notebook): run the batch on a loop of its own.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._generate(requests)).result()

    # The batch -------------------------------------------------------------------------

    async def _generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        import httpx

        headers = self._headers()
        key = headers.get("Authorization", "").removeprefix("Bearer ")
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        timeout = httpx.Timeout(self.request_timeout, connect=min(self.request_timeout, 30.0))
        semaphore = asyncio.Semaphore(self.concurrency)
        scrub = Scrubber([key, *url_secrets(self.base_url)])
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=timeout) as client:
            tasks = [asyncio.ensure_future(self._one(client, semaphore, scrub, r)) for r in requests]
            try:
                return list(await asyncio.gather(*tasks))
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise

    async def _one(self, client, semaphore: asyncio.Semaphore, scrub: Scrubber,
                   request: GenerationRequest) -> GenerationOutput:
        self.stats["requests"] += 1
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats["retries"] += 1
            try:
                async with semaphore:
                    self.stats["attempts"] += 1
                    return await asyncio.wait_for(self._attempt(client, scrub, request), self.request_timeout)
            except _Retryable as exc:
                last, retry_after = exc.what, exc.retry_after
            except asyncio.TimeoutError:
                last, retry_after = f"no complete reply within {self.request_timeout:g} s", None
            if attempt == self.max_retries:
                break
            delay = self.backoff.delay(attempt, self._rng, retry_after)
            log.info("%s: %s; retry %d of %d in %.2f s", redact_url(self.url), scrub(last), attempt + 1,
                     self.max_retries, delay)
            await asyncio.sleep(delay)
        raise EngineError(scrub(f"POST {redact_url(self.url)} failed after {self.max_retries + 1} attempts; "
                                f"last: {last}. Is the server up and able to keep up? (lower "
                                f"generator.concurrency, raise generator.request_timeout or max_retries)"))

    async def _attempt(self, client, scrub: Scrubber, request: GenerationRequest) -> GenerationOutput:
        import httpx

        use_schema = self.structured_outputs and self._schema_supported and request.schema is not None
        try:
            response = await client.post(self.url, json=self._payload(request, use_schema))
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout ({type(exc).__name__})") from None
        except httpx.RequestError as exc:  # connection refused or reset, a reply cut short, ...
            raise _Retryable(f"connection error ({type(exc).__name__}: {exc})") from None
        status = response.status_code
        if status in RETRY_STATUSES or status >= 500:
            raise _Retryable(f"HTTP {status}{_excerpt(response)}", _retry_after(response.headers))
        if status in FATAL_STATUSES:
            hint = {401: f"is ${self.api_key_env} set to a key this server accepts?",
                    403: f"does the key in ${self.api_key_env} give access to this model?",
                    404: f"does the server serve model {self.model!r} (vLLM: --served-model-name) "
                         f"at {redact_url(self.base_url)}?"}[status]
            raise EngineError(scrub(f"POST {redact_url(self.url)}: HTTP {status}{_excerpt(response)}: {hint}"))
        if status >= 400:
            if use_schema and status == 400 and _SCHEMA_UNSUPPORTED.search(response.text or ""):
                if self._schema_supported:
                    log.warning("%s rejects response_format json_schema (HTTP 400); sending requests without "
                                "it from now on (outputs are parsed and validated after decoding)",
                                redact_url(self.base_url))
                self._schema_supported = False
                return await self._attempt(client, scrub, request)
            self.stats["errors"] += 1
            log.warning("%s: HTTP %d%s; the item is rejected", redact_url(self.url), status,
                        scrub(_excerpt(response)))
            return GenerationOutput("", f"error:{status}", 0, 0, 0)
        return _parse_completion(response)

    def _payload(self, request: GenerationRequest, use_schema: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model, "messages": request.messages, "max_tokens": request.max_tokens,
            "temperature": request.temperature, "top_p": request.top_p, "seed": request.seed,
        }
        if request.logprobs:
            payload["logprobs"] = True
            payload["top_logprobs"] = request.logprobs
        if use_schema:
            payload["response_format"] = {"type": "json_schema",
                                          "json_schema": {"name": "output", "schema": request.schema}}
        return payload


def _parse_completion(response) -> GenerationOutput:
    """The output in a 2xx chat-completion body; a body that is not one is retried."""
    try:
        body = response.json()
        choice = body["choices"][0]
        message = choice.get("message") or {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise _Retryable(f"HTTP {response.status_code} with a body that is not a chat completion "
                         f"({len(response.content)} bytes; cut short?)") from None
    text = message.get("content") or ""
    finish_reason = str(choice.get("finish_reason") or "")
    if not text and message.get("refusal"):
        text, finish_reason = str(message["refusal"]), "refusal"
    usage = body.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    return GenerationOutput(text=str(text), finish_reason=finish_reason,
                            prompt_tokens=int(usage.get("prompt_tokens") or 0),
                            completion_tokens=int(usage.get("completion_tokens") or 0),
                            cached_tokens=int(details.get("cached_tokens") or 0),
                            top_logprobs=_top_logprobs(choice.get("logprobs")))


def _top_logprobs(logprobs: Any) -> list[dict[str, float]] | None:
    """A chat completion's `logprobs.content[i].top_logprobs` as one {token: log-probability}
    per generated token (None where the server sent none)."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list):
        return None
    tokens = []
    for position in content:
        found: dict[str, float] = {}
        entries = (position.get("top_logprobs") or []) if isinstance(position, dict) else []
        for entry in [position, *entries] if isinstance(position, dict) else []:
            try:
                token, value = str(entry["token"]), float(entry["logprob"])
            except (KeyError, TypeError, ValueError):
                continue
            found[token] = max(found.get(token, float("-inf")), value)
        tokens.append(found)
    return tokens


def _retry_after(headers) -> float | None:
    """Seconds asked for by `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time()) if when is not None else None


def _excerpt(response, limit: int = 200) -> str:
    try:
        text = " ".join(response.text.split())
    except Exception:  # an undecodable body says nothing useful
        return ""
    return f" ({text[:limit]})" if text else ""


def _endpoint(base_url: str, path: str) -> str:
    """`{base_url}/{path}`, keeping a query string of the base URL (some servers take the
    key as `?api_key=...`) after the path, where it belongs."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{path}", fragment=""))


# What `_key_problem` finds, and the fix the error message gives for it.
_KEY_FIXES = {
    "ends with a carriage return or newline": "strip the trailing carriage return / newline from",
    "starts or ends with a space or tab": "strip the surrounding whitespace from",
    "holds a space": "remove the space from",
    "holds a control character": "remove the control character from",
    "holds a non-ASCII character": "set it again, typed or copied as plain ASCII, in",
}


def _key_problem(key: str) -> str | None:
    """What makes `key` unusable in an HTTP header, in words that do not show it: a key is
    visible ASCII characters only (0x21-0x7E); None when it is."""
    if key.rstrip("\r\n") != key:
        return "ends with a carriage return or newline"
    if key.strip(" \t") != key:
        return "starts or ends with a space or tab"
    for char in key:
        if not char.isascii():
            return "holds a non-ASCII character"
        if char == " ":
            return "holds a space"
        if not char.isprintable():
            return "holds a control character"
    return None
