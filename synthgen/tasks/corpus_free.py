"""Corpus-free retrieval: brainstorm task definitions, then examples per task (E5-mistral).

E5-mistral (arXiv 2401.00368) needs no corpus: the LLM brainstorms retrieval tasks
("Retrieve company's financial reports for a given stock ticker symbol"), and for each
task writes {user_query, positive_document, hard_negative_document} under sampled
placeholders: query_type (extremely long-tail, long-tail, common), query_length (less
than 5 words, 5 to 15 words, at least 10 words), clarity (clear, understandable with some
effort, ambiguous), num_words (`tasks.corpus_free.num_words`), difficulty (high school,
college, PhD) and language (`languages.query`; "same" means English here).

Task definitions are deduplicated (exact and near) before any example is written; each
definition becomes the row's instruction and its source (`source_id = task-<hash>`).
Row: query, positive, negatives = [hard negative]. Gates: leakage, generic (all three
texts), positive_length (the document has more words than its query), language (query and
positive), cosine, margin.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from synthgen.corpus.readers import Document
from synthgen.corpus.text import clean_list_item, normalize_text
from synthgen.corpus.language_id import language_name
from synthgen.config.recipe import Recipe
from synthgen.config.tasks import CorpusFreeTaskConfig
from synthgen.generation.rows import stable_hash, stable_int
from synthgen.tasks.base import BaseTask
from synthgen.generation.work import Stage, WorkItem

if TYPE_CHECKING:
    from synthgen.tasks.brainstorm import Brainstormer, BrainstormReport

QUERY_TYPES = ("extremely long-tail", "long-tail", "common")
QUERY_LENGTHS = ("less than 5 words", "5 to 15 words", "at least 10 words")
CLARITIES = ("clear", "understandable with some effort", "ambiguous")
DIFFICULTIES = ("high school", "college", "PhD")


class CorpusFreeTask(BaseTask):
    name = "corpus_free"
    config: CorpusFreeTaskConfig  # BaseTask sets it from recipe.tasks.<name>
    default_gates = ("leakage", "generic", "positive_length", "language", "cosine", "margin")
    checks_positive_language = True
    generated_fields = ("query", "positive", "negatives")
    source_in_corpus = False  # source_id names the brainstormed task definition
    makes_standalone_items = True  # its items come from the task definitions, not from the corpus

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.definitions: list[str] = []
        self.stages = [Stage("example", "corpus_free/example", self._variables, self._apply)]

    brainstorm_templates = ("corpus_free/brainstorm",)

    def needs_brainstorm(self) -> bool:
        return True

    def restore(self, ideas: list[str]) -> None:
        """Task definitions brainstormed before a resumed run was interrupted."""
        self.definitions = list(ideas)

    def prepare(self, brainstormer: Brainstormer) -> BrainstormReport:
        report = brainstormer.run(self.name, "corpus_free/brainstorm", self.config.brainstorm,
                                  _definitions_of, str)
        self.definitions = report.ideas
        return report

    def accepts(self, document: Document) -> bool:
        return False  # its items come from `standalone_items`, not from the corpus

    def standalone_items(self) -> list[WorkItem]:
        """`examples_per_task` items per brainstormed task definition."""
        items = []
        for definition in self.definitions:
            document = Document(f"task-{stable_hash(definition, digits=12)}", definition, "en")
            for variant in range(self.config.examples_per_task):
                seed = stable_int(self.recipe.name, self.recipe.seed, document.id, variant)
                item = WorkItem(document, variant, self.name, seed, id=self.item_id(document.id, variant))
                self.plan(item)
                items.append(item)
        return items

    def plan(self, item: WorkItem) -> None:
        rng = random.Random(item.seed)
        item.fields.update(query_type=rng.choice(QUERY_TYPES), query_length=rng.choice(QUERY_LENGTHS),
                           clarity=rng.choice(CLARITIES), num_words=rng.choice(self.config.num_words),
                           difficulty=rng.choice(DIFFICULTIES), language=self.query_language(rng, item.document))

    def _variables(self, item: WorkItem) -> dict[str, Any]:
        f = item.fields
        return {"task": item.document.text, "query_type": f["query_type"], "query_length": f["query_length"],
                "clarity": f["clarity"], "num_words": f["num_words"], "difficulty": f["difficulty"],
                "language": language_name(f["language"])}

    def _apply(self, item: WorkItem, answer: dict[str, Any]) -> str:
        query, positive, negative = (" ".join(str(answer[key]).split()) for key in
                                     ("user_query", "positive_document", "hard_negative_document"))
        if normalize_text(positive) == normalize_text(negative):
            return "identical_negative"
        item.fields.update(query=query, positive=positive, negative=negative)
        return ""

    def to_row(self, item: WorkItem) -> dict[str, Any]:
        f = item.fields
        return self.row(item, instruction=item.document.text, query=f["query"], positive=f["positive"],
                        negatives=[f["negative"]], query_type=f["query_type"], difficulty=f["difficulty"],
                        query_language=f["language"], document_language=f["language"])


MIN_DEFINITION_WORDS = 5


def _definitions_of(answer: dict[str, Any]) -> list[str]:
    """Task definitions of one brainstorm answer: sentences, not topic names ("Business and
    Marketing" is not a retrieval task)."""
    found = [clean_list_item(t) for t in answer["tasks"]]
    return [t for t in found if len(t.split()) >= MIN_DEFINITION_WORDS]
