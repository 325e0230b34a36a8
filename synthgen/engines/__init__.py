"""Engines: generation and embedding backends behind two small batch-first protocols."""

from __future__ import annotations

from synthgen.engines.base import Embedder, GenerationOutput, GenerationRequest, Generator
from synthgen.recipe import EmbedderConfig, GeneratorConfig


def load_generator(config: GeneratorConfig) -> Generator:
    """The vLLM generator a recipe's `generator` table names (`builtin:` models resolved)."""
    from synthgen.engines.vllm_engine import VLLMGenerator
    from synthgen.models import public_model_id, resolve_model

    return VLLMGenerator(resolve_model(config.model), public_model_id(config.model),
                         config.structured_outputs, config.engine_kwargs)


def load_embedder(config: EmbedderConfig) -> Embedder:
    """The embedder a recipe's `embedder` table names."""
    from synthgen.engines.embedders import load_embedder as load

    return load(config)


__all__ = ["Embedder", "GenerationOutput", "GenerationRequest", "Generator", "load_embedder", "load_generator"]
