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

from synthgen.language import language_name
from synthgen.models import public_model_id
from synthgen.recipe import SAME_LANGUAGE, Recipe
from synthgen.rows import DIFFICULTIES, QUESTION_TYPES, row_id
from synthgen.tasks.base import Stage, WorkItem


class RetrievalTask:
    name = "retrieval"

    def __init__(self, recipe: Recipe):
        assert recipe.tasks.retrieval is not None
        self.recipe = recipe
        self.config = recipe.tasks.retrieval
        self.languages = sorted(recipe.languages.query.items())
        self.stages = [
            Stage("configure", "retrieval/configure", self._configure_variables, self._apply_configure,
                  self._configure_schema),
            Stage("query", "retrieval/query", self._query_variables, self._apply_query),
        ]

    def plan(self, item: WorkItem) -> None:
        rng = random.Random(item.seed)
        codes, weights = zip(*self.languages)
        language = rng.choices(codes, weights=weights)[0]
        item.fields["query_language"] = item.document.language if language == SAME_LANGUAGE else language
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
        recipe = self.recipe
        return {
            "id": row_id(recipe.name, self.name, item.document.id, item.variant, recipe.seed),
            "task": self.name,
            "instruction": self.config.instruction,
            "query": item.fields["query"],
            "positive": item.document.text,
            "negatives": [],
            "positive_score": None,
            "negative_scores": [],
            "query_language": item.fields["query_language"],
            "document_language": item.document.language,
            "persona": item.fields["persona"],
            "query_type": item.fields["query_type"],
            "difficulty": item.fields["difficulty"],
            "source_id": item.document.id,
            "generator": public_model_id(recipe.generator.model),
            "embedder": public_model_id(recipe.embedder.model),
        }
