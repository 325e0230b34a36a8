"""Bitext mining: a source text -> its translation (positive) and a fluent translation with
keyword or number errors (hard negative).

E5-mistral (arXiv 2401.00368) generates bitext triples {S1, S2, S3} where S3 is "a fluent
translation with keyword/number errors"; the Qwen3 Embedding report (arXiv 2506.05176)
synthesizes bitext mining data across its languages. Here the source is real text: a span
of whole sentences (`unit = "sentence"`, at most `max_source_chars`) or the start of the
document (`unit = "passage"`), in the document's language; the target language comes from
the recipe's weighted `pairs` whose source is that language.

Row: query = source (query_language = src), positive = translation, negatives = [wrong
translation] (document_language = tgt). Gates: generic (the translations), language (the
translation is in the target language), translation (its length fits the source's, and a
multilingual judge finds it closer to the source than the wrong translation), cosine (needs
a multilingual embedder to be meaningful).
"""

from __future__ import annotations

import random
import re
from typing import Any

from synthgen.corpus.readers import Document
from synthgen.corpus.text import normalize_text
from synthgen.corpus.language_id import language_name
from synthgen.config.recipe import Recipe
from synthgen.config.tasks import BitextTaskConfig
from synthgen.tasks.base import BaseTask, is_code, weighted_choice
from synthgen.generation.work import Stage, WorkItem

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")


def source_span(text: str, rng: random.Random, max_chars: int, unit: str) -> str:
    """A span of whole sentences of at most `max_chars` starting at a random sentence
    ("sentence"), or the text's start ("passage"); cut at a word boundary if one sentence
    is longer than `max_chars`."""
    text = " ".join(text.split())
    if unit == "passage":
        return _cut(text, max_chars)
    sentences = [s for s in _SENTENCE_END.split(text) if s]
    start = rng.randrange(len(sentences))
    span = sentences[start]
    for sentence in sentences[start + 1:]:
        if len(span) + 1 + len(sentence) > max_chars:
            break
        span = f"{span} {sentence}"
    return _cut(span, max_chars)


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0]
    return cut or text[:max_chars]


class BitextTask(BaseTask):
    name = "bitext"
    config: BitextTaskConfig  # BaseTask sets it from recipe.tasks.<name>
    default_gates = ("generic", "language", "translation", "cosine")
    checks_positive_language = True
    generated_fields = ("positive", "negatives")  # the source is the document's own text

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.stages = [Stage("translate", "bitext/translate", self._variables, self._apply)]

    def _targets(self, language: str) -> dict[str, float]:
        pairs = {pair.split("-")[1]: w for pair, w in self.config.pairs.items() if pair.split("-")[0] == language}
        return {target: w for target, w in pairs.items() if w > 0}

    def accepts(self, document: Document) -> bool:
        return not is_code(document) and bool(self._targets(document.language))

    def plan(self, item: WorkItem) -> None:
        rng = random.Random(item.seed)
        item.fields["target_language"] = weighted_choice(rng, self._targets(item.document.language))
        item.fields["source"] = source_span(item.document.text, rng, self.config.max_source_chars, self.config.unit)

    def _variables(self, item: WorkItem) -> dict[str, Any]:
        return {"source": item.fields["source"], "source_language": language_name(item.document.language),
                "target_language": language_name(item.fields["target_language"])}

    def _apply(self, item: WorkItem, answer: dict[str, Any]) -> str:
        translation = " ".join(str(answer["translation"]).split())
        wrong = " ".join(str(answer["wrong_translation"]).split())
        if normalize_text(translation) == normalize_text(item.fields["source"]):
            return "untranslated"
        if normalize_text(translation) == normalize_text(wrong):
            return "identical_negative"
        item.fields["translation"], item.fields["wrong_translation"] = translation, wrong
        return ""

    def to_row(self, item: WorkItem) -> dict[str, Any]:
        fields = item.fields
        return self.row(item, query=fields["source"], positive=fields["translation"],
                        negatives=[fields["wrong_translation"]], document_language=fields["target_language"])
