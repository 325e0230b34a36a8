"""Language check: the query is written in the language it was asked for.

Identification is offline (lingua-language-detector). Short queries are ambiguous between
close languages, so a query passes when the asked language is the detector's first choice
or has at least `min_relative_confidence` times the first choice's confidence.

Queries whose language is a programming language (code-to-code retrieval) are not checked.
For tasks whose positive is generated (bitext, sts, matching, corpus-free), the positive
must also be in the row's `document_language` (`wrong_positive_language`): a "translation"
left in the source language fails here.

Candidates. lingua's cost grows with the number of languages it weighs (~1 ms a query over all
75, ~0.1 ms over six), so a text is weighed against the languages that can matter for its row:
the row's own (asked and document language), the run's (the recipe's query languages,
`languages`, and the documents', `GateContext.languages`) and the most written ones
(`COMMON_LANGUAGES`). In lingua a language's score does not depend on the other candidates (its
confidence is exp(score) over the candidates' sum), so the decision is the full detector's
whenever the full detector's first choice is a candidate. It can differ only when a language
outside them comes first over all 75 (Latin or Tagalog for a query mixing Spanish and English
words), and then only from reject to keep. `all_languages=True` weighs all 75, as before.
"""

from __future__ import annotations

from typing import Any, Iterable

from synthgen.gates.base import GateContext, Verdict
from synthgen.corpus.language_id import UNDETERMINED, known_language, ranked_confidences
from synthgen.config.recipe import CODE_LANGUAGES, SAME_LANGUAGE, LanguageGateConfig, LanguagesConfig

# The most written languages on the web, one or more per script: always candidates, so that a
# query that drifted into one of them is caught even when the recipe does not use it.
COMMON_LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "ru", "zh", "ja", "ko", "ar", "hi")


def recipe_languages(config: LanguagesConfig) -> set[str]:
    """The languages a recipe names for queries or documents (its `languages` table; "same" is
    each row's own document language, which the gate adds per row)."""
    named = set(config.query) | set(config.matrix)
    for weights in config.matrix.values():
        named |= set(weights)
    return named - {SAME_LANGUAGE}


class LanguageFilter:
    name = "language"

    def __init__(self, config: LanguageGateConfig, check_positive: bool = False, languages: Iterable[str] = (),
                 all_languages: bool = False):
        self.min_relative_confidence = config.min_relative_confidence
        self.check_positive = check_positive
        self.all_languages = all_languages
        self._base = frozenset(code for code in (*COMMON_LANGUAGES, *languages) if known_language(code))
        self._candidates: dict[tuple, frozenset[str]] = {}

    def candidates(self, *row_languages: str, run: frozenset[str] = frozenset()) -> frozenset[str] | None:
        """The languages a text is weighed against for a row in `row_languages` of a run whose
        documents are in `run` (None: all 75)."""
        if self.all_languages:
            return None
        key = (row_languages, run)
        found = self._candidates.get(key)
        if found is None:
            found = self._base | {code for code in (*row_languages, *run) if known_language(code)}
            self._candidates[key] = found
        return found

    def _matches(self, text: str, asked: str, candidates: frozenset[str] | None) -> tuple[bool, str, float]:
        """Whether `text` reads as language `asked`; the detected language; the confidence in `asked`."""
        ranked = ranked_confidences(text, candidates)
        if not ranked:  # no letters, or no candidate fits the script: undetermined
            return asked == UNDETERMINED, UNDETERMINED, 0.0
        top, top_confidence = ranked[0]
        confidence = next((value for code, value in ranked if code == asked), 0.0)
        ok = top == asked or confidence >= self.min_relative_confidence * top_confidence
        return ok, top, round(confidence, 4)

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        reasons, detected, confidence = [], [], []
        run = context.languages
        for row in rows:
            asked, document = row["query_language"], row.get("document_language", "")
            ok, top, score = True, asked, 1.0
            if asked not in CODE_LANGUAGES:
                ok, top, score = self._matches(row["query"], asked, self.candidates(asked, document, run=run))
            reason = "" if ok else "wrong_language"
            if ok and self.check_positive:
                ok, top, score = self._matches(row["positive"], document, self.candidates(asked, document, run=run))
                reason = "" if ok else "wrong_positive_language"
            reasons.append(reason)
            detected.append(top)
            confidence.append(score)
        return Verdict(reasons, {"detected_language": detected, "asked_language_confidence": confidence})
