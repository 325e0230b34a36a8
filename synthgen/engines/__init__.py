"""Engines: generation and embedding backends behind two small batch-first protocols."""

from synthgen.engines.base import Embedder, GenerationOutput, GenerationRequest, Generator

__all__ = ["Embedder", "GenerationOutput", "GenerationRequest", "Generator"]
