"""Corpus readers: JSONL, Parquet, a folder of text files, a saved `datasets` dataset, and
a source tree cut into code units (format "code", see `synthgen.corpus.code_units`).

Every reader yields raw records; `read_corpus` turns each into a `Document` or a `Reject`
with its reason (no_text, empty_text, undecodable, invalid_json, too_short, too_long,
duplicate_id, language_undetermined; for code also syntax_error and unreadable, with the
file's path as id). Code units keep their programming language ("python", "go", ...) as
`Document.language` and skip natural-language detection. Nothing is dropped silently and
bad rows never crash the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson
import pyarrow as pa

from synthgen.corpus.code_units import CodeUnit, read_code_units
from synthgen.errors import UserError
from synthgen.config.languages import UNDETERMINED, normalize_code
from synthgen.corpus.language_id import detect_language
from synthgen.config.sources import CorpusConfig


@dataclass(frozen=True)
class Document:
    """A corpus document. `truncated`: its text was cut to fit the generator's context."""

    id: str
    text: str
    language: str
    truncated: bool = False


@dataclass(frozen=True)
class Reject:
    """A dropped item: which step dropped it, why, and what it was."""

    step: str
    reason: str
    source_id: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "reason": self.reason, "source_id": self.source_id, **self.detail}


@dataclass(frozen=True)
class _Record:
    """What a reader found: an id, the text (str, bytes or None), a language, or a reason
    (with an optional detail)."""

    id: str
    text: Any
    language: str | None = None
    error: str = ""
    detail: str = ""


def read_corpus(config: CorpusConfig, path: Path) -> Iterator[Document | Reject]:
    """Documents of the corpus at `path`, in a stable order, with rejects in between."""
    yield from without_duplicate_ids(_to_document(record, config) for record in _records(config, path))


def without_duplicate_ids(items: Iterable[Document | Reject], seen: set[str] | None = None
                          ) -> Iterator[Document | Reject]:
    """`items`, with each document whose id came before turned into a `duplicate_id`
    reject: the first wins. `seen` (the ids taken so far) carries over to another call,
    to keep ids unique across several corpora."""
    seen = set() if seen is None else seen
    for item in items:
        if isinstance(item, Document):
            if item.id in seen:
                item = Reject("corpus", "duplicate_id", item.id)
            else:
                seen.add(item.id)
        yield item


def detect_format(path: Path) -> str:
    if path.is_dir():
        if (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file():
            return "hf_dataset"
        if any(path.glob("*.parquet")):
            return "parquet"
        return "text_dir"
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix == ".parquet":
        return "parquet"
    raise UserError(f"corpus.path: cannot tell the format of {path}: set corpus.format "
                    "to jsonl, parquet, text_dir or hf_dataset")


def corpus_format(config: CorpusConfig, path: Path) -> str:
    """The corpus format: the recipe's, or guessed from the path (which must exist)."""
    if not path.exists():
        raise UserError(f"corpus.path: {path} does not exist (check the path in the recipe)")
    return detect_format(path) if config.format == "auto" else config.format


def _records(config: CorpusConfig, path: Path) -> Iterator[_Record]:
    fmt = corpus_format(config, path)
    readers = {"jsonl": _read_jsonl, "parquet": _read_parquet, "text_dir": _read_text_dir,
               "hf_dataset": _read_hf_dataset, "code": _read_code}
    return readers[fmt](config, path)


def _read_jsonl(config: CorpusConfig, path: Path) -> Iterator[_Record]:
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            fallback_id = f"{path.stem}:{line_no}"
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)  # orjson rejects invalid UTF-8 as well as bad JSON
            except orjson.JSONDecodeError as exc:
                reason = "undecodable" if "utf-8" in str(exc).lower() else "invalid_json"
                yield _Record(fallback_id, None, error=reason)
                continue
            if not isinstance(obj, dict):
                yield _Record(fallback_id, None, error="invalid_json")
                continue
            yield _from_mapping(obj, config, fallback_id)


