"""Labels a trainer can trust, on real runs (issue 16, parts 2-5):

- the contamination check: a small test set built from the man-page run's own documents
  and queries, applied by `synthgen filter`, removes exactly the rows that overlap it, each
  with the test item it matched;
- cross-row collisions: every row has a `group`, flagged negatives name the group of the
  positive they copy, and the manifest counts them;
- the `sentence-transformers-distill` export of real rows (standard-library docstrings,
  tests/e2e/runs.py) trains all-MiniLM-L6-v2 with MarginMSELoss;
- diversity figures in the manifest, the report and its diversity plot.

The man-page run (conftest `man_run`) is shared: these tests work on copies of it.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from synthgen.engines.models import resolve_model
from synthgen.corpus.near_dup import normalize
from synthgen.corpus.text import normalize_text
from synthgen.run.ledger import audit_run
from tests.e2e.conftest import synthgen_cli
from tests.e2e.runs import make_run_folder

NGRAM = 13


def _grams(text: str) -> set[tuple[str, ...]]:
    words = normalize_text(text or "").split()
    return {tuple(words[i:i + NGRAM]) for i in range(len(words) - NGRAM + 1)}


def _shingles(text: str, n: int = 5) -> set[str]:
    text = normalize(text or "")
    return {text[i:i + n] for i in range(max(len(text) - n + 1, 1))}


def _near(text: str, others: list[str], threshold: float = 0.8) -> bool:
    """Character 5-gram Jaccard >= threshold with one of `others` (the check's MinHash default, computed exactly)."""
    mine = _shingles(text)
    return any(len(mine & theirs) / len(mine | theirs) >= threshold for theirs in map(_shingles, others))


def _generated(folder: Path) -> list[dict]:
    return [r for p in sorted((folder / "generated").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def _kept(folder: Path) -> list[dict]:
    return pq.read_table(folder / "data").to_pylist()


def _manifest(folder: Path) -> dict:
    return orjson.loads((folder / "manifest.json").read_bytes())


@pytest.fixture()
def run_copy(man_run, tmp_path) -> Path:
    return Path(shutil.copytree(man_run[0], tmp_path / "run"))


def _beir_test_set(root: Path, run: Path) -> tuple[Path, list[str], list[str]]:
    """A BEIR-layout test set from the run itself: one of its documents as it is (other
    case), one with a word changed (near duplicate), and one kept row's query (other case)."""
    rows = _kept(run)
    documents = list(dict.fromkeys(r["positive"] for r in rows))
    assert len(documents) >= 3, "the man-page run kept too few documents for this test"
    exact_doc, near_doc = documents[0], documents[1]
    words = near_doc.split()
    middle = len(words) // 2
    near_copy = " ".join(words[:middle] + ["zzyzx"] + words[middle + 1:])
    query = next(r["query"] for r in rows if r["positive"] not in (exact_doc, near_doc))
    root.mkdir()
    (root / "corpus.jsonl").write_bytes(orjson.dumps({"_id": "t-exact", "title": "", "text": exact_doc.upper()})
                                        + b"\n" + orjson.dumps({"_id": "t-near", "text": near_copy}) + b"\n")
    (root / "queries.jsonl").write_bytes(orjson.dumps({"_id": "t-query", "text": f"  {query.upper()} "}) + b"\n")
    return root, [exact_doc.upper(), near_copy, query], [near_doc]


def test_contamination_removes_exactly_the_rows_overlapping_a_test_set_from_the_runs_own_documents(run_copy,
                                                                                                   tmp_path):
    test_set, test_texts, near_docs = _beir_test_set(tmp_path / "beir", run_copy)
    result = synthgen_cli("filter", str(run_copy), "--set", f'contamination.against=["{test_set}"]')
    assert result.returncode == 0, result.stderr[-3000:]
    keys = {normalize_text(t) for t in test_texts}
    grams = set().union(*map(_grams, test_texts))
    expected = {r["id"] for r in _generated(run_copy)
                if {normalize_text(r["query"]), normalize_text(r["positive"])} & keys
                or (_grams(r["query"]) | _grams(r["positive"])) & grams or r["positive"] in near_docs
                or _near(r["query"], test_texts) or _near(r["positive"], test_texts)}
    rejects = [orjson.loads(line) for line in (run_copy / "rejects" / "gates-contamination.jsonl").read_bytes()
               .splitlines()]
    assert {r["id"] for r in rejects} == expected
    assert {r["test_id"] for r in rejects} == {"t-exact", "t-near", "t-query"}
    assert all(r["reason"] == "contaminated" and r["test_set"] == str(test_set) for r in rejects)
    assert {r["match"] for r in rejects if r["test_id"] == "t-near"} <= {"near_duplicate", "ngram"}
    assert not expected & {r["id"] for r in _kept(run_copy)}
    manifest = _manifest(run_copy)
    assert manifest["gate_removals"]["gates/contamination/contaminated"] == len(expected)
    assert manifest["contamination"]["against"] == [{"path": str(test_set), "queries": 1, "documents": 2}]
    assert audit_run(run_copy).ok
    out = tmp_path / "hub"
    assert synthgen_cli("publish", str(run_copy), "--repo-id", "org/man", "--dry-run", str(out)).returncode == 0
    card = (out / "README.md").read_text(encoding="utf-8")
    assert f"{len(expected)} row" in card and "test set checked" in card


def test_rows_carry_groups_and_flagged_collisions_are_counted(man_run):
    out, _ = man_run
    rows = _kept(out)
    assert rows and all(r["group"] for r in rows)
    group_of = {normalize_text(r["positive"]): r["group"] for r in rows}
    for row in rows:
        assert len(row["negative_groups"] or []) == len(row["negatives"])
        for negative, group in zip(row["negatives"], row["negative_groups"] or []):
            if normalize_text(negative) in group_of:
                assert group == group_of[normalize_text(negative)]
    same_document = {}
    for row in rows:
        same_document.setdefault(row["positive"], set()).add(row["group"])
    assert all(len(groups) == 1 for groups in same_document.values())
    collisions = _manifest(out)["collisions"]
    assert collisions["action"] == "flag"
    assert collisions["negatives_colliding"] == sum(g is not None for r in rows for g in (r["negative_groups"] or []))


def test_diversity_is_in_the_manifest_and_the_report(run_copy):
    diversity = _manifest(run_copy)["diversity"]
    assert diversity["queries"] == len(_kept(run_copy))
    assert -1 <= diversity["mean_pairwise_cosine"] <= 1 and 0 < diversity["distinct_1"] <= 1
    assert set(diversity["by_language"]) == {r["query_language"] for r in _kept(run_copy)}
    assert 0 <= diversity["nearest_neighbour_duplicate_rate"] <= 1
    assert diversity["personas"]["library"] and diversity["query_types"]["library"] == 5
    result = synthgen_cli("report", str(run_copy))
    assert result.returncode == 0, result.stderr[-2000:]
    html = (run_copy / "report" / "index.html").read_text(encoding="utf-8")
    assert "<h2>Diversity</h2>" in html and (run_copy / "report" / "diversity.png").stat().st_size > 5000


def test_distill_export_of_real_rows_trains_with_margin_mse(tmp_path):
    from datasets import load_dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, \
        SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MarginMSELoss

    run = make_run_folder(tmp_path / "stdlib", limit=48,
                          gates={"cosine": {"min_score": 0.3}, "language": {"enabled": False}})
    assert synthgen_cli("filter", str(run.root)).returncode == 0
    out = tmp_path / "distill"
    result = synthgen_cli("export", str(run.root), "--format", "sentence-transformers-distill", "--out", str(out),
                          "--num-negatives", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    table = pq.read_table(out / "train.parquet")
    assert table.column_names == ["query", "positive", "negative", "label"] and table.num_rows >= 16
    rows = table.to_pylist()
    assert all(-2 <= r["label"] <= 2 and r["negative"] != r["positive"] for r in rows)
    dataset = load_dataset("parquet", data_files=str(out / "train.parquet"), split="train",
                           cache_dir=str(tmp_path / "hf"))
    model = SentenceTransformer(resolve_model("builtin:all-minilm-l6-v2"), device="cpu")
    model.max_seq_length = 96
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=4, per_device_train_batch_size=16, learning_rate=2e-5,
        warmup_steps=0, seed=0, report_to=[], save_strategy="no", logging_steps=1, use_cpu=True)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=MarginMSELoss(model))
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == 4 and all(math.isfinite(x) for x in losses)
    # the teacher is the same model: its own margins are already near the labels
    assert losses[0] < 0.05, losses
    flag = tmp_path / "flag"
    assert synthgen_cli("export", str(run.root), "--format", "flagembedding", "--out", str(flag)).returncode == 0
    line = orjson.loads((flag / "train.jsonl").read_bytes().splitlines()[0])
    assert len(line["pos_scores"]) == 1 and len(line["neg_scores"]) == len(line["neg"])
