"""The finalize pass's chunked embedding: chunk boundaries, order, counts, and that a
chunk is embedded alone (so it can run in any process with the same vectors)."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.engines.chunked import ChunkedEmbedder, chunked, chunks_of


class RecordingEmbedder:
    """Vectors that say which call and position embedded each text."""

    model_id = "recording"

    def __init__(self):
        self.calls: list[list[str]] = []

    def embed(self, texts, kind):
        self.calls.append(list(texts))
        call = len(self.calls)
        return np.array([[call, i, len(t), kind == "query"] for i, t in enumerate(texts)],
                        dtype=np.float32).reshape(len(texts), 4)


def test_chunks_are_consecutive_slices_and_no_texts_is_one_empty_chunk():
    assert chunks_of(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert chunks_of(["a", "b"], 2) == [["a", "b"]]
    assert chunks_of([], 2) == [[]]
    with pytest.raises(ValueError, match="at least 1"):
        chunks_of(["a"], 0)


def test_each_chunk_is_one_call_and_vectors_come_back_in_text_order():
    inner = RecordingEmbedder()
    embedder = ChunkedEmbedder(inner, inner.model_id, size=3)
    texts = [f"text {i}" * (i + 1) for i in range(7)]
    vectors = embedder.embed(texts, kind="query")
    assert inner.calls == [texts[0:3], texts[3:6], texts[6:7]]
    assert vectors.shape == (7, 4)
    assert vectors[:, 0].tolist() == [1, 1, 1, 2, 2, 2, 3]  # call number
    assert vectors[:, 1].tolist() == [0, 1, 2, 0, 1, 2, 0]  # position within the call
    assert vectors[:, 2].tolist() == [len(t) for t in texts]
    assert vectors[:, 3].all()  # the kind reached the inner embedder
    assert embedder.stats() == {"where": "local", "texts": 7, "chunks": 3, "chunk_size": 3}


def test_no_texts_still_gives_the_inner_embedders_shape_and_counts_no_chunk():
    inner = RecordingEmbedder()
    embedder = chunked(inner)
    assert embedder.embed([], kind="document").shape == (0, 4)
    assert embedder.stats()["chunks"] == 0 and embedder.stats()["texts"] == 0
    assert chunked(embedder) is embedder and embedder.model_id == "recording"
