"""The no-LLM baseline: inverse cloze pairs cut from the run's own documents.

The inverse cloze task (Lee et al. 2019, ORQA) takes a document's first sentence as a
pseudo-query and the rest of it as its positive (synthgen/tasks/inverse_cloze.py says exactly
how, and which documents give no pair). Promptagator (Dai et al. 2022) and the Qwen3
Embedding report (arXiv 2506.05176) judge LLM-written queries by whether they train a
better retriever than such cheap pairs: a synthgen run should beat this baseline made
from the same documents, and in the design notes' measurement the two mixed beat either
alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pyarrow.parquet as pq

from synthgen.corpus.readers import Document
from synthgen.errors import UserError
from synthgen.run.output import RunFolder
from synthgen.tasks.inverse_cloze import inverse_cloze_pair

@dataclass
class InverseCloze:
    """Pairs as training rows ({"anchor", "positive", "source_id", "language"}) and the
    documents skipped, by reason."""

    rows: list[dict[str, str]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def inverse_cloze(documents: Iterable[Document]) -> InverseCloze:
    """One inverse cloze pair per document that leaves enough text (see the module doc)."""
    result = InverseCloze()
    for document in documents:
        pair = inverse_cloze_pair(document.text, document.language)
        if isinstance(pair, str):
            result.skipped[pair] = result.skipped.get(pair, 0) + 1
        else:
            result.rows.append({"anchor": pair[0], "positive": pair[1], "source_id": document.id,
                                "language": document.language})
    result.skipped = dict(sorted(result.skipped.items()))
    return result


def run_documents(run_dir: str | Path) -> list[Document]:
    """The run's documents (`generated/docs-*.parquet`), each id once, in shard order."""
    folder = RunFolder(run_dir)
    paths = folder.document_parts()
    if not paths:
        raise UserError(f"{folder.generated} holds no docs-*.parquet: the inverse cloze baseline is made from "
                        "the run's documents (rerun `synthgen run RECIPE --out RUN` with this synthgen)")
    seen: set[str] = set()
    documents = []
    for path in paths:
        for row in pq.read_table(path, columns=["id", "text", "language"]).to_pylist():
            if row["id"] not in seen:
                seen.add(row["id"])
                documents.append(Document(row["id"], row["text"] or "", row["language"] or ""))
    return documents
