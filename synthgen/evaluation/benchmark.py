"""A labeled retrieval benchmark: documents, queries, and which documents answer which query.

`load_benchmark(path)` reads a folder in one of three layouts:

- BEIR (Thakur et al. 2021), as its downloads unpack: `corpus.jsonl` ({"_id", "title",
  "text"}; a title is put before the text, as BEIR's evaluation does), `queries.jsonl`
  ({"_id", "text"}) and `qrels/test.tsv` (tab-separated `query-id corpus-id score`, with a
  header line).
- JSONL: `corpus.jsonl` ({"id", "text"}), `queries.jsonl` ({"id", "text"}) and
  `qrels.jsonl` ({"query_id", "doc_id", "score"}).
- datasets: a `DatasetDict` written by `save_to_disk` whose splits are `corpus`,
  `queries` and `qrels`, with the columns of the JSONL layout.

A query may carry a `language` (an ISO 639-1 code, any string): scores are then given per
query language too. Only queries with at least one relevant document (qrels score > 0)
are evaluated; BEIR's `queries.jsonl` lists every split's queries and the qrels choose the
test ones. Anything else amiss (a missing file or field, a duplicate id, a qrels line
naming a query or document that is not there, nothing to evaluate) stops with one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

from synthgen.errors import UserError

FORMATS = ("beir", "jsonl", "datasets")
BEIR_QRELS = Path("qrels") / "test.tsv"
_SPLITS = ("corpus", "queries", "qrels")


@dataclass(frozen=True)
class Benchmark:
    """A loaded benchmark. `qrels`: query id -> {doc id: relevance}, only for the queries
    evaluated (in `query_ids`); `query_languages`: "" where a query has none."""

    name: str
    path: Path
    format: str
    corpus_ids: list[str]
    corpus_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    query_languages: list[str]
    qrels: dict[str, dict[str, float]]

    @property
    def languages(self) -> list[str]:
        return sorted({language for language in self.query_languages if language})

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "format": self.format,
                "documents": len(self.corpus_ids), "queries": len(self.query_ids), "languages": self.languages}


def load_benchmark(path: str | Path) -> Benchmark:
    """Read the benchmark folder `path` (BEIR, JSONL or datasets layout, told apart by
    `qrels/`, `qrels.jsonl` or `dataset_dict.json`)."""
    root = Path(path)
    if not root.exists():
        raise UserError(f"--benchmark {root}: no such folder: give a benchmark folder (BEIR, JSONL or datasets)")
    if not root.is_dir():
        raise UserError(f"--benchmark {root}: is a file; give the folder that holds corpus, queries and qrels")
    if (root / "dataset_dict.json").is_file():
        corpus, queries, qrels = _read_datasets(root)
        fmt = "datasets"
    elif (root / "qrels").is_dir():
        corpus = [_record(r, where, ("_id", "text"), ("title",)) for r, where in _jsonl(root / "corpus.jsonl")]
        corpus = [{"id": r["_id"], "text": _titled(r)} for r in corpus]
        queries = [_record(r, where, ("_id", "text"), ("language",)) for r, where in _jsonl(root / "queries.jsonl")]
        queries = [{"id": r["_id"], "text": r["text"], "language": r.get("language")} for r in queries]
        qrels = list(_beir_qrels(root / BEIR_QRELS))
        fmt = "beir"
    elif (root / "qrels.jsonl").is_file():
        corpus = [_record(r, where, ("id", "text"), ("language",)) for r, where in _jsonl(root / "corpus.jsonl")]
        queries = [_record(r, where, ("id", "text"), ("language",)) for r, where in _jsonl(root / "queries.jsonl")]
        qrels = [_qrel(r, where) for r, where in _jsonl(root / "qrels.jsonl")]
        fmt = "jsonl"
    else:
        raise UserError(f"--benchmark {root}: holds neither qrels/test.tsv (BEIR), qrels.jsonl (JSONL) nor "
                        "dataset_dict.json (datasets save_to_disk): see `synthgen eval --help` for the layouts")
    return _assemble(root, fmt, corpus, queries, qrels)


def _assemble(root: Path, fmt: str, corpus: list[dict], queries: list[dict],
              qrels: list[tuple[str, str, float, str]]) -> Benchmark:
    for what, records in (("corpus", corpus), ("queries", queries), ("qrels", qrels)):
        if not records:
            raise UserError(f"--benchmark {root}: the {what} is empty: a benchmark needs documents, queries "
                            "and qrels")
    documents = _unique(root, "corpus", [r["id"] for r in corpus])
    query_ids = _unique(root, "queries", [r["id"] for r in queries])
    judged: dict[str, dict[str, float]] = {}
    for query, doc, score, where in qrels:
        if query not in query_ids:
            raise UserError(f"{where}: query id {query!r} is not in the queries: every qrels query id must be "
                            "a query's id (fix the qrels or add the query)")
        if doc not in documents:
            raise UserError(f"{where}: document id {doc!r} is not in the corpus: every qrels document id must "
                            "be a corpus id (fix the qrels or add the document)")
        judged.setdefault(query, {})[doc] = score
    evaluated = [r for r in queries if any(s > 0 for s in judged.get(r["id"], {}).values())]
    if not evaluated:
        raise UserError(f"--benchmark {root}: no query has a relevant document (a qrels score > 0): "
                        "nothing to evaluate")
    return Benchmark(name=root.resolve().name, path=root, format=fmt,
                     corpus_ids=[r["id"] for r in corpus], corpus_texts=[r["text"] for r in corpus],
                     query_ids=[r["id"] for r in evaluated], query_texts=[r["text"] for r in evaluated],
                     query_languages=[str(r.get("language") or "") for r in evaluated],
                     qrels={r["id"]: judged[r["id"]] for r in evaluated})


def _unique(root: Path, what: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for id_ in ids:
        if id_ in seen:
            raise UserError(f"--benchmark {root}: the {what} holds id {id_!r} twice: ids must be unique")
        seen.add(id_)
    return seen


def _jsonl(path: Path) -> Iterator[tuple[Any, str]]:
    """(parsed line, "path line N") for each non-blank line of `path`."""
    if not path.is_file():
        raise UserError(f"--benchmark {path.parent}: {path.name} is missing (the layout needs corpus, queries "
                        "and qrels files; see `synthgen eval --help`)")
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path} line {number}"
            try:
                yield orjson.loads(line), where
            except orjson.JSONDecodeError as exc:
                raise UserError(f"{where}: not valid JSON ({exc}): one JSON object per line") from None


def _record(record: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...]) -> dict:
    """The record's fields as strings (ids may be numbers); a missing field stops."""
    if not isinstance(record, dict):
        raise UserError(f"{where}: must be a JSON object, got {type(record).__name__}")
    for field in required:
        if record.get(field) is None:
            raise UserError(f"{where}: lacks the field {field!r} (needs {', '.join(required)})")
    return {field: str(record[field]) for field in (*required, *optional) if record.get(field) is not None}


