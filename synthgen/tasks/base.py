"""What a task is: a list of stages (one template each) and how finished items become rows.

A task's stages and work items are generation's (`synthgen/generation/work.py`).

`BaseTask` holds what task types share: which documents they take, which per-row gates
apply to their rows, whether the positive is the corpus document (then negatives are
mined from the corpus) or a generated text (then the generated negatives are kept), which
of the row's texts the generator wrote, and the row of the contract with every column filled.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Protocol

from synthgen.corpus.readers import Document
from synthgen.engines.models import public_model_id
from synthgen.config.languages import SAME_LANGUAGE, is_code_language
from synthgen.config.recipe import Recipe
from synthgen.config.tasks import TaskConfig
from synthgen.generation.rows import row_id
from synthgen.generation.work import Stage, WorkItem

if TYPE_CHECKING:
    from synthgen.tasks.brainstorm import Brainstormer, BrainstormReport


class Task(Protocol):
    name: str
    stages: list[Stage]
    config: TaskConfig
    positive_is_document: bool
    checks_positive_language: bool
    takes_code: bool
    generated_fields: tuple[str, ...]
    source_in_corpus: bool
    brainstorm_templates: tuple[str, ...]
    makes_standalone_items: bool

    def needs_brainstorm(self) -> bool:
        """Whether the run brainstorms for this task before generating (`prepare`)."""
        ...

    def prepare(self, brainstormer: Brainstormer) -> BrainstormReport:
        """The brainstorm step (label sets, task definitions); the ideas stay on the task."""
        ...

    def restore(self, ideas: list[Any]) -> None:
        """Take the ideas an earlier `prepare` brainstormed (a resumed run, another worker)."""
        ...

    def standalone_items(self) -> list[WorkItem]:
        """The items made from no corpus document (corpus-free tasks)."""
        ...

    def accepts(self, document: Document) -> bool:
        """Whether this task can make an item from `document`."""
        ...

    def plan(self, item: WorkItem) -> None:
        """Sample the item's requirements (language, length...) from `item.seed`."""
        ...

    def to_row(self, item: WorkItem) -> dict[str, Any]:
        """The finished item as a row of the contract (scores filled in later)."""
        ...

    def row_gates(self) -> tuple[str, ...]:
        """The per-row gates that apply to this task's rows."""
        ...


def is_code(document: Document) -> bool:
    """Code units carry their programming language as `language` (corpus.format = code)."""
    return is_code_language(document.language)


def weighted_choice(rng: random.Random, weights: dict[str, float]) -> str:
    """One key of `weights`, drawn in proportion to its weight (keys in sorted order)."""
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


class BaseTask:
    """Shared behaviour of task types; subclasses set the class attributes and stages.

    The optional steps are declared here with defaults that do nothing, and a task that
    has one overrides them: a brainstorm before generation (`needs_brainstorm`,
    `prepare`, `restore`, `brainstorm_templates`) and items made from no corpus document
    (`makes_standalone_items`, `standalone_items`)."""

    name = ""
    default_gates: tuple[str, ...] = ()
    positive_is_document = False  # True: the corpus document is the positive, negatives are mined
    checks_positive_language = False  # True: the language gate also checks a generated positive
    takes_code = False
    generated_fields: tuple[str, ...] = ("query",)  # the row's texts the generator wrote (the generic gate)
    source_in_corpus = True  # False: source_id names no corpus document (the topic gate does not apply)
    brainstorm_templates: tuple[str, ...] = ()  # the templates `prepare` uses
    makes_standalone_items = False  # True: `standalone_items` gives items (the run adds a last, corpus-free shard)

    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        self.config: TaskConfig = getattr(recipe.tasks, self.name)
        self.stages: list[Stage] = []

    def accepts(self, document: Document) -> bool:
        return is_code(document) == self.takes_code

    def needs_brainstorm(self) -> bool:
        return False

    def prepare(self, brainstormer: Brainstormer) -> BrainstormReport:
        raise NotImplementedError(f"task {self.name!r} has no brainstorm step")

    def restore(self, ideas: list[Any]) -> None:
        """Nothing to restore: a task without a brainstorm step has no ideas."""

    def standalone_items(self) -> list[WorkItem]:
        return []

    def row_gates(self) -> tuple[str, ...]:
        return tuple(self.config.gates) or self.default_gates

    def query_language(self, rng: random.Random, document: Document) -> str:
        """A query language for `document` from the recipe's weights ("same" = its own;
        English for code units)."""
        language = weighted_choice(rng, self.recipe.languages.weights_for(document.language))
        if language != SAME_LANGUAGE:
            return language
        return "en" if is_code(document) else document.language

    def item_id(self, document_id: str, variant: int) -> str:
        """The id of this task's work item (document, variant), and of the row it becomes:
        it depends on the recipe's name and seed only, never on model output."""
        return row_id(self.recipe.name, self.name, document_id, variant, self.recipe.seed)

    def row(self, item: WorkItem, **columns: Any) -> dict[str, Any]:
        """A row of the contract for `item`: `columns` over the defaults."""
        recipe = self.recipe
        row = {
            "id": self.item_id(item.document.id, item.variant),
            "task": self.name,
            "instruction": self.config.instruction,
            "query": "",
            "positive": item.document.text,
            "negatives": [],
            "positive_score": None,
            "negative_scores": [],
            "query_language": item.document.language,
            "document_language": item.document.language,
            "persona": "",
            "query_type": "",
            "difficulty": "",
            "label": None,
            "misleading_label": None,
            "similarity_positive": None,
            "similarity_negative": None,
            "source_id": item.document.id,
            "generator": public_model_id(recipe.generator.model),
            "embedder": public_model_id(recipe.embedder.model),
        }
        unknown = set(columns) - set(row)
        assert not unknown, f"not in the row contract: {unknown}"
        row.update(columns)
        return row
