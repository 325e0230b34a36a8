"""synthgen.run.pipeline on the fake engines: what the driver asks of the generator, the
executor and the corpora (token limits per corpus, ids unique across corpora)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq
from fakes import WORDS, HashEmbedder, SeededEngine

from synthgen.config.loader import build_recipe
from synthgen.run.pipeline import Pipeline


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return path


def doc(id_: str, words: int = 12) -> dict:
    return {"id": id_, "text": " ".join((WORDS * 60)[:words]) + f" ({id_})", "language": "en"}


def recipe(*corpora: dict, **changes):
    data = {"name": "pipeline", "seed": 5, "corpus": list(corpora),
            "tasks": {"retrieval": {"type_and_difficulty": "sample"}},
            "gates": {"cosine": {"enabled": False}, "language": {"enabled": False}},
            "mining": {"min_negatives": 0}, "run": {"shard_size": 2}}
    data.update(changes)
    return build_recipe(data)


def run(recipe_, out: Path, engine=None) -> dict:
    return Pipeline(recipe_, out, engine or SeededEngine(), HashEmbedder(), show_progress=False).run()


def test_the_generators_counters_are_the_manifests_engine_entry(tmp_path):
    class Counting(SeededEngine):
        stats = {"requests": 7, "retries": 1}

    corpus = jsonl(tmp_path / "c.jsonl", [doc(f"d{i}") for i in range(3)])
    assert run(recipe({"path": str(corpus)}), tmp_path / "counted", Counting())["engine"] == {"requests": 7,
                                                                                            "retries": 1}
    assert run(recipe({"path": str(corpus)}), tmp_path / "plain")["engine"] == {}  # Generator.stats: none


def test_each_corpus_cuts_its_own_documents_and_ids_are_unique_across_corpora(tmp_path):
    limited = jsonl(tmp_path / "a.jsonl", [doc("a0"), doc("a1"), doc("a-long", 600)])
    free = jsonl(tmp_path / "b.jsonl", [doc("b-long", 600), doc("a0"), doc("b1")])
    out = tmp_path / "out"
    manifest = run(recipe({"path": str(limited), "max_tokens": 40}, {"path": str(free)}), out)
    documents = {r["id"]: r for p in sorted((out / "generated").glob("docs-*.parquet"))
                 for r in pq.read_table(p).to_pylist()}
    assert set(documents) == {"a0", "a1", "a-long", "b-long", "b1"}
    assert documents["a-long"]["truncated"] and len(documents["a-long"]["text"]) <= 3 * 40
    assert not documents["b-long"]["truncated"]  # same shard as a-long, but its corpus sets no limit
    assert manifest["counts"]["documents_truncated"] == 1
    rejects = [orjson.loads(x) for x in (out / "rejects" / "corpus.jsonl").read_bytes().splitlines()]
    assert [(r["reason"], r["source_id"]) for r in rejects] == [("duplicate_id", "a0")]


def test_a_run_without_corpus_free_tasks_has_no_standalone_shard(tmp_path):
    corpus = jsonl(tmp_path / "c.jsonl", [doc(f"d{i}") for i in range(3)])
    run(recipe({"path": str(corpus)}), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out" / "generated").glob("part-*.parquet")) == [
        "part-00000.parquet", "part-00001.parquet"]
