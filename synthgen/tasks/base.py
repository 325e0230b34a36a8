"""What a task is: a list of stages (one template each) and how finished items become rows.

A `WorkItem` is one (document, variant): everything sampled for it up front (so resumed
runs sample the same), and the fields its stages fill in. Each `Stage` renders one prompt
per item, declares the schema of the answer (narrowed per item if needed), and applies a
parsed answer to the item, or returns why it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from synthgen.corpus import Document
from synthgen.personas import Persona
from synthgen.recipe import Recipe


@dataclass
class WorkItem:
    document: Document
    variant: int
    task: str
    seed: int
    candidates: list[Persona] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)

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

    def plan(self, item: WorkItem) -> None:
        """Sample the item's requirements (language, length...) from `item.seed`."""
        ...

    def to_row(self, item: WorkItem) -> dict[str, Any]:
        """The finished item as a row of the contract (scores filled in later)."""
        ...


TaskFactory = Callable[[Recipe], Task]
