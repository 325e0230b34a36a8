"""Matching: short-short and long-long (input, positive document) pairs.

E5-mistral (arXiv 2401.00368) adds two symmetric task groups to retrieval: short-short
matching (a title and a related title, a question and its duplicate) and long-long
matching (two documents on the same matter). Both sides are written by the model; a
corpus passage inspires the topic. The kind is sampled per item from `tasks.matching.kinds`
and stored as the row's `query_type`.

Row: query = input, positive = positive_document, no negatives (E5's format has none;
in-batch negatives serve). Gates: generic, language (both sides), cosine.
"""

from __future__ import annotations

import random
from typing import Any

from synthgen.corpus.text import normalize_text
from synthgen.corpus.language_id import language_name
from synthgen.config.recipe import Recipe
from synthgen.config.tasks import MatchingTaskConfig
from synthgen.tasks.base import BaseTask, weighted_choice
from synthgen.generation.work import Stage, WorkItem


SHORT_WORDS = 30  # the prompt asks for under 20 words per side


class MatchingTask(BaseTask):
    name = "matching"
    config: MatchingTaskConfig  # BaseTask sets it from recipe.tasks.<name>
    default_gates = ("generic", "language", "cosine")
    checks_positive_language = True
    generated_fields = ("query", "positive")

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.stages = [Stage("write", "matching/write", self._variables, self._apply)]

    def plan(self, item: WorkItem) -> None:
        rng = random.Random(item.seed)
        item.fields["kind"] = weighted_choice(rng, self.config.kinds)
        item.fields["language"] = self.query_language(rng, item.document)

    def _variables(self, item: WorkItem) -> dict[str, Any]:
        return {"passage": item.document.text, "kind": item.fields["kind"],
                "language": language_name(item.fields["language"])}

    def _apply(self, item: WorkItem, answer: dict[str, Any]) -> str:
        text, positive = (" ".join(str(answer[key]).split()) for key in ("input", "positive_document"))
        if normalize_text(text) == normalize_text(positive):
            return "identical_pair"
        if item.fields["kind"] == "short_short" and max(len(text.split()), len(positive.split())) > SHORT_WORDS:
            return "too_long_for_short"
        item.fields.update(input=text, positive=positive)
        return ""

    def to_row(self, item: WorkItem) -> dict[str, Any]:
        f = item.fields
        return self.row(item, query=f["input"], positive=f["positive"], query_type=f["kind"],
                        query_language=f["language"], document_language=f["language"])
