"""The run folder: Parquet shards, rejects, and the manifest, each written atomically.

    OUT/generated/part-NNNNN.parquet   rows of one shard of documents, as generated
    OUT/generated/docs-NNNNN.parquet   that shard's documents (the corpus gates and mining search)
    OUT/data/train-NNNNN.parquet       the final shards (row contract, zstd)
    OUT/rejects/<step>.jsonl           every dropped item with its reason (and raw output)
    OUT/manifest.json                  counts, shards with sha256, recipe, models, tokens

Files are written to a temporary name, fsynced and renamed, so a crash never leaves a
half-written shard under its final name.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.corpus.readers import Reject
from synthgen.errors import UserError
from synthgen.run.owned_folders import claim_folder


_WRITE_ERRORS = {errno.ENOSPC: "no space left", errno.EDQUOT: "disk quota exceeded", errno.EROFS: "read-only",
                 errno.EACCES: "permission denied", errno.EPERM: "not permitted", errno.EFBIG: "file too large"}


@contextlib.contextmanager
def output_errors(root: Path) -> Iterator[None]:
    """Turn a full, read-only or forbidden output folder into one line (UserError)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:
            raise
        where = exc.filename or root
        raise UserError(f"cannot write to {where}: {_WRITE_ERRORS[exc.errno]} ({exc.strerror}); what was committed "
                        f"is kept: free space or fix the folder, then rerun the same command to resume") from None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_parquet(path: Path, table: pa.Table) -> dict[str, Any]:
    """Write `table` atomically as zstd Parquet; return its shard entry for the manifest."""
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return {"path": path.name, "rows": table.num_rows, "sha256": file_sha256(path)}


def replace_folder(new: Path, target: Path) -> None:
    """Put the completed folder `new` in `target`'s place, so that `target` is never missing
    and never half old, half new: on Linux both are exchanged in one `renameat2` call
    (RENAME_EXCHANGE), then the old contents are deleted; where that is not available, the
    old folder is renamed aside just before the new one takes its name."""
    if target.exists() and _exchange(new, target):
        shutil.rmtree(new)
        return
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def documents_table(documents: list[Any]) -> pa.Table:
    """A shard's documents (id, text, language, truncated) as a table."""
    return pa.table({"id": [d.id for d in documents], "text": [d.text for d in documents],
                     "language": [d.language for d in documents],
                     "truncated": [bool(getattr(d, "truncated", False)) for d in documents]},
                    schema=pa.schema([("id", pa.string()), ("text", pa.string()), ("language", pa.string()),
                                      ("truncated", pa.bool_())]))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# What else a run writes besides generated/, data/ and rejects/: `--overwrite` deletes these too.
RUN_SUBFOLDERS = ("report", "logs", "hub", "eval", "judge", ".data.tmp", ".data.old", ".rejects.tmp", ".ray-work")
RUN_FILES = ("manifest.json", "state.json")


def count_values(tables: Iterable[pa.Table | pa.RecordBatch], columns: Sequence[str]) -> dict[str, dict[str, int]]:
    """Rows per value of each of `columns` over `tables`, values in sorted order (a null
    counts as ""): the manifest's `counts_by`, and a finished run's counts where an older
    manifest lacks them."""
    counts: dict[str, dict[str, int]] = {column: {} for column in columns}
    for table in tables:
        for column in columns:
            found = counts[column]
            for entry in table.column(column).value_counts().to_pylist():
                key = entry["values"] if entry["values"] is not None else ""
                found[key] = found.get(key, 0) + entry["counts"]
    return {column: dict(sorted(found.items())) for column, found in counts.items()}


