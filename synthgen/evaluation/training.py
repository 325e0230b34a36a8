"""Fine-tuning a student embedder on (anchor, positive, negative_1..n) rows.

The loss is sentence-transformers' `MultipleNegativesRankingLoss`: InfoNCE over each
anchor's positive, its hard negatives and every other row's positive and negatives in the
batch, the contrastive objective the Qwen3 Embedding report (arXiv 2506.05176) trains with.
Batches come from the `NO_DUPLICATES` sampler: a run writes several queries per document,
and two rows sharing a positive in one batch would make that positive an in-batch
"negative" of its own query. With several datasets (inverse cloze rows, which have no
negatives, beside the run's rows, which have them) each batch is drawn from one dataset,
in proportion to their sizes, so every row is used once per epoch.

Every model of one eval is trained with the same `TrainingSettings`: learning rate 2e-5
with a linear warmup over the first 10% of the steps (the usual recipe for fine-tuning
small sentence-transformers), a fixed seed, no checkpoints (the trainer's output folder
is a temporary one) and no experiment tracking.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from synthgen.errors import UserError
from synthgen.engines.models import resolve_model

if TYPE_CHECKING:
    import datasets
    from sentence_transformers import SentenceTransformer


@dataclass(frozen=True)
class TrainingSettings:
    """How each student is fine-tuned; the same for every model of an eval."""

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise UserError(f"--epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 2:
            raise UserError(f"--batch-size must be >= 2 (in-batch negatives need a second row), "
                            f"got {self.batch_size}")
        if not self.learning_rate > 0:
            raise UserError(f"--learning-rate must be > 0, got {self.learning_rate}")
        if not 0 <= self.warmup_ratio < 1:
            raise UserError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "loss": "MultipleNegativesRankingLoss", "batch_sampler": "no_duplicates",
                "multi_dataset_batch_sampler": "proportional"}


def rows_dataset(rows: list[dict[str, Any]], num_negatives: int = 0) -> "datasets.Dataset":
    """Rows ({"anchor", "positive", "negatives"}) as the columns the loss reads by order:
    anchor, positive, negative_1..negative_n (the layout of `synthgen export`)."""
    import datasets

    columns: dict[str, list[str]] = {"anchor": [r["anchor"] for r in rows], "positive": [r["positive"] for r in rows]}
    for i in range(num_negatives):
        columns[f"negative_{i + 1}"] = [r["negatives"][i] for r in rows]
    return datasets.Dataset.from_dict(columns)


def load_student(student: str, device: str = "cpu") -> "SentenceTransformer":
    """The student by sentence-transformers id or path (`builtin:` names resolve to the
    model the package ships)."""
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(resolve_model(student), device=device)
    except (OSError, ValueError, RuntimeError, AssertionError) as exc:  # a missing model; a device torch lacks
        raise UserError(f"--student {student} (--device {device}): sentence-transformers cannot load it "
                        f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}): give a model id, "
                        "a local model folder, or builtin:all-minilm-l6-v2") from None


def fine_tune(student: str, train: "datasets.Dataset | dict[str, datasets.Dataset]",
              settings: TrainingSettings) -> "SentenceTransformer":
    """A fresh copy of `student` trained on `train` (one dataset, or several by name)."""
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers, MultiDatasetBatchSamplers
    from transformers import PrinterCallback

    if isinstance(train, dict) and len(train) == 1:
        train = next(iter(train.values()))
    elif isinstance(train, dict):
        import datasets

        train = datasets.DatasetDict(train)  # batches drawn from one dataset at a time
    model = load_student(student, settings.device)
    with tempfile.TemporaryDirectory(prefix="synthgen-eval-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch, num_train_epochs=settings.epochs, per_device_train_batch_size=settings.batch_size,
            learning_rate=settings.learning_rate, warmup_steps=settings.warmup_ratio, seed=settings.seed,
            data_seed=settings.seed, batch_sampler=BatchSamplers.NO_DUPLICATES,
            multi_dataset_batch_sampler=MultiDatasetBatchSamplers.PROPORTIONAL, report_to="none",
            save_strategy="no", logging_strategy="no", disable_tqdm=True, use_cpu=settings.device == "cpu")
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train,
                                             loss=MultipleNegativesRankingLoss(model))
        trainer.remove_callback(PrinterCallback)  # it prints the final loss dict to stdout
        trainer.train()
    return model
