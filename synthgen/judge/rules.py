"""What the judge's scores do to a row (after Gecko, arXiv 2403.20327).

Mining keeps a negative only when the embedder scores it below the positive by the margin
rule (`mining.relative_margin` ...): the embedder calls every mined negative a negative.
The judge then scores the positive (`judge_positive_score`) and each negative
(`judge_negative_scores`, in the order of `negatives`), and, per row:

1. the best negative outscores the positive by `better_margin` or more: the row is
   relabeled (`on_better_negative = "relabel"`: that negative becomes the positive, with
   its scores; the old positive is set aside, not made a negative, since the query was
   written for it) or dropped (`"drop"`, reason `better_negative`);
2. every other negative scoring `relevant_threshold` or more is dropped from the row as a
   false negative (reason `judged_relevant`);
3. a row left with fewer than `min_negatives` negatives is dropped (`too_few_negatives`).

`JudgeTally` counts how often the judge disagrees with the margin rule: a mined negative
the judge finds relevant, or prefers to the positive by the margin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthgen.config.judge import JudgeConfig
from synthgen.corpus.readers import Reject

STEP = "judge"  # row drops: counted with the gate removals, audited like them
NEGATIVES_STEP = "judge/negatives"  # negatives dropped from kept rows (not rows)
RELABEL_STEP = "judge/relabeled"  # rows whose positive changed


@dataclass
class JudgeTally:
    rows: int = 0
    negatives: int = 0
    judged_relevant: int = 0  # negatives with p >= relevant_threshold
    negative_above_positive: int = 0  # negatives with p_neg - p_pos >= better_margin
    disagreements: int = 0  # negatives with either of the two: the judge disagrees with the margin rule
    positive_ranked_first: int = 0  # negatives the judge, like the embedder, ranks below the positive
    relabeled: int = 0
    dropped_better_negative: int = 0
    dropped_too_few_negatives: int = 0
    negatives_dropped: int = 0
    positive_score_sum: float = 0.0
    negative_score_sum: float = 0.0

    def add(self, other: "JudgeTally") -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    def to_dict(self) -> dict[str, Any]:
        counts = {k: v for k, v in vars(self).items() if not k.endswith("_sum")}
        negatives = max(self.negatives, 1)
        counts["agreement_with_margin_rule"] = round(1 - self.disagreements / negatives, 4) if self.negatives else None
        counts["order_agreement"] = round(self.positive_ranked_first / negatives, 4) if self.negatives else None
        counts["mean_positive_score"] = round(self.positive_score_sum / self.rows, 4) if self.rows else None
        counts["mean_negative_score"] = round(self.negative_score_sum / negatives, 4) if self.negatives else None
        return counts


@dataclass
class RuleResult:
    kept: list[dict[str, Any]] = field(default_factory=list)
    row_rejects: list[Reject] = field(default_factory=list)  # rows dropped
    notes: list[Reject] = field(default_factory=list)  # negatives dropped, rows relabeled
    tally: JudgeTally = field(default_factory=JudgeTally)


def apply_rules(rows: list[dict[str, Any]], config: JudgeConfig, min_negatives: int) -> RuleResult:
    """Rows with `judge_positive_score` and `judge_negative_scores` set, after the rules."""
    result = RuleResult()
    tally = result.tally
    for row in rows:
        p_pos, p_negs = float(row["judge_positive_score"]), [float(p) for p in row["judge_negative_scores"]]
        tally.rows += 1
        tally.positive_score_sum += p_pos
        for p in p_negs:
            relevant, above = p >= config.relevant_threshold, p - p_pos >= config.better_margin
            tally.negatives += 1
            tally.negative_score_sum += p
            tally.judged_relevant += relevant
            tally.negative_above_positive += above
            tally.disagreements += relevant or above
            tally.positive_ranked_first += p < p_pos
        best = max(range(len(p_negs)), key=lambda i: (p_negs[i], -i), default=None)
        if best is not None and p_negs[best] - p_pos >= config.better_margin:
            detail = {"positive_judge_score": round(p_pos, 4), "negative_judge_score": round(p_negs[best], 4),
                      "negative": row["negatives"][best]}
            if config.on_better_negative == "drop":
                tally.dropped_better_negative += 1
                result.row_rejects.append(_note(STEP, "better_negative", row, "id", detail))
                continue
            tally.relabeled += 1
            result.notes.append(_note(RELABEL_STEP, "better_negative", row, "row_id",
                                      {**detail, "old_positive": row["positive"]}))
            row = _relabel(row, best)
            p_negs = list(row["judge_negative_scores"])
        keep = [i for i, p in enumerate(p_negs) if p < config.relevant_threshold]
        for i in sorted(set(range(len(p_negs))) - set(keep)):
            tally.negatives_dropped += 1
            result.notes.append(_note(NEGATIVES_STEP, "judged_relevant", row, "row_id",
                                      {"negative": row["negatives"][i], "judge_score": round(p_negs[i], 4),
                                       "threshold": config.relevant_threshold}))
        row = _keep_negatives(row, keep)
        if len(row["negatives"]) < min_negatives:
            tally.dropped_too_few_negatives += 1
            result.row_rejects.append(_note(STEP, "too_few_negatives", row, "id",
                                            {"found": len(row["negatives"]), "min_negatives": min_negatives}))
            continue
        result.kept.append(row)
    return result


def _relabel(row: dict[str, Any], best: int) -> dict[str, Any]:
    """The row with negative `best` as its positive (and that negative's scores)."""
    scores = list(row.get("negative_scores") or [])
    others = [i for i in range(len(row["negatives"])) if i != best]
    return {**row, "positive": row["negatives"][best],
            "positive_score": scores[best] if best < len(scores) else None,
            "judge_positive_score": row["judge_negative_scores"][best],
            "negatives": [row["negatives"][i] for i in others],
            "negative_scores": [scores[i] for i in others if i < len(scores)],
            "judge_negative_scores": [row["judge_negative_scores"][i] for i in others],
            **_per_negative(row, "negative_groups", others)}


def _keep_negatives(row: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    scores = list(row.get("negative_scores") or [])
    return {**row, "negatives": [row["negatives"][i] for i in keep],
            "negative_scores": [scores[i] for i in keep if i < len(scores)],
            "judge_negative_scores": [row["judge_negative_scores"][i] for i in keep],
            **_per_negative(row, "negative_groups", keep)}


def _per_negative(row: dict[str, Any], column: str, keep: list[int]) -> dict[str, Any]:
    """Another per-negative column (the collision guard's `negative_groups`), filtered alike."""
    values = row.get(column)
    return {column: [values[i] for i in keep]} if isinstance(values, list) and len(values) == len(row["negatives"]) else {}


def _note(step: str, reason: str, row: dict[str, Any], id_key: str, detail: dict[str, Any]) -> Reject:
    """A reject record; rows dropped carry `id` (the ledger accounts for them), notes on kept
    rows carry `row_id`."""
    return Reject(step, reason, row["source_id"], {id_key: row["id"], "query": row["query"],
                                                   "query_language": row.get("query_language"), **detail})
