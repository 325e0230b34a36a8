"""Embedders: sentence-transformers (default) or vLLM's pooling runner, picked by the recipe.

Vectors are L2-normalized float32, so a dot product is the cosine similarity. For
instruction-aware embedders (Qwen3-Embedding, E5) the recipe's `query_prompt` is
prepended to queries only, as those models were trained.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from synthgen.engines.base import Embedder
from synthgen.engines.loading import model_errors
from synthgen.models import public_model_id, resolve_model
from synthgen.recipe import EmbedderConfig


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub id or local path, on the CPU or a GPU."""

    def __init__(self, model: str, model_id: str, query_prompt: str = "", batch_size: int = 64):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bars on stderr
        self.model_id = model_id
        self.query_prompt = query_prompt
        self.batch_size = batch_size
        with model_errors("embedder.model", model_id):
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


def load_embedder(config: EmbedderConfig) -> Embedder:
    """The embedder a recipe names, resolving `builtin:` models to their packaged folders."""
    path, model_id = resolve_model(config.model), public_model_id(config.model)
    if config.backend == "vllm":
        from synthgen.engines.vllm_engine import VLLMEmbedder

        return VLLMEmbedder(path, model_id, query_prompt=config.query_prompt)
    return SentenceTransformerEmbedder(path, model_id, config.query_prompt, config.batch_size)
