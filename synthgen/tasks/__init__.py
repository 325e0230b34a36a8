"""Task types. Each is a folder of prompts (`prompts/<task>/`) plus a small class here:
its stages, which documents it takes, which gates apply, and how an item becomes a row.
Also the brainstormer of corpus-free tasks and the inverse-cloze pairs (no LLM) that
calibrate the gates and serve as the eval's baseline.

May import: config, corpus, personas, generation, engines.
"""

from __future__ import annotations

from synthgen.config.recipe import Recipe
from synthgen.tasks.base import BaseTask, Task
from synthgen.generation.work import Stage, WorkItem
from synthgen.tasks.bitext import BitextTask
from synthgen.tasks.classification import ClassificationTask
from synthgen.tasks.code_retrieval import CodeRetrievalTask
from synthgen.tasks.corpus_free import CorpusFreeTask
from synthgen.tasks.matching import MatchingTask
from synthgen.tasks.retrieval import RetrievalTask
from synthgen.tasks.sts import StsTask

TASK_TYPES: dict[str, type[BaseTask]] = {task.name: task for task in (
    RetrievalTask, BitextTask, StsTask, ClassificationTask, MatchingTask, CodeRetrievalTask, CorpusFreeTask)}


def build_tasks(recipe: Recipe) -> dict[str, Task]:
    """The recipe's enabled tasks (weight > 0), by name, in the order of TASK_TYPES."""
    enabled = recipe.tasks.enabled()
    return {name: cls(recipe) for name, cls in TASK_TYPES.items() if name in enabled}


__all__ = ["Stage", "Task", "WorkItem", "TASK_TYPES", "build_tasks"]
