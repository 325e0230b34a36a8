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
the row's own (asked and document language), the recipe's query languages (`languages`) and the
most written ones (`COMMON_LANGUAGES`); text whose letters are all Latin (ASCII, say) only
against the Latin-script ones among them, as lingua's own rules would leave no other. In lingua
a language's score does not depend on the other candidates (its confidence is exp(score) over
the candidates' sum), so the decision is the full detector's whenever the full detector's first
choice is a candidate. It can differ only when a language outside them comes first over all 75
(Latin or Tagalog for a query mixing Spanish and English words, Portuguese for a Spanish one in
a recipe without Portuguese), and then only from reject to keep. `all_languages=True` weighs
all 75, as before.
"""

from __future__ import annotations

from typing import Any, Iterable

from synthgen.gates.base import GateContext, Verdict
from synthgen.corpus.language_id import (UNDETERMINED, known_language, latin_script_languages, latin_script_only,
                                         ranked_confidences)
from synthgen.config.languages import SAME_LANGUAGE, LanguagesConfig, is_code_language
from synthgen.config.quality import LanguageGateConfig

# The most written languages on the web, the four first in Latin script and the first in other
# scripts: always candidates, so that a query that drifted into one of them is caught even when
# the recipe does not name it. Each Latin-script candidate costs ~17 us a query.
COMMON_LANGUAGES = ("en", "es", "de", "fr", "ru", "zh", "ja", "ko", "ar", "hi")


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

    def candidates(self, *row_languages: str, latin: bool = False) -> frozenset[str] | None:
        """The languages a text is weighed against for a row in `row_languages` (None: all 75);
        `latin`: the text's letters are all in Latin script."""
        if self.all_languages:
            return None
        key = (row_languages, latin)
        found = self._candidates.get(key)
        if found is None:
            found = self._base | {code for code in row_languages if known_language(code)}
            if latin:
                found &= latin_script_languages()
            self._candidates[key] = found
        return found

    def _matches(self, items: list[tuple[str, str, str]]) -> list[tuple[bool, str, float]]:
        """For each (text, asked language, the row's other language): whether the text reads as
        the asked language, the detected language, the confidence in the asked one. One lingua
        call per set of candidates."""
        texts = [text[:2000] for text, _, _ in items]
        by_candidates: dict[frozenset[str] | None, list[int]] = {}
        for i, (text, asked, other) in enumerate(items):
            by_candidates.setdefault(self.candidates(asked, other, latin=latin_script_only(texts[i])), []).append(i)
        results: list[tuple[bool, str, float]] = [(False, UNDETERMINED, 0.0)] * len(items)
        for candidates, members in by_candidates.items():
            for i, ranked in zip(members, ranked_confidences([texts[i] for i in members], candidates)):
                results[i] = self._decide(ranked, items[i][1])
        return results

    def _decide(self, ranked: list[tuple[str, float]], asked: str) -> tuple[bool, str, float]:
        if not ranked:  # no letters, or no candidate fits the script: undetermined
            return asked == UNDETERMINED, UNDETERMINED, 0.0
        top, top_confidence = ranked[0]
        confidence = next((value for code, value in ranked if code == asked), 0.0)
        ok = top == asked or confidence >= self.min_relative_confidence * top_confidence
        return ok, top, round(confidence, 4)

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        checked = [i for i, row in enumerate(rows) if not is_code_language(row["query_language"])]
        found = dict(zip(checked, self._matches([(rows[i]["query"], rows[i]["query_language"],
                                                  rows[i].get("document_language", "")) for i in checked])))
        reasons = ["" if found.get(i, (True,))[0] else "wrong_language" for i in range(len(rows))]
        if self.check_positive:  # the generated positive is in the document's language
            kept = [i for i in range(len(rows)) if not reasons[i]]
            positives = self._matches([(rows[i]["positive"], rows[i]["document_language"], rows[i]["query_language"])
                                       for i in kept])
            for i, result in zip(kept, positives):
                found[i] = result
                reasons[i] = "" if result[0] else "wrong_positive_language"
        detected = [found[i][1] if i in found else rows[i]["query_language"] for i in range(len(rows))]
        confidence = [found[i][2] if i in found else 1.0 for i in range(len(rows))]
        return Verdict(reasons, {"detected_language": detected, "asked_language_confidence": confidence})
