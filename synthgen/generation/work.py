"""What generation works on: `WorkItem`s, pushed through a task's `Stage`s.

A `WorkItem` is one (document, variant): everything sampled for it up front (so resumed
runs sample the same), and the fields its stages fill in. Each `Stage` renders one prompt
per item, declares the schema of the answer (narrowed per item if needed), and applies a
parsed answer to the item, or returns why it cannot. Tasks (`synthgen/tasks/`) define their
stages; `synthgen/generation/stages.py` runs one stage over a batch of items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from synthgen.corpus.readers import Document
from synthgen.personas.library import Persona


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
