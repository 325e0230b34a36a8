"""Embedding in fixed chunks: the unit of work the finalize pass can run anywhere.

An embedder batches what one call gives it (sentence-transformers sorts a call's texts by
length and pads each batch of `batch_size` to its longest text), so the same text can get
vectors that differ in the last bits depending on the other texts of the call. The
finalize pass (gates, calibration, mining) therefore embeds every list in chunks of
`embedder.chunk_size` texts (default `EMBED_CHUNK`), in list order, one `embed` call per
chunk. A chunk gives the same vectors in this process and on a Ray actor
(`synthgen/run/ray_embedding.py`) with the same model and thread count, so a run whose
chunks ran on a cluster keeps the vectors, and the gate decisions and mined negatives, of
an in-process run.

`ChunkedEmbedder.embed_chunks` is the one method an executor overrides: in this process,
chunk after chunk; on Ray, chunks in parallel over an actor pool, results in order.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from synthgen.config.run import EMBED_CHUNK
from synthgen.engines.base import Embedder

Kind = Literal["query", "document"]


def chunks_of(texts: Sequence[str], size: int = EMBED_CHUNK) -> list[list[str]]:
    """`texts` cut into consecutive chunks of `size` (the last one shorter); one empty
    chunk for no texts, so the embedder still says its dimension."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, not {size}")
    items = list(texts)
    return [items[start:start + size] for start in range(0, len(items), size)] or [[]]


class ChunkedEmbedder(Embedder):
    """Wraps an embedder so that every `embed` call runs as chunks of `size` texts; keeps
    count of the texts and chunks it embedded (`stats`, recorded in the manifest)."""

    where = "local"

    def __init__(self, embedder: Embedder | None, model_id: str, size: int = EMBED_CHUNK):
        self.inner, self.model_id, self.size = embedder, model_id, size
        self.texts = 0
        self.chunks = 0

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        parts = chunks_of(texts, self.size)
        vectors = self.embed_chunks(parts, kind)
        self.texts += len(texts)
        self.chunks += sum(1 for part in parts if part)
        return vectors[0] if len(vectors) == 1 else np.concatenate(vectors)

    def embed_chunks(self, parts: list[list[str]], kind: Kind) -> list[np.ndarray]:
        """The vectors of each chunk, in order: here, one after the other."""
        assert self.inner is not None, "a ChunkedEmbedder without an inner embedder must override embed_chunks"
        return [self.inner.embed(part, kind=kind) for part in parts]

    def stats(self) -> dict[str, object]:
        """Where the chunks ran, and how many texts and chunks were embedded."""
        return {"where": self.where, "texts": self.texts, "chunks": self.chunks, "chunk_size": self.size}

    def close(self) -> None:
        """Release what the chunks ran on (nothing, in this process)."""


def chunked(embedder: Embedder, size: int = EMBED_CHUNK) -> ChunkedEmbedder:
    """`embedder` as a `ChunkedEmbedder` of `size` (itself if it already is one)."""
    if isinstance(embedder, ChunkedEmbedder):
        return embedder
    return ChunkedEmbedder(embedder, getattr(embedder, "model_id", ""), size)
