"""Persona libraries and persona retrieval.

The Qwen3 Embedding report (arXiv 2506.05176) retrieves, for each document, the top-5
personas ("Characters") from a Persona-Hub-style library with a retrieval model; stage 1
of the synthesis then picks the one most likely to search for the document. A library is a
JSONL file of `{"id", "persona", "domains"}` objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import orjson

from synthgen.errors import UserError
from synthgen.config.package_data import package_data_dir

# Documents are embedded from their start: enough to know the topic, cheap on long texts.
DOCUMENT_PREFIX_CHARS = 2000


@dataclass(frozen=True)
class Persona:
    id: str
    persona: str
    domains: tuple[str, ...] = ()


# The built-in libraries (`builtin:<name>`), shipped inside the package (synthgen.config.package_data).
PERSONAS_DIR = package_data_dir("_personas")


def library_path(name: str) -> Path:
    """`builtin:core` -> the `core.jsonl` that ships with synthgen; anything else is a file path."""
    if name.startswith("builtin:"):
        return PERSONAS_DIR / f"{name.removeprefix('builtin:')}.jsonl"
    return Path(name).expanduser()


def load_personas(libraries: Sequence[str]) -> list[Persona]:
    """All personas of the given libraries, in file order; ids must be unique."""
    personas: list[Persona] = []
    seen: set[str] = set()
    for path in map(library_path, libraries):
        if not path.is_file():
            raise UserError(f"personas.libraries: {path} does not exist (list JSONL persona files)")
        for line_no, line in enumerate(path.read_bytes().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
                persona = Persona(str(obj["id"]), str(obj["persona"]).strip(), tuple(obj.get("domains", ())))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise UserError(f"personas: {path}:{line_no}: each line must be JSON with 'id' and "
                                "'persona'") from None
            if persona.id in seen:
                raise UserError(f"personas: {path}:{line_no}: duplicate persona id {persona.id!r}")
            seen.add(persona.id)
            personas.append(persona)
    if not personas:
        raise UserError("personas: the persona libraries are empty")
    return personas


class TextEmbedder(Protocol):
    """What the search needs of an embedder: `synthgen/engines/base.py`'s `Embedder` has it
    (personas sit below engines, so they name the method, not the engines' class)."""

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        ...


class PersonaIndex:
    """Exact top-k search of personas for documents by cosine similarity."""

    def __init__(self, personas: Sequence[Persona], embedder: TextEmbedder):
        self.personas = list(personas)
        self.embedder = embedder
        self._vectors = embedder.embed([p.persona for p in self.personas], kind="document")

    def search(self, texts: Sequence[str], k: int) -> list[list[tuple[Persona, float]]]:
        """For each text, the k most similar personas with their scores, best first.

        Ties are broken by library order, so the result is deterministic.
        """
        if not texts:
            return []
        k = min(k, len(self.personas))
        queries = self.embedder.embed([t[:DOCUMENT_PREFIX_CHARS] for t in texts], kind="query")
        scores = queries @ self._vectors.T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return [[(self.personas[j], float(scores[i, j])) for j in row] for i, row in enumerate(order)]
