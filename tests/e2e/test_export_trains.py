"""The sentence-transformers export trains all-MiniLM-L6-v2 with MultipleNegativesRankingLoss.

The rows are real text (standard-library docstrings, see tests/e2e/runs.py); gates and
mining run through the real CLI with the real embedder; training is real.
"""

from __future__ import annotations

import math

import datasets
import pyarrow.parquet as pq
import pytest

from synthgen.engines.models import resolve_model
from tests.e2e.conftest import synthgen_cli
from tests.e2e.runs import make_run_folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    run = make_run_folder(tmp_path_factory.mktemp("run") / "stdlib", limit=96,
                          gates={"cosine": {"min_score": 0.3}, "language": {"enabled": False}})
    result = synthgen_cli("filter", str(run.root))
    assert result.returncode == 0, result.stderr[-2000:]
    out = tmp_path_factory.mktemp("export")
    result = synthgen_cli("export", str(run.root), "--format", "sentence-transformers", "--out", str(out),
                          "--num-negatives", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    return out / "train.parquet"


def test_export_has_sentence_transformers_columns(exported):
    table = pq.read_table(exported)
    assert table.column_names == ["anchor", "positive", "negative_1", "negative_2"]
    assert table.num_rows >= 32
    rows = table.to_pylist()
    for row in rows:
        assert row["positive"] not in (row["negative_1"], row["negative_2"])


def test_export_trains_with_mnrl_and_loss_falls(exported, tmp_path):
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, \
        SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    dataset = datasets.load_dataset("parquet", data_files=str(exported), split="train",
                                    cache_dir=str(tmp_path / "hf"))
    model = SentenceTransformer(resolve_model("builtin:all-minilm-l6-v2"), device="cpu")
    model.max_seq_length = 96
    loss = MultipleNegativesRankingLoss(model)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=8, per_device_train_batch_size=16,
        per_device_eval_batch_size=16, learning_rate=1e-4, warmup_steps=0, seed=0, report_to=[],
        save_strategy="no", logging_steps=1, use_cpu=True, dataloader_drop_last=True)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                         eval_dataset=dataset.select(range(32)),
                                         loss=loss)
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()["eval_loss"]
    assert math.isfinite(before) and math.isfinite(after)
    assert after < before, (before, after)
