"""What a task is: a list of stages (one template each) and how finished items become rows.

A `WorkItem` is one (document, variant): everything sampled for it up front (so resumed
runs sample the same), and the fields its stages fill in. Each `Stage` renders one prompt
per item, declares the schema of the answer (narrowed per item if needed), and applies a
parsed answer to the item, or returns why it cannot.

`BaseTask` holds what task types share: which documents they take, which per-row gates
apply to their rows, whether the positive is the corpus document (then negatives are
mined from the corpus) or a generated text (then the generated negatives are kept), which
of the row's texts the generator wrote, and the row of the contract with every column filled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from synthgen.corpus.readers import Document
from synthgen.engines.models import public_model_id
from synthgen.personas.library import Persona
from synthgen.config.languages import CODE_LANGUAGES, SAME_LANGUAGE
from synthgen.config.recipe import Recipe
from synthgen.config.tasks import TaskConfig
from synthgen.generation.rows import row_id


@dataclass
class WorkItem:
    document: Document
    variant: int
    task: str
    seed: int
    candidates: list[Persona] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    id: str = ""  # the id of the row it becomes (`BaseTask.item_id`); its rejects carry it too
    tokens: list[int] = field(default_factory=lambda: [0, 0])  # prompt, completion: every stage's

    @property
    def key(self) -> str:
        return f"{self.document.id}#{self.variant}"


@dataclass(frozen=True)
class Stage:
    """One generation step of a task.

    `variables(item)` gives the template variables; `schema(item, base)` may narrow the
    template's declared schema for this item (e.g. an enum of candidates); `apply(item,
    answer)` stores the parsed answer and returns "" or the reason to reject the item.
    """

    name: str
    template: str
    variables: Callable[[WorkItem], dict[str, Any]]
    apply: Callable[[WorkItem, dict[str, Any]], str]
    schema: Callable[[WorkItem, dict[str, Any]], dict[str, Any]] = lambda item, base: base


class Task(Protocol):
    name: str
    stages: list[Stage]
    config: TaskConfig
    positive_is_document: bool
    checks_positive_language: bool
    takes_code: bool
    generated_fields: tuple[str, ...]
    source_in_corpus: bool

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
    return document.language in CODE_LANGUAGES


def weighted_choice(rng: random.Random, weights: dict[str, float]) -> str:
    """One key of `weights`, drawn in proportion to its weight (keys in sorted order)."""
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


class BaseTask:
    """Shared behaviour of task types; subclasses set the class attributes and stages."""

    name = ""
    default_gates: tuple[str, ...] = ()
    positive_is_document = False  # True: the corpus document is the positive, negatives are mined
    checks_positive_language = False  # True: the language gate also checks a generated positive
    takes_code = False
    generated_fields: tuple[str, ...] = ("query",)  # the row's texts the generator wrote (the generic gate)
    source_in_corpus = True  # False: source_id names no corpus document (the topic gate does not apply)

    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        self.config: TaskConfig = getattr(recipe.tasks, self.name)
        self.stages: list[Stage] = []

    def accepts(self, document: Document) -> bool:
        return is_code(document) == self.takes_code

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


TaskFactory = Callable[[Recipe], Task]
