"""A small corpus and recipe for pipeline tests on the fake engines (tests/unit/fakes.py)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq
from fakes import WORDS

from synthgen.config.loader import build_recipe

def write_corpus(path: Path) -> Path:
    lines = [{"id": f"doc-{i}", "text": f"Document {i} talks about {WORDS[i % 18]} and {WORDS[(i * 5) % 18]} "
              "in plain English sentences for the resume test.", "language": "en"} for i in range(14)]
    lines.insert(5, {"id": "broken"})  # a corpus reject between shards
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    return path


def recipe(corpus: Path, **changes):
    data = {"name": "resume", "seed": 3, "queries_per_document": 2, "corpus": [{"path": str(corpus)}],
            "tasks": {"retrieval": {"weight": 1.0, "type_and_difficulty": "sample"},
                      "classification": {"weight": 1.0, "brainstorm": 2}},
            "gates": {"cosine": {"enabled": False}, "language": {"enabled": False}},
            "mining": {"min_negatives": 0}, "run": {"shard_size": 4}}
    data.update(changes)
    return build_recipe(data)


def snapshot(out: Path) -> dict:
    rows = sorted((r for p in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(p).to_pylist()),
                  key=lambda r: r["id"])
    rejects = {p.name: sorted(p.read_bytes().splitlines()) for p in sorted((out / "rejects").glob("*.jsonl"))}
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    return {"rows": rows, "rejects": rejects, "counts": manifest["counts"], "removals": manifest["removals"],
            "brainstorm": manifest["brainstorm"], "requests": {k: v["requests"] for k, v in manifest["stages"].items()}}