def _titled(record: dict) -> str:
    title = record.get("title", "").strip()
    return f"{title} {record['text']}" if title else record["text"]


def _qrel(record: Any, where: str) -> tuple[str, str, float, str]:
    fields = _record(record, where, ("query_id", "doc_id", "score"), ())
    return fields["query_id"], fields["doc_id"], _score(fields["score"], where), where


def _score(value: str, where: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise UserError(f"{where}: score must be a number, got {value!r}") from None


def _beir_qrels(path: Path) -> Iterator[tuple[str, str, float, str]]:
    if not path.is_file():
        found = sorted(p.name for p in path.parent.glob("*.tsv"))
        raise UserError(f"--benchmark {path.parent.parent}: {BEIR_QRELS} is missing (found: "
                        f"{', '.join(found) or 'nothing'}): the test split's qrels are evaluated")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path} line {number}"
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise UserError(f"{where}: needs 3 tab-separated fields (query-id, corpus-id, score), "
                                f"got {len(parts)}")
            if number == 1 and parts[2].strip() == "score":
                continue  # the header
            yield parts[0].strip(), parts[1].strip(), _score(parts[2].strip(), where), where


def _read_datasets(root: Path) -> tuple[list[dict], list[dict], list[tuple[str, str, float, str]]]:
    import datasets

    try:
        splits = datasets.load_from_disk(str(root))
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise UserError(f"--benchmark {root}: cannot be read by datasets.load_from_disk ({exc})") from None
    if not isinstance(splits, datasets.DatasetDict) or set(_SPLITS) - set(splits):
        have = ", ".join(splits) if isinstance(splits, datasets.DatasetDict) else "one Dataset"
        raise UserError(f"--benchmark {root}: a DatasetDict with the splits corpus, queries and qrels is "
                        f"needed, got {have}")

    def rows(split: str, required: tuple[str, ...], optional: tuple[str, ...]) -> list[tuple[dict, str]]:
        missing = [c for c in required if c not in splits[split].column_names]
        if missing:
            raise UserError(f"--benchmark {root}: the {split} split lacks the column {missing[0]!r} "
                            f"(needs {', '.join(required)})")
        return [(_record(r, f"{root} {split} row {i}", required, optional), f"{root} {split} row {i}")
                for i, r in enumerate(splits[split])]

    corpus = [r for r, _ in rows("corpus", ("id", "text"), ("language",))]
    queries = [r for r, _ in rows("queries", ("id", "text"), ("language",))]
    qrels = [(r["query_id"], r["doc_id"], _score(r["score"], where), where)
             for r, where in rows("qrels", ("query_id", "doc_id", "score"), ())]
    return corpus, queries, qrels
