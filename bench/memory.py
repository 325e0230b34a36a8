"""Memory of a run's host-side steps: peak RSS of the finalize step over N synthetic rows.

    .venv/bin/python -m bench.memory 10000 100000 1000000

For each size a synthetic run folder is written (`generated/part-*.parquet` of 10,000 rows
each and the documents beside them, `docs-*.parquet`, through `synthgen.run.output`), then a
fresh process imports synthgen, notes its RSS (the baseline: interpreter and imports), runs
`synthgen.run.finalize.Finalizer` over the folder (exact dedup and near-dup over all rows; per
part leakage, cosine and hard-negative mining; `data/` and `rejects/` written) and reports
its peak RSS (VmHWM) and wall time.

Model memory is left out by design: the embedder is `HashingEmbedder`, a bag of words hashed
into 384 dimensions (no model, deterministic; cosine = shared words), so the figure is
synthgen's own. The corpus has `docs` documents at every size (10,000 by default: 1, 10 and
100 queries per document at 10k, 100k and 1M rows), so growth comes from rows alone. The
language gate is off: lingua needs ~0.5-1 ms per query on this CPU (minutes at 1M rows; its
rate is in the host-side figures) and ~0.9 GB for its models, a constant. The cosine gate's
threshold is 0.1, suited to the hashing embedder, so most rows reach mining and `data/`.

Rows: queries mix a document's words with common query words; 4% repeat an earlier query
(exact dedup), 4% are small edits of one (near-dup), 4% paste 12+ consecutive words of their
document (leakage).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

PART_ROWS = 10_000
FILLER = ("how", "what", "why", "best", "guide", "history", "compare", "explain", "cost", "near", "today",
          "vs", "steps", "for", "beginners", "in", "winter", "is", "it", "safe", "to", "the", "a", "of")
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "da", "gu", "ri", "fo", "ba", "ze", "ty",
             "an", "el", "or", "is", "um", "ex", "al", "on")


class HashingEmbedder:
    """Bag-of-words vectors: each lowercased word adds +-1 to one of `dim` coordinates (crc32),
    then rows are L2-normalized. No model; texts sharing words get a high cosine."""

    model_id = "bench-hashing-384"

    def __init__(self, dim: int = 384):
        self.dim = dim

    def embed(self, texts, kind):
        rows, codes = [], []
        for i, text in enumerate(texts):
            words = text.lower().split()
            rows.extend([i] * len(words))
            codes.extend(zlib.crc32(w.encode()) for w in words)
        codes_array = np.asarray(codes, dtype=np.int64)
        cells = np.asarray(rows, dtype=np.int64) * self.dim + codes_array % self.dim
        signs = np.where(codes_array & (1 << 20), 1.0, -1.0)
        vectors = np.bincount(cells, weights=signs, minlength=len(texts) * self.dim).reshape(len(texts), self.dim)
        vectors = vectors.astype(np.float32)
        vectors[:, 0] += 1e-3  # no zero rows
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def bench_recipe():
    from synthgen.config.loader import build_recipe

    return build_recipe({"name": "bench-memory", "seed": 7, "corpus": [{"path": "synthetic"}],
                         "tasks": {"retrieval": {}},
                         "gates": {"language": {"enabled": False}, "cosine": {"min_score": 0.1}},
                         "embedder": {"model": "bench-hashing-384"}})


def _vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    words = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size * 2)}
    return sorted(words)[:size]


def _query(rng: random.Random, words: list[str], earlier: list[str]) -> str:
    kind = rng.random()
    if kind < 0.04 and earlier:
        return rng.choice(earlier)
    if kind < 0.08 and earlier:  # a small edit: a word dropped or added
        parts = rng.choice(earlier).split()
        if len(parts) > 4 and rng.random() < 0.5:
            del parts[rng.randrange(len(parts))]
        else:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(FILLER))
        return " ".join(parts)
    if kind < 0.12:
        start = rng.randrange(max(1, len(words) - 14))
        return " ".join(words[start:start + 14])
    picked = rng.sample(words, min(len(words), rng.randint(3, 7))) + rng.sample(FILLER, rng.randint(2, 5))
    rng.shuffle(picked)
    return " ".join(picked)


def build_run(root: Path, rows: int, docs: int = 10_000, seed: int = 0) -> dict:
    """A run folder holding `rows` generated retrieval rows over `docs` documents, in parts of
    `PART_ROWS` rows (the documents of a part beside it). Returns sizes."""
    import pyarrow as pa

    from synthgen.corpus.readers import Document
    from synthgen.run.output import RunFolder, documents_table, write_parquet
    from synthgen.generation.rows import ROW_SCHEMA, row_id

    rng = random.Random(seed)
    vocabulary = _vocabulary(rng)
    folder = RunFolder(root)
    folder.create(overwrite=True)
    parts = max(1, -(-rows // PART_ROWS))
    per_doc, docs_per_part = max(1, rows // docs), max(1, docs // parts)
    earlier: list[str] = []
    written = 0
    for part in range(parts):
        documents = []
        for d in range(part * docs_per_part, (part + 1) * docs_per_part):
            text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(60, 120))).capitalize() + "."
            documents.append(Document(f"doc-{d:07d}", text, "en"))
        columns: dict[str, list] = {field.name: [] for field in ROW_SCHEMA}
        count = min(PART_ROWS, rows - written)
        for k in range(count):
            document, variant = documents[k % len(documents)], k // len(documents)
            query = _query(rng, document.text.rstrip(".").lower().split(), earlier)
            earlier = earlier[-5000:] if len(earlier) > 10_000 else earlier
            earlier.append(query)
            values = {"id": row_id("bench-memory", "retrieval", document.id, variant, 7), "task": "retrieval",
                      "instruction": "Given a web search query, retrieve relevant passages that answer the query",
                      "query": query, "positive": document.text, "negatives": [], "positive_score": None,
                      "negative_scores": [], "query_language": "en", "document_language": "en",
                      "persona": "a curious reader", "query_type": "keywords", "difficulty": "university",
                      "label": None, "misleading_label": None, "similarity_positive": None,
                      "similarity_negative": None, "source_id": document.id, "generator": "bench",
                      "embedder": "bench-hashing-384"}
            for name in columns:  # a column the contract added later (group, judge scores, ...) is null
                columns[name].append(values.get(name))
        write_parquet(folder.document_part_path(part), documents_table(documents))
        write_parquet(folder.part_path(part), pa.Table.from_pydict(columns, schema=ROW_SCHEMA))
        written += count
    return {"rows": written, "documents": parts * docs_per_part, "parts": parts, "rows_per_document": per_doc}


def rss_mib(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(root: Path) -> dict:
    """In a fresh process: baseline RSS after imports, then the finalize step, then peak RSS."""
    from synthgen.run.finalize import Finalizer
    from synthgen.run.output import RunFolder

    recipe = bench_recipe()
    baseline = rss_mib()
    started = time.perf_counter()
    report = Finalizer(RunFolder(root), recipe, HashingEmbedder()).run()
    seconds = time.perf_counter() - started
    return {"baseline_rss_mib": baseline, "peak_rss_mib": rss_mib("VmHWM"), "seconds": seconds,
            "rows_in": report.rows_in, "rows_out": report.rows_out, "removals": report.removals}


def measure(rows: int, docs: int = 10_000, scratch: Path | None = None, seed: int = 0) -> dict:
    """Build a run of `rows` rows, finalize it in a fresh process; its RSS figures."""
    with tempfile.TemporaryDirectory(prefix="bench-memory-", dir=scratch) as tmp:
        root = Path(tmp) / "run"
        started = time.perf_counter()
        sizes = build_run(root, rows, docs, seed)
        build_seconds = time.perf_counter() - started
        done = subprocess.run([sys.executable, "-m", "bench.memory", "--worker", str(root)], capture_output=True,
                              text=True, cwd=Path(__file__).resolve().parent.parent)
        if done.returncode:
            raise RuntimeError(f"memory worker failed on {rows:,} rows:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        shutil.rmtree(root, ignore_errors=True)
    result.update(sizes, build_seconds=build_seconds, growth_mib=result["peak_rss_mib"] - result["baseline_rss_mib"])
    return result


def run(sizes: list[int], docs: int = 10_000) -> dict:
    results = [measure(n, docs) for n in sizes]
    return {"sizes": sizes, "documents": docs, "embedder": HashingEmbedder.model_id, "language_gate": "off",
            "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return
    for size in args.sizes:
        print(json.dumps(measure(size, args.docs)), flush=True)


if __name__ == "__main__":
    main()
