"""How a run is made: the generator that writes the data and the embedder that scores it
(`[generator]`, `[embedder]`), how the work is cut (`[run]`), and where Ray places it
(`[ray]`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from synthgen.config.redaction import looks_like_key
from synthgen.config.rules import check, one_of

BUILTIN_GENERATOR = "builtin:smollm2-135m-instruct"
BUILTIN_EMBEDDER = "builtin:all-minilm-l6-v2"


@dataclass(frozen=True)
class GeneratorConfig:
    """The LLM that writes the data, how it samples, and which engine runs it.

    `engine = "vllm"` (default) runs the model in-process with vLLM: `model` is a hub id or
    local path handed to vLLM unchanged (e.g. "Qwen/Qwen3-32B"), or
    `builtin:smollm2-135m-instruct`, the small model shipped on PyPI for CPU demos and tests;
    `engine_kwargs` go to `vllm.LLM(...)` as they are (tensor_parallel_size, max_model_len...).
    `engine = "openai"` sends chat completions to an OpenAI-compatible server at `base_url`
    (vLLM, SGLang, llama.cpp, hosted APIs): `model` is the name the server serves (vLLM's
    `--served-model-name`; a `builtin:` name is sent as its hub id, e.g.
    "HuggingFaceTB/SmolLM2-135M-Instruct"), the key is read from the environment variable
    named `api_key_env` (unset: no Authorization header), at most `concurrency` requests are
    in flight, and a failed request is retried up to `max_retries` times; `request_timeout`
    (seconds) bounds each attempt. `engine_kwargs` do not apply to it.
    Secrets stay out of what synthgen writes and prints (`synthgen/config/redaction.py`):
    `api_key_env` must be a variable's NAME, and a value that looks like a key itself
    (`hf_...`, `sk-...`, a long random string) is refused without being echoed; credentials
    in `base_url` (`user:password@`, query parameters such as `?api_key=`) are used for the
    requests but written and printed as `***` (`Recipe.to_dict`).
    `structured_outputs` makes the engine enforce each template's JSON schema while decoding
    (vLLM's structured outputs; `response_format` json_schema on a server).
    """

    model: str = BUILTIN_GENERATOR
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 256
    structured_outputs: bool = True
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    engine: str = "vllm"
    base_url: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    max_retries: int = 6
    request_timeout: float = 120.0

    def __post_init__(self) -> None:
        check("generator.model", bool(self.model), "must name a model", self.model)
        check("generator.temperature", 0 <= self.temperature <= 2, "must be in [0, 2]", self.temperature)
        check("generator.top_p", 0 < self.top_p <= 1, "must be in (0, 1]", self.top_p)
        check("generator.max_tokens", self.max_tokens >= 8, "must be >= 8", self.max_tokens)
        check_endpoint("generator", self.engine, self.base_url, self.api_key_env)
        check("generator.concurrency", self.concurrency >= 1, "must be >= 1", self.concurrency)
        check("generator.max_retries", self.max_retries >= 0, "must be >= 0", self.max_retries)
        check("generator.request_timeout", self.request_timeout > 0, "must be > 0 seconds", self.request_timeout)


EMBED_CHUNK = 1024  # texts per finalize embedding call: 16 batches of 64, ~1.5 MB of 384-d vectors


@dataclass(frozen=True)
class EmbedderConfig:
    """The embedding model used for persona retrieval (and, later, filtering and mining).

    `backend` is "sentence-transformers" (default) or "vllm" (a pooling runner).
    `query_prompt` is prepended to queries for instruction-aware embedders
    (Qwen3-Embedding: "Instruct: ...\\nQuery: "); empty for symmetric models.
    `chunk_size`: texts per embedding call in the finalize pass (gates, mining), the unit
    of work of `--executor ray`'s embedder actors (`synthgen/engines/chunked.py`).
    Changing it may change vectors in the last bits (an embedder pads each batch to its
    longest text), so it belongs to the recipe; larger chunks suit GPU embedders.
    """

    model: str = BUILTIN_EMBEDDER
    backend: str = "sentence-transformers"
    batch_size: int = 64
    query_prompt: str = ""
    chunk_size: int = EMBED_CHUNK

    def __post_init__(self) -> None:
        one_of("embedder.backend", self.backend, ("sentence-transformers", "vllm"))
        check("embedder.batch_size", self.batch_size >= 1, "must be >= 1", self.batch_size)
        check("embedder.chunk_size", self.chunk_size >= 1, "must be >= 1", self.chunk_size)


@dataclass(frozen=True)
class RunConfig:
    """How the work is cut: `shard_size` documents per engine call and per output unit.

    `deterministic` (default false) asks for bit-identical rows from a resumed, a Ray and a
    `--shard` run of the same recipe on the same hardware, at some speed: one CPU thread
    for the model math (on CPUs a matrix product rounds differently with another thread
    count), vLLM's prefix cache off (what the cache held would change which tokens a
    kernel computes, and how it rounds), one request in flight for the `openai` engine
    (a server batches concurrent requests by arrival), and vLLM's batch-invariant kernels
    (`VLLM_BATCH_INVARIANT=1`) on GPUs. Without it, every run still accounts for each
    work item exactly once, with the same ids (`synthgen/run/ledger.py`); only the text a
    model writes may differ in places.
    """

    shard_size: int = 64
    rows_per_file: int = 100_000
    deterministic: bool = False

    def __post_init__(self) -> None:
        check("run.shard_size", self.shard_size >= 1, "must be >= 1", self.shard_size)
        check("run.rows_per_file", self.rows_per_file >= 1, "must be >= 1", self.rows_per_file)


@dataclass(frozen=True)
class RayConfig:
    """Placement of engine actors for `synthgen run --executor ray` (ignored otherwise).

    `workers`: how many actors, each with one generator (0: as many as the cluster's GPUs,
    or CPUs, hold). `gpus_per_worker`: GPUs each actor reserves (unset: the generator's
    `engine_kwargs.tensor_parallel_size` when the cluster has GPUs, else 0).
    `cpus_per_worker`: CPUs each actor reserves. None of these change the rows, so they
    may change between a run and its resumption.
    """

    workers: int = 0
    cpus_per_worker: float = 1.0
    gpus_per_worker: float | None = None

    def __post_init__(self) -> None:
        check("ray.workers", self.workers >= 0, "must be >= 0", self.workers)
        check("ray.cpus_per_worker", self.cpus_per_worker > 0, "must be > 0", self.cpus_per_worker)
        check("ray.gpus_per_worker", self.gpus_per_worker is None or self.gpus_per_worker >= 0, "must be >= 0",
              self.gpus_per_worker)


def has_host(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises
    except ValueError:
        return False
    return bool(parts.hostname)


def check_endpoint(table: str, engine: str, base_url: str, api_key_env: str) -> None:
    """The engine settings the generator and the judge share: `engine` is vllm or openai;
    openai needs `base_url`, an http(s) URL with a host; `api_key_env` is the NAME of an
    environment variable, and a value that looks like a key is refused without being echoed
    (a key pasted here by mistake must not reach the terminal)."""
    one_of(f"{table}.engine", engine, ("vllm", "openai"))
    if engine == "openai":
        check(f"{table}.base_url", bool(base_url),
              f"is required when {table}.engine = 'openai' (e.g. \"http://127.0.0.1:8000/v1\")", base_url)
    if base_url:
        check(f"{table}.base_url", base_url.startswith(("http://", "https://")),
              "must start with http:// or https://", base_url)
        check(f"{table}.base_url", has_host(base_url), "must be a URL like http://HOST:PORT/v1",
              base_url)
    # The value is never echoed: a key pasted here by mistake must not reach the terminal.
    check(f"{table}.api_key_env", not looks_like_key(api_key_env),
          "looks like a key itself (value not shown): name the environment variable that holds it, "
          "e.g. OPENAI_API_KEY", None)
    name_ok = api_key_env == "" or (api_key_env.isidentifier() and api_key_env.isascii())
    check(f"{table}.api_key_env", name_ok,
          "must be the NAME of an environment variable holding the key (letters, digits, _), "
          "never the key itself (value not shown)", None)