class RunFolder:
    """Paths of one run's output folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.generated = self.root / "generated"
        self.data = self.root / "data"
        self.rejects = self.root / "rejects"
        self.manifest = self.root / "manifest.json"

    def holds_run(self) -> bool:
        """A manifest or generated files: an earlier run (empty folders are not one)."""
        return self.manifest.exists() or (self.generated.is_dir() and any(self.generated.iterdir()))

    def create(self, overwrite: bool, resume: bool = False, option: str = "--out") -> None:
        """Make the folders. A folder synthgen did not mark as a run is refused untouched
        (`synthgen/run/owned_folders.py`); an earlier run is resumed (`resume`), replaced
        (`overwrite`: only what a run writes is deleted), or refused."""
        claim_folder(self.root, "run", option)
        if self.holds_run() and not resume:
            if not overwrite:
                raise UserError(f"output folder {self.root} already holds a run: pass --overwrite "
                                "to replace it, or choose another --out")
            for sub in (*(self.root / name for name in RUN_SUBFOLDERS), self.generated, self.data, self.rejects):
                shutil.rmtree(sub, ignore_errors=True)
            for name in RUN_FILES:
                (self.root / name).unlink(missing_ok=True)
        try:
            for sub in (self.generated, self.data, self.rejects):
                sub.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create output folder {self.root}: {exc.strerror}") from None

    def part_path(self, shard: int) -> Path:
        return self.generated / f"part-{shard:05d}.parquet"

    def parts(self) -> list[Path]:
        return sorted(self.generated.glob("part-*.parquet"))

    def document_part_path(self, shard: int) -> Path:
        return self.generated / f"docs-{shard:05d}.parquet"

    def document_parts(self) -> list[Path]:
        return sorted(self.generated.glob("docs-*.parquet"))

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_bytes(self.manifest, orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


class RejectLog:
    """Appends rejects as JSON lines to `rejects/<step>.jsonl` and counts them by reason.

    `commit()` fsyncs what was written and returns each file's length; `rewind(lengths)`
    cuts the files back to such a commit (resumed runs: a shard that died half-way leaves
    no rejects behind).
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.counts: dict[str, int] = {}

    def commit(self) -> dict[str, int]:
        lengths = {}
        for path in sorted(self.folder.glob("*.jsonl")):
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
            lengths[path.name] = path.stat().st_size
        return lengths

    def rewind(self, lengths: dict[str, int], counts: dict[str, int]) -> None:
        for path in self.folder.glob("*.jsonl"):
            if path.name not in lengths:
                path.unlink()
            elif path.stat().st_size > lengths[path.name]:
                os.truncate(path, lengths[path.name])
        self.counts = dict(counts)

    def write(self, rejects: Iterable[Reject]) -> None:
        by_file: dict[str, list[bytes]] = {}
        for reject in rejects:
            key = f"{reject.step}/{reject.reason}"
            self.counts[key] = self.counts.get(key, 0) + 1
            name = reject.step.replace("/", "-") + ".jsonl"
            by_file.setdefault(name, []).append(orjson.dumps(reject.to_dict(), default=str))
        for name, lines in by_file.items():
            with (self.folder / name).open("ab") as handle:
                handle.write(b"\n".join(lines) + b"\n")


class ShardWriter:
    """Collects final rows and writes `data/train-NNNNN.parquet` every `rows_per_file` rows."""

    def __init__(self, folder: Path, rows_per_file: int):
        self.folder = folder
        self.rows_per_file = rows_per_file
        self.shards: list[dict[str, Any]] = []
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def add(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._pending_rows += table.num_rows
        while self._pending_rows >= self.rows_per_file:
            merged = pa.concat_tables(self._pending)
            self._flush(merged.slice(0, self.rows_per_file))
            rest = merged.slice(self.rows_per_file)
            self._pending, self._pending_rows = [rest], rest.num_rows

    def close(self) -> list[dict[str, Any]]:
        if self._pending_rows:
            self._flush(pa.concat_tables(self._pending))
        self._pending, self._pending_rows = [], 0
        return self.shards

    def _flush(self, table: pa.Table) -> None:
        path = self.folder / f"train-{len(self.shards):05d}.parquet"
        self.shards.append(write_parquet(path, table))

