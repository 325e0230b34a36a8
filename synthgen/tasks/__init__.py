"""Task types. Each is a folder of prompts plus a small class: its stages and its rows."""

from __future__ import annotations

from synthgen.recipe import Recipe
from synthgen.tasks.base import Stage, Task, WorkItem
from synthgen.tasks.retrieval import RetrievalTask

TASK_TYPES = {"retrieval": RetrievalTask}


def build_tasks(recipe: Recipe) -> dict[str, Task]:
    """The recipe's enabled tasks (weight > 0), by name."""
    return {name: TASK_TYPES[name](recipe) for name, cfg in recipe.tasks.enabled().items() if cfg.weight > 0}


__all__ = ["Stage", "Task", "WorkItem", "TASK_TYPES", "build_tasks"]
