"""Code retrieval: documents are code units (functions, classes); queries are intents.

The Qwen3 Embedding report (arXiv 2506.05176) counts code among its synthesis documents;
CoIR-style benchmarks ask for text-to-code and code-to-code retrieval. Each code unit
(read with `corpus.format = "code"`, one document per definition) gets queries of a
sampled intent: what_it_does, how_to, error_to_fix, api_usage (natural language, in a
query language from `languages`, English for "same"), or code_to_code (a snippet that
calls or resembles the unit; its query_language is the programming language).

Row: query, positive = the code unit, negatives mined from the other code units.
Gates: leakage (queries that copy the code or its docstring), generic and language
(natural-language queries), cosine, consistency.
"""

from __future__ import annotations

import random
from typing import Any

from synthgen.corpus.language_id import language_name
from synthgen.config.recipe import Recipe
from synthgen.config.tasks import CodeRetrievalTaskConfig
from synthgen.tasks.base import BaseTask, weighted_choice
from synthgen.generation.work import Stage, WorkItem


class CodeRetrievalTask(BaseTask):
    name = "code_retrieval"
    config: CodeRetrievalTaskConfig  # BaseTask sets it from recipe.tasks.<name>
    default_gates = ("leakage", "generic", "language", "cosine", "consistency")
    positive_is_document = True
    takes_code = True

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.stages = [Stage("query", "code_retrieval/query", self._variables, self._apply)]

    def plan(self, item: WorkItem) -> None:
        rng = random.Random(item.seed)
        intent = weighted_choice(rng, self.config.intents)
        item.fields["intent"] = intent
        item.fields["length"] = rng.randint(*self.config.query_length)
        item.fields["query_language"] = (item.document.language if intent == "code_to_code"
                                         else self.query_language(rng, item.document))

    def _variables(self, item: WorkItem) -> dict[str, Any]:
        return {"code": item.document.text, "programming_language": item.document.language,
                "intent": item.fields["intent"], "length": item.fields["length"],
                "query_language": language_name(item.fields["query_language"])}

    def _apply(self, item: WorkItem, answer: dict[str, Any]) -> str:
        query = str(answer["Query"]).strip()
        if item.fields["intent"] != "code_to_code":
            query = " ".join(query.split())
        if not query:
            return "empty_query"
        item.fields["query"] = query
        return ""

    def to_row(self, item: WorkItem) -> dict[str, Any]:
        f = item.fields
        return self.row(item, query=f["query"], query_type=f["intent"], query_language=f["query_language"])
