"""The translation gate: a bitext row's translation must be one, judged by a cross-lingual model.

A 135M generator "translates" a 110-character English sentence into "Aufgabe" ("task"):
German, so the language gate passes it, and the recipe's embedder (English-only by
default) cannot compare the two. Bitext mining (BUCC, Tatoeba; E5-mistral's S1/S2/S3,
arXiv 2401.00368) asks one thing of a pair: that the translation says what the source
says. Three checks, cheapest first (`TranslationGateConfig` in `synthgen/config/quality.py`
teaches the knobs and where the defaults come from):

1. `translation_length`: the character ratio translation / source, divided by the ratio
   the language pair expects (`CHARACTERS_PER_ENGLISH_CHARACTER`), must lie in the band.
2. `low_translation_score`: cosine(source, translation) under the judge >= `min_score`.
3. `wrong_translation_closer`: cosine(source, translation) must exceed cosine(source,
   wrong translation) by more than `min_margin`.

The judge is loaded only when a row reaches check 2 (`builtin:use-multilingual` by
default: Google's multilingual Universal Sentence Encoder, numpy, in a PyPI wheel).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgen.engines.base import Embedder
from synthgen.gates.base import GateContext, Verdict
from synthgen.config.quality import RECIPE_EMBEDDER, TranslationGateConfig

# Characters a language writes for one English character, where far from 1: medians of
# translation/source lengths over this machine's gettext catalogs (coreutils, apt, dpkg,
# bash, grep; ~1,000 messages each): zh_CN 0.49, ja 0.65, ko 0.64. Alphabetic languages
# fall within 1.0-1.25 of English (de 1.18, fr 1.23, es 1.17, ru 1.13, pt 1.08), which the
# band absorbs.
CHARACTERS_PER_ENGLISH_CHARACTER = {"zh": 0.5, "ja": 0.65, "ko": 0.65}


def length_ratio(source: str, translation: str, source_language: str, target_language: str) -> float:
    """len(translation) / len(source) in characters (whitespace collapsed), over the ratio
    the language pair expects: about 1 for a real translation."""
    expected = (CHARACTERS_PER_ENGLISH_CHARACTER.get(target_language, 1.0)
                / CHARACTERS_PER_ENGLISH_CHARACTER.get(source_language, 1.0))
    source_chars = max(len(" ".join(source.split())), 1)
    return len(" ".join(translation.split())) / source_chars / expected


class TranslationFilter:
    name = "translation"

    def __init__(self, config: TranslationGateConfig, judge: Embedder | None = None):
        self.config = config
        self._judge = judge

    def judge(self, context: GateContext) -> Embedder:
        """The judge model, loaded on first use."""
        if self._judge is None:
            if self.config.judge == RECIPE_EMBEDDER:
                self._judge = context.embedder
            else:
                from synthgen.engines.embedders import load_judge

                self._judge = load_judge(self.config.judge, "gates.translation.judge")
        return self._judge

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        c = self.config
        ratios = [length_ratio(r["query"], r["positive"], r["query_language"], r["document_language"]) for r in rows]
        reasons = ["" if c.min_length_ratio <= ratio <= c.max_length_ratio else "translation_length"
                   for ratio in ratios]
        scores: list[float | None] = [None] * len(rows)
        wrong: list[float | None] = [None] * len(rows)
        judged = [i for i, reason in enumerate(reasons) if not reason]
        if judged:
            scores, wrong = self._scores(rows, judged, context, scores, wrong)
        for i in judged:
            if scores[i] < c.min_score:
                reasons[i] = "low_translation_score"
            elif wrong[i] is not None and not scores[i] - wrong[i] > c.min_margin:
                reasons[i] = "wrong_translation_closer"
        return Verdict(reasons, {"length_ratio": [round(r, 3) for r in ratios],
                                 "translation_score": [None if s is None else round(s, 4) for s in scores],
                                 "wrong_translation_score": [None if w is None else round(w, 4) for w in wrong]})

    def _scores(self, rows: list[dict[str, Any]], judged: list[int], context: GateContext,
                scores: list, wrong: list) -> tuple[list, list]:
        """cosine(source, translation) and the best cosine(source, wrong translation) per judged row."""
        judge = self.judge(context)
        sources = judge.embed([rows[i]["query"] for i in judged], kind="query")
        targets = judge.embed([rows[i]["positive"] for i in judged], kind="document")
        own = np.einsum("ij,ij->i", sources, targets)
        owners = [n for n, i in enumerate(judged) for _ in rows[i]["negatives"]]
        against: Any = []
        if owners:
            negatives = judge.embed([text for i in judged for text in rows[i]["negatives"]], kind="document")
            against = np.einsum("ij,ij->i", sources[np.array(owners, dtype=np.int64)], negatives)
        for n, i in enumerate(judged):
            scores[i] = float(own[n])
        for n, score in zip(owners, against):
            i = judged[n]
            wrong[i] = float(score) if wrong[i] is None else max(wrong[i], float(score))
        return scores, wrong