def _read_parquet(config: CorpusConfig, path: Path) -> Iterator[_Record]:
    import pyarrow.parquet as pq

    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    for file in files:
        try:
            parquet = pq.ParquetFile(file)
            columns = [c for c in (config.id_column, config.text_column, config.language_column)
                       if c and c in parquet.schema_arrow.names]
            row_no = 0
            for batch in parquet.iter_batches(batch_size=1024, columns=columns):
                for obj in _as_binary_text(batch, config.text_column).to_pylist():
                    row_no += 1
                    yield _from_mapping(obj, config, f"{file.stem}:{row_no}")
        except (OSError, pa.ArrowException) as exc:  # ArrowInvalid on a corrupt or truncated file
            raise UserError(f"corpus: {file} is not a readable Parquet file ({exc})") from None


def _as_binary_text(batch: pa.RecordBatch, column: str) -> pa.RecordBatch:
    """View the text column as bytes, so invalid UTF-8 becomes a per-row reject
    (`undecodable`) instead of an error for the whole batch."""
    if column not in batch.schema.names or not pa.types.is_string(batch.schema.field(column).type):
        return batch
    index = batch.schema.get_field_index(column)
    return batch.set_column(index, column, batch.column(index).view(pa.binary()))


def _read_text_dir(config: CorpusConfig, path: Path) -> Iterator[_Record]:
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        yield _Record(file.relative_to(path).as_posix(), file.read_bytes())


def _read_code(config: CorpusConfig, path: Path) -> Iterator[_Record]:
    for item in read_code_units(path, config.code_languages):
        if isinstance(item, CodeUnit):
            yield _Record(item.id, item.text, item.language)
        else:
            yield _Record(item.id, None, error=item.reason, detail=item.detail)


def _load_hf_dataset(path: Path):
    """A `save_to_disk` folder as one Dataset: its "train" split, else its first split."""
    import datasets

    data = datasets.load_from_disk(str(path))
    if isinstance(data, datasets.DatasetDict):
        data = data["train" if "train" in data else sorted(data)[0]]
    return data


def _read_hf_dataset(config: CorpusConfig, path: Path) -> Iterator[_Record]:
    for row_no, obj in enumerate(_load_hf_dataset(path), start=1):
        yield _from_mapping(obj, config, f"row:{row_no}")


def _from_mapping(obj: dict[str, Any], config: CorpusConfig, fallback_id: str) -> _Record:
    raw_id = obj.get(config.id_column) if config.id_column else None
    doc_id = fallback_id if raw_id is None or raw_id == "" else str(raw_id)
    if config.text_column not in obj or obj[config.text_column] is None:
        return _Record(doc_id, None, error="no_text")
    language = obj.get(config.language_column) if config.language_column else None
    return _Record(doc_id, obj[config.text_column], language if isinstance(language, str) else None)


def _to_document(record: _Record, config: CorpusConfig) -> Document | Reject:
    if record.error:
        return Reject("corpus", record.error, record.id, {"detail": record.detail} if record.detail else {})
    text = record.text
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Reject("corpus", "undecodable", record.id, {"detail": str(exc)[:200]})
    if not isinstance(text, str):
        return Reject("corpus", "no_text", record.id, {"detail": f"text is {type(text).__name__}"})
    text = text.strip()
    if not text:
        return Reject("corpus", "empty_text", record.id)
    if len(text) < config.min_chars:
        return Reject("corpus", "too_short", record.id, {"chars": len(text)})
    if len(text) > config.max_chars:
        return Reject("corpus", "too_long", record.id, {"chars": len(text), "max_chars": config.max_chars})
    if config.format == "code":  # the programming language, no natural-language detection
        return Document(record.id, text, record.language)
    language = normalize_code(record.language) if record.language else UNDETERMINED
    if language == UNDETERMINED:
        language = detect_language(text)
    if language == UNDETERMINED:
        return Reject("corpus", "language_undetermined", record.id, {"text": text[:200]})
    return Document(record.id, text, language)


def count_records(config: CorpusConfig, path: Path) -> int:
    """How many records the corpus holds, read cheaply (for progress and ETA)."""
    fmt = corpus_format(config, path)
    if fmt == "jsonl":
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    if fmt == "parquet":

        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        return sum(_parquet_rows(f) for f in files)
    if fmt == "text_dir":
        return sum(1 for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    if fmt == "code":  # parses the files once more: units are only known after parsing
        return sum(1 for _ in read_code_units(path, config.code_languages))
    return len(_load_hf_dataset(path))


def _parquet_rows(file: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(file).metadata.num_rows
    except (OSError, pa.ArrowException) as exc:
        raise UserError(f"corpus: {file} is not a readable Parquet file ({exc})") from None
