"""Language check: the query is written in the language it was asked for.

Identification is offline (lingua-language-detector). Short queries are ambiguous between
close languages, so a query passes when the asked language is the detector's first choice
or has at least `min_relative_confidence` times the first choice's confidence.
"""

from __future__ import annotations

from typing import Any

from synthgen.gates.base import GateContext, Verdict
from synthgen.language import language_confidences
from synthgen.recipe import LanguageGateConfig


class LanguageFilter:
    name = "language"

    def __init__(self, config: LanguageGateConfig):
        self.min_relative_confidence = config.min_relative_confidence

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        reasons, detected, confidence = [], [], []
        for row in rows:
            scores = language_confidences(row["query"])
            top = max(scores, key=scores.get) if scores else "und"
            asked = scores.get(row["query_language"], 0.0)
            ok = top == row["query_language"] or (
                scores and asked >= self.min_relative_confidence * scores[top])
            reasons.append("" if ok else "wrong_language")
            detected.append(top)
            confidence.append(round(asked, 4))
        return Verdict(reasons, {"detected_language": detected, "asked_language_confidence": confidence})
