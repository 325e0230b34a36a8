"""What an eval found, and how it is shown: `RUN/eval/results.json`, the manifest's `eval`
entry, the terminal table, and the rows the report page and the dataset card show.

Nothing here imports torch: the report and the card read a finished eval without it.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

from synthgen.evaluation.metrics import ALL, METRICS

# The four models of an eval, in the order they are shown.
MODELS: dict[str, str] = {
    "base": "base (no training)",
    "inverse_cloze": "inverse cloze",
    "synthgen": "synthgen",
    "inverse_cloze+synthgen": "inverse cloze + synthgen",
}
WIDTH = 80  # terminal columns the table fits in
_LABEL = 26  # the model column
_COLUMN = 7  # each number column
RESULTS_PATH = "eval/results.json"


@dataclass
class ModelResult:
    """One model's scores: language ("all" first) -> metric -> value, plus "queries".
    `scores` is None when the model was not trained (`note` says why)."""

    name: str
    rows: int
    scores: dict[str, dict[str, float]] | None
    seconds: float
    note: str = ""

    @property
    def label(self) -> str:
        return MODELS.get(self.name, self.name)


@dataclass
class EvalResult:
    """An eval of one run on one benchmark (`synthgen.evaluation.evaluate_run`)."""

    run: str
    benchmark: dict[str, Any]
    student: str
    settings: dict[str, Any]
    models: list[ModelResult]
    data: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    created: str = ""

    @property
    def languages(self) -> list[str]:
        """The query languages scored on their own ("all" not included)."""
        found = {lang for m in self.models if m.scores for lang in m.scores if lang != ALL}
        return sorted(found)

    def model(self, name: str) -> ModelResult:
        return next(m for m in self.models if m.name == name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for entry, model in zip(data["models"], self.models):
            entry["label"] = model.label
        return data

    def manifest_entry(self) -> dict[str, Any]:
        """The summary `manifest.json` keeps under `eval` (the report and the card show it)."""
        return {"benchmark": {k: self.benchmark.get(k) for k in ("name", "path", "documents", "queries")},
                "student": self.student, "epochs": self.settings.get("epochs"), "results": RESULTS_PATH,
                "created": self.created,
                "models": [{"name": m.name, "label": m.label, "rows": m.rows,
                            "ndcg@10": {lang: round(s["ndcg@10"], 4) for lang, s in (m.scores or {}).items()}}
                           for m in self.models]}


def format_table(result: EvalResult) -> list[str]:
    """The result as plain-text lines of at most 80 columns: model | rows | nDCG@10 |
    MRR@10 | R@10, then nDCG@10 per query language (in blocks that fit the width)."""
    bench, settings = result.benchmark, result.settings
    lines = _wrap(f"benchmark {bench.get('name')}: {bench.get('documents', 0):,} documents, "
                  f"{bench.get('queries', 0):,} queries")
    lines += _wrap(f"student {result.student}, {_plural(settings.get('epochs', 0), 'epoch')}, "
                   f"batch {settings.get('batch_size')}, lr {settings.get('learning_rate')}, "
                   f"seed {settings.get('seed')}, {settings.get('num_negatives', 0)} hard negatives per synthgen row")
    cloze, rows = result.data.get("inverse_cloze") or {}, result.data.get("synthgen") or {}
    if cloze:
        skipped = ", ".join(f"{reason} {count:,}" for reason, count in (cloze.get("skipped") or {}).items())
        lines += _wrap(f"inverse cloze: {cloze.get('pairs', 0):,} pairs from {cloze.get('documents', 0):,} documents"
                       + (f" (skipped: {skipped})" if skipped else ""))
    if rows.get("left_out_too_few_negatives"):
        lines += _wrap(f"synthgen: {rows['left_out_too_few_negatives']:,} rows left out (fewer hard negatives)")
    lines += ["", f"{'model':<{_LABEL}}{'rows':>{_COLUMN + 2}}{'nDCG@10':>{_COLUMN + 2}}{'MRR@10':>{_COLUMN + 2}}"
             f"{'R@10':>{_COLUMN + 2}}"]
    for model in result.models:
        overall = (model.scores or {}).get(ALL)
        numbers = "".join(f"{_number(overall, metric):>{_COLUMN + 2}}" for metric in METRICS)
        lines.append(f"{model.label:<{_LABEL}}{model.rows:>{_COLUMN + 2},}{numbers}")
    for model in result.models:
        if model.note:
            lines += _wrap(f"{model.label}: {model.note}")
    per_block = (WIDTH - _LABEL) // _COLUMN
    languages = [ALL, *result.languages] if result.languages else []
    for start in range(0, len(languages), per_block):
        block = languages[start:start + per_block]
        lines += ["", "nDCG@10 by query language" + (" (continued)" if start else ""),
                  f"{'model':<{_LABEL}}" + "".join(f"{lang[:_COLUMN - 1]:>{_COLUMN}}" for lang in block)]
        for model in result.models:
            scores = model.scores or {}
            lines.append(f"{model.label:<{_LABEL}}"
                         + "".join(f"{_number(scores.get(lang), 'ndcg@10'):>{_COLUMN}}" for lang in block))
    return lines


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)


def _number(scores: dict[str, float] | None, metric: str) -> str:
    return f"{scores[metric]:.3f}" if scores and metric in scores else "-"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def summary_rows(entry: Any) -> dict[str, Any] | None:
    """A manifest `eval` entry as what a page shows: benchmark, student, epochs, the query
    languages, and per model its label, rows, nDCG@10 overall and per language ("-" where
    missing). None when the entry is not an eval summary (absent or hand-edited)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("models"), list):
        return None
    models = [m for m in entry["models"] if isinstance(m, dict)]
    ndcg = [m.get("ndcg@10") if isinstance(m.get("ndcg@10"), dict) else {} for m in models]
    languages = sorted({lang for scores in ndcg for lang in scores if lang != ALL})
    shown = lambda v: f"{v:.3f}" if isinstance(v, (int, float)) else "-"  # noqa: E731
    benchmark = entry.get("benchmark") if isinstance(entry.get("benchmark"), dict) else {}
    return {"benchmark": benchmark.get("name") or "?", "documents": benchmark.get("documents"),
            "queries": benchmark.get("queries"), "student": entry.get("student") or "?",
            "epochs": entry.get("epochs"), "languages": languages,
            "models": [{"label": str(m.get("label") or m.get("name") or "?"), "rows": m.get("rows", 0),
                        "all": shown(scores.get(ALL)), "by_language": [shown(scores.get(lang)) for lang in languages]}
                       for m, scores in zip(models, ndcg)]}
