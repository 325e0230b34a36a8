"""Retrieval: the two-stage, persona-driven query synthesis of the Qwen3 Embedding report.

Stage 1 (`prompts/retrieval/configure.j2`): passage + top-5 candidate personas ->
`{Character, Question_Type, Difficulty}` with Question_Type in {keywords,
acquire_knowledge, summary, yes_or_no, background} and Difficulty in {high_school,
university, phd}. Under structured outputs, Character is constrained to the candidates.
With `type_and_difficulty = "sample"` the type and difficulty are drawn per item instead
and fixed in the schema, so the model only chooses the Character.

Stage 2 (`prompts/retrieval/query.j2`): character, passage and the requirement (type,
difficulty, length in words, query language) -> `{Query}`. The query language is sampled
per item from the recipe's weights; when it differs from the passage's language the row
is a cross-lingual pair.

Reference: Zhang et al., "Qwen3 Embedding: Advancing Text Embedding and Reranking Through
Foundation Models", arXiv 2506.05176, section 3 and appendix (synthesis prompts).
"""

from __future__ import annotations

import copy
import random
from typing import Any

from rapidfuzz import fuzz, process

from synthgen.corpus.language_id import language_name
from synthgen.config.recipe import Recipe
from synthgen.config.tasks import RetrievalTaskConfig
from synthgen.tasks.base import BaseTask
from synthgen.generation.work import Stage, WorkItem

# The values stage 1 chooses from (the enums of `prompts/retrieval/configure.j2`).
QUESTION_TYPES = ("keywords", "acquire_knowledge", "summary", "yes_or_no", "background")
DIFFICULTIES = ("high_school", "university", "phd")


class RetrievalTask(BaseTask):
    name = "retrieval"
    config: RetrievalTaskConfig  # BaseTask sets it from recipe.tasks.<name>
    default_gates = ("leakage", "generic", "language", "cosine", "consistency")
    positive_is_document = True

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.stages = [
            Stage("configure", "retrieval/configure", self._configure_variables, self._apply_configure,
                  self._configure_schema),
            Stage("query", "retrieval/query", self._query_variables, self._apply_query),
        ]

    def plan(self, item: WorkItem) -> None:
        rng = random.Random(item.seed)
        item.fields["query_language"] = self.query_language(rng, item.document)
        item.fields["length"] = rng.randint(*self.config.query_length)
        if self.config.type_and_difficulty == "sample":
            item.fields["query_type"] = rng.choice(QUESTION_TYPES)
            item.fields["difficulty"] = rng.choice(DIFFICULTIES)
    # Stage 1: configure --------------------------------------------------------------
    def _configure_variables(self, item: WorkItem) -> dict[str, Any]:
        return {
            "passage": item.document.text,
            "passage_language": language_name(item.document.language),
            "candidates": [p.persona for p in item.candidates],
        }

    def _configure_schema(self, item: WorkItem, base: dict[str, Any]) -> dict[str, Any]:
        schema = copy.deepcopy(base)
        schema["properties"]["Character"]["enum"] = [p.persona for p in item.candidates]
        if self.config.type_and_difficulty == "sample":  # sampled in plan(): the answer is fixed
            schema["properties"]["Question_Type"]["enum"] = [item.fields["query_type"]]
            schema["properties"]["Difficulty"]["enum"] = [item.fields["difficulty"]]
        return schema

    def _apply_configure(self, item: WorkItem, answer: dict[str, Any]) -> str:
        texts = [p.persona for p in item.candidates]
        match = process.extractOne(str(answer["Character"]), texts, scorer=fuzz.ratio, score_cutoff=90)
        if match is None:
            return "unknown_character"
        item.fields["persona"] = texts[match[2]]
        item.fields["query_type"] = answer["Question_Type"]
        item.fields["difficulty"] = answer["Difficulty"]
        return ""

    # Stage 2: query ------------------------------------------------------------------
    def _query_variables(self, item: WorkItem) -> dict[str, Any]:
        return {
            "passage": item.document.text,
            "passage_language": language_name(item.document.language),
            "character": item.fields["persona"],
            "question_type": item.fields["query_type"],
            "difficulty": item.fields["difficulty"],
            "length": item.fields["length"],
            "query_language": language_name(item.fields["query_language"]),
        }

    def _apply_query(self, item: WorkItem, answer: dict[str, Any]) -> str:
        query = " ".join(str(answer["Query"]).split())
        if not query:
            return "empty_query"
        item.fields["query"] = query
        return ""

    def to_row(self, item: WorkItem) -> dict[str, Any]:
        fields = item.fields
        return self.row(item, query=fields["query"], query_language=fields["query_language"],
                        persona=fields["persona"], query_type=fields["query_type"], difficulty=fields["difficulty"])
