"""synthgen.personas.library: persona libraries and top-k persona retrieval (with a fake embedder)."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import orjson
import pytest

from synthgen.errors import UserError
from synthgen.personas.library import (
    DOCUMENT_PREFIX_CHARS,
    PERSONAS_DIR,
    Persona,
    PersonaIndex,
    library_path,
    load_personas,
)

REPO = Path(__file__).resolve().parents[3]


class HashingEmbedder:
    """Bag-of-words hashing into a small space, L2-normalized; records what it was asked."""

    model_id = "fake/hashing-bow"

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.calls: list[tuple[list[str], str]] = []

    def embed(self, texts, kind):
        self.calls.append((list(texts), kind))
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                vectors[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


def _library(path: Path, rows: list) -> Path:
    path.write_bytes(b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in rows) + b"\n")
    return path


PERSONAS = [
    Persona("p0", "a baker who bakes sourdough bread with rye flour"),
    Persona("p1", "a go developer who writes http handlers and database code"),
    Persona("p2", "a gardener who grows tomatoes and roses in a small garden"),
    Persona("p3", "a sailor who reads weather forecasts before sailing"),
]


# Libraries -------------------------------------------------------------------------------

def test_core_library_loads():
    personas = load_personas(["builtin:core"])
    assert len(personas) >= 300
    ids = [p.id for p in personas]
    assert len(set(ids)) == len(ids)
    for persona in personas:
        assert persona.persona and persona.persona == persona.persona.strip()
        assert persona.domains and all(isinstance(d, str) and d for d in persona.domains)


def test_builtin_library_path():
    assert library_path("builtin:core") == PERSONAS_DIR / "core.jsonl"
    assert PERSONAS_DIR == REPO / "personas"
    assert library_path("some/file.jsonl") == Path("some/file.jsonl")


def test_custom_library_in_file_order(tmp_path):
    path = _library(tmp_path / "lib.jsonl", [
        {"id": "b", "persona": "  Second listed first  ", "domains": ["x", "y"]},
        b"",
        {"id": 1, "persona": "No domains"},
    ])
    assert load_personas([str(path)]) == [Persona("b", "Second listed first", ("x", "y")),
                                          Persona("1", "No domains", ())]


@pytest.mark.parametrize("line", [b"not json", b'{"id": "x"}', b'{"persona": "no id"}', b"[1, 2]", b"null",
                                  b'{"id": "x", "persona": "p", "domains": 5}'])
def test_malformed_line_is_a_user_error(tmp_path, line):
    path = _library(tmp_path / "lib.jsonl", [{"id": "ok", "persona": "fine"}, line])
    with pytest.raises(UserError) as info:
        load_personas([str(path)])
    assert f"{path}:2" in str(info.value)


def test_duplicate_ids_across_libraries(tmp_path):
    first = _library(tmp_path / "a.jsonl", [{"id": "same", "persona": "one"}])
    second = _library(tmp_path / "b.jsonl", [{"id": "other", "persona": "two"}, {"id": "same", "persona": "three"}])
    with pytest.raises(UserError) as info:
        load_personas([str(first), str(second)])
    assert "'same'" in str(info.value) and f"{second}:2" in str(info.value)


def test_duplicate_ids_with_the_core_library(tmp_path):
    extra = _library(tmp_path / "extra.jsonl", [{"id": "core-0001", "persona": "a clash"}])
    with pytest.raises(UserError, match="duplicate persona id"):
        load_personas(["builtin:core", str(extra)])


def test_missing_library_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_personas([str(tmp_path / "nope.jsonl")])
    with pytest.raises(UserError, match="does not exist"):
        load_personas(["builtin:no-such-library"])


def test_empty_library_is_a_user_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(UserError, match="empty"):
        load_personas([str(path)])


# Retrieval -------------------------------------------------------------------------------

def test_fake_embedder_is_normalized():
    vectors = HashingEmbedder().embed(["sourdough bread", "go http"], kind="query")
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_search_returns_the_k_best_best_first():
    embedder = HashingEmbedder()
    index = PersonaIndex(PERSONAS, embedder)
    (found,) = index.search(["how long should sourdough rye bread rise before baking"], k=2)
    assert len(found) == 2
    assert found[0][0].id == "p0"
    assert found[0][1] > found[1][1]
    assert all(isinstance(score, float) for _, score in found)


def test_search_several_texts():
    index = PersonaIndex(PERSONAS, HashingEmbedder())
    results = index.search(["database code in go http handlers", "when to plant tomatoes in the garden",
                            "weather forecasts for sailing tomorrow"], k=3)
    assert [r[0][0].id for r in results] == ["p1", "p2", "p3"]
    for found in results:
        scores = [s for _, s in found]
        assert scores == sorted(scores, reverse=True)
        assert len({p.id for p, _ in found}) == 3


def test_scores_are_cosine_similarities():
    embedder = HashingEmbedder()
    index = PersonaIndex(PERSONAS, embedder)
    text = "a gardener who grows tomatoes and roses in a small garden"
    (found,) = index.search([text], k=4)
    assert found[0][0].id == "p2"
    assert found[0][1] == pytest.approx(1.0, abs=1e-5)
    expected = embedder.embed([text], kind="query") @ embedder.embed([p.persona for p in PERSONAS], "document").T
    assert sorted(s for _, s in found) == pytest.approx(sorted(expected[0].tolist()), abs=1e-6)


def test_ties_are_broken_by_library_order():
    personas = [Persona("z", "unrelated words entirely"), Persona("b", "river fishing"),
                Persona("a", "river fishing"), Persona("c", "river fishing")]
    index = PersonaIndex(personas, HashingEmbedder())
    for _ in range(3):
        (found,) = index.search(["river fishing"], k=3)
        assert [p.id for p, _ in found] == ["b", "a", "c"]
    (found,) = index.search(["something with no overlap at all"], k=4)
    assert [p.id for p, _ in found] == ["z", "b", "a", "c"]  # all zero scores: library order


def test_k_larger_than_the_library():
    index = PersonaIndex(PERSONAS, HashingEmbedder())
    (found,) = index.search(["bread"], k=50)
    assert len(found) == len(PERSONAS)


def test_no_texts():
    assert PersonaIndex(PERSONAS, HashingEmbedder()).search([], k=3) == []


def test_embed_kinds_and_document_prefix():
    embedder = HashingEmbedder()
    index = PersonaIndex(PERSONAS, embedder)
    assert embedder.calls == [([p.persona for p in PERSONAS], "document")]
    long_text = "bread " * 1000
    index.search([long_text], k=1)
    texts, kind = embedder.calls[-1]
    assert kind == "query"
    assert texts == [long_text[:DOCUMENT_PREFIX_CHARS]]


def test_search_is_deterministic():
    texts = ["sourdough", "sailing in strong wind", "http database", "roses"]
    first = PersonaIndex(PERSONAS, HashingEmbedder()).search(texts, k=4)
    second = PersonaIndex(PERSONAS, HashingEmbedder()).search(texts, k=4)
    assert [[(p.id, s) for p, s in r] for r in first] == [[(p.id, s) for p, s in r] for r in second]
