"""Language check: the query is written in the language it was asked for.

Identification is offline (lingua-language-detector). Short queries are ambiguous between
close languages, so a query passes when the asked language is the detector's first choice
or has at least `min_relative_confidence` times the first choice's confidence.

Queries whose language is a programming language (code-to-code retrieval) are not checked.
For tasks whose positive is generated (bitext, sts, matching, corpus-free), the positive
must also be in the row's `document_language` (`wrong_positive_language`): a "translation"
left in the source language fails here.
"""

from __future__ import annotations

from typing import Any

from synthgen.gates.base import GateContext, Verdict
from synthgen.corpus.language_id import language_confidences
from synthgen.config.languages import is_code_language
from synthgen.config.quality import LanguageGateConfig


class LanguageFilter:
    name = "language"

    def __init__(self, config: LanguageGateConfig, check_positive: bool = False):
        self.min_relative_confidence = config.min_relative_confidence
        self.check_positive = check_positive

    def _matches(self, text: str, asked: str) -> tuple[bool, str, float]:
        """Whether `text` reads as language `asked`; the detected language; the confidence in `asked`."""
        scores = language_confidences(text)
        top = max(scores, key=scores.get) if scores else "und"
        confidence = scores.get(asked, 0.0)
        ok = top == asked or bool(scores and confidence >= self.min_relative_confidence * scores[top])
        return ok, top, round(confidence, 4)

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        reasons, detected, confidence = [], [], []
        for row in rows:
            ok, top, score = True, row["query_language"], 1.0
            if not is_code_language(row["query_language"]):
                ok, top, score = self._matches(row["query"], row["query_language"])
            reason = "" if ok else "wrong_language"
            if ok and self.check_positive:
                ok, top, score = self._matches(row["positive"], row["document_language"])
                reason = "" if ok else "wrong_positive_language"
            reasons.append(reason)
            detected.append(top)
            confidence.append(score)
        return Verdict(reasons, {"detected_language": detected, "asked_language_confidence": confidence})
