"""Teacher scores for distillation: `--format sentence-transformers-distill` writes one
(query, positive, negative, label) row per triple with the teacher's margin, trains a few
steps with sentence-transformers' MarginMSELoss (the built-in MiniLM, CPU), and the
flagembedding export carries the chosen teacher's pos_scores/neg_scores."""

from __future__ import annotations

import math

import orjson
import pyarrow.parquet as pq
import pytest
from run_folders import make_row, write_finished_run

from synthgen.errors import UserError
from synthgen.shards.export import export_run, teacher_scores


def _rows():
    rows = [make_row("retrieval", i, negatives=2, score=0.9 - 0.01 * i) for i in range(8)]
    rows += [make_row("sts", 20, negatives=1, score=None)]  # no teacher score: left out of the distill export
    return rows


@pytest.fixture()
def run(tmp_path):
    return write_finished_run(tmp_path / "run", _rows()).root


def test_distill_export_has_one_row_per_triple_with_the_teacher_margin(run, tmp_path):
    report = export_run(run, tmp_path / "distill", "sentence-transformers-distill", num_negatives=1)
    table = pq.read_table(report.path)
    assert table.column_names == ["query", "positive", "negative", "label"]
    assert report.rows == 8 and report.skipped_no_teacher_scores == 1
    every = export_run(run, tmp_path / "distill-all", "sentence-transformers-distill", tasks=["retrieval"])
    rows = pq.read_table(every.path).to_pylist()
    assert every.num_negatives == 2 and len(rows) == 16  # 8 rows x 2 negatives
    source = {r["query"]: r for r in _rows()}
    for row in rows:
        original = source[row["query"]]
        k = original["negatives"].index(row["negative"])
        assert row["positive"] == original["positive"]
        assert row["label"] == pytest.approx(original["positive_score"] - original["negative_scores"][k], abs=1e-6)
    scores = export_run(run, tmp_path / "distill-scores", "sentence-transformers-distill", num_negatives=1,
                        label="scores")
    first = pq.read_table(scores.path).to_pylist()[0]
    assert len(first["label"]) == 2 and first["label"][0] > first["label"][1]


def test_flagembedding_carries_the_teachers_scores_and_unknown_teachers_fail(run, tmp_path):
    report = export_run(run, tmp_path / "flag", "flagembedding", num_negatives=1, tasks=["retrieval"])
    lines = [orjson.loads(x) for x in report.path.read_bytes().splitlines()]
    assert all(len(x["pos_scores"]) == 1 and len(x["neg_scores"]) == 1 for x in lines)
    source = {r["query"]: r for r in _rows()}
    for line in lines:
        assert line["pos_scores"][0] == pytest.approx(source[line["query"]]["positive_score"], abs=1e-6)
        assert line["neg_scores"][0] == pytest.approx(source[line["query"]]["negative_scores"][0], abs=1e-6)
    with pytest.raises(UserError, match="--teacher 'judge'"):
        export_run(run, tmp_path / "flag2", "flagembedding", teacher="judge")
    with pytest.raises(UserError, match="--label"):
        export_run(run, tmp_path / "flag3", "sentence-transformers-distill", label="kl")


def test_teacher_scores_are_a_dict_of_teachers():
    row = {"positive_score": 0.8, "negative_scores": [0.5],
           "teacher_scores": {"cross-encoder": {"positive": 3.1, "negatives": [-1.0]}}}
    assert teacher_scores(row) == {"embedder": (0.8, [0.5]), "cross-encoder": (3.1, [-1.0])}
    judged = {**row, "judge_positive_score": 0.9, "judge_negative_scores": [0.2]}
    assert teacher_scores(judged)["judge"] == (0.9, [0.2])
    assert "judge" not in teacher_scores({**row, "judge_positive_score": None, "judge_negative_scores": None})


def test_the_distill_export_trains_with_margin_mse(run, tmp_path):
    import datasets
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, \
        SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MarginMSELoss

    from synthgen.engines.models import resolve_model

    report = export_run(run, tmp_path / "distill", "sentence-transformers-distill", tasks=["retrieval"])
    dataset = datasets.load_dataset("parquet", data_files=str(report.path), split="train",
                                    cache_dir=str(tmp_path / "hf"))
    model = SentenceTransformer(resolve_model("builtin:all-minilm-l6-v2"), device="cpu")
    model.max_seq_length = 24
    args = SentenceTransformerTrainingArguments(
        # one full batch of all 16 triples per step: each step descends the very loss evaluated below
        output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=16,
        per_device_eval_batch_size=16, learning_rate=5e-5,
        warmup_steps=0, seed=0, report_to=[], save_strategy="no", logging_steps=1, use_cpu=True)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, eval_dataset=dataset,
                                         loss=MarginMSELoss(model))
    before = trainer.evaluate()["eval_loss"]
    # the loss read the label column as the teacher margin: it equals the MSE computed by hand
    q, p, n = (model.encode(dataset[c], convert_to_numpy=True) for c in ("query", "positive", "negative"))
    margins = (q * p).sum(axis=1) - (q * n).sum(axis=1)
    assert before == pytest.approx(float(((margins - np.array(dataset["label"])) ** 2).mean()), rel=1e-3)
    weights = next(model.parameters()).detach().clone()
    trainer.train()
    assert trainer.state.global_step == 2
    assert all(math.isfinite(entry["loss"]) for entry in trainer.state.log_history if "loss" in entry)
    assert not torch.equal(weights, next(model.parameters()).detach())
