"""The gates by name: the code that runs each gate of the recipe, in the order they apply.

The names, their settings classes and which gates check rows one task at a time are the
recipe's (`synthgen.config.quality.GATES`, read off `GatesConfig`); this module adds what
runs them. `synthgen/run/finalize.py` applies them in this order:

1. `ALL_ROW_GATES`, over every generated row at once, by query (its id, query and positive
   only, so memory stays small): exact duplicates, then near duplicates among the rest.
   Each finds {row index: (reason, detail)}.
2. `PER_ROW_GATES`, per task, each on the rows the previous ones kept, when the task lists
   it (`tasks.<name>.gates`, else its defaults). Each builds the task's `Gate`, or None
   where it does not apply to the task (consistency needs the corpus document as the
   positive, topic a corpus document as the source).

A gate that is off in the recipe (`GatesConfig.is_on`) is skipped either way.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Sequence

from synthgen.config.quality import GatesConfig, NearDupGateConfig
from synthgen.corpus.near_dup import NearDupConfig, find_near_duplicates
from synthgen.gates.base import Gate
from synthgen.gates.cosine import ConsistencyFilter, CosineFilter, MarginFilter
from synthgen.gates.exact import find_exact_duplicates
from synthgen.gates.language import LanguageFilter
from synthgen.gates.leakage import LeakageFilter
from synthgen.gates.semantic import GenericTextFilter, InstructionFilter, PositiveLengthFilter, TopicFilter
from synthgen.gates.translation import TranslationFilter

if TYPE_CHECKING:
    from synthgen.tasks.base import Task

Found = dict[int, tuple[str, dict[str, Any]]]  # {row index: (reason, detail)}


def _exact_duplicates(settings: bool, ids: Sequence[str], queries: Sequence[str],
                      positives: Sequence[str]) -> Found:
    found = find_exact_duplicates(ids, queries, positives)
    return {i: (reason, {"duplicate_of": ids[kept]}) for i, (reason, kept) in found.items()}


def _near_duplicates(settings: NearDupGateConfig, ids: Sequence[str], queries: Sequence[str],
                     positives: Sequence[str]) -> Found:
    config = NearDupConfig(threshold=settings.threshold, ngram=settings.ngram)
    found = find_near_duplicates(ids, queries, config)
    return {j: ("near_duplicate_query", {"duplicate_of": ids[kept], "jaccard": round(jaccard, 4)})
            for j, (kept, jaccard) in found.items()}


# name -> (its settings, row ids, queries, positives) -> what it drops
ALL_ROW_GATES: dict[str, Callable[[Any, Sequence[str], Sequence[str], Sequence[str]], Found]] = {
    "exact_dedup": _exact_duplicates,
    "near_dup": _near_duplicates,
}


def _cosine(settings: Any, task: Task, languages: frozenset[str]) -> Gate:
    if task.config.min_cosine is not None:  # the task's own threshold
        settings = dataclasses.replace(settings, min_score=task.config.min_cosine)
    return CosineFilter(settings)


# name -> (its settings, the task, the languages the recipe names) -> the task's gate, or None
# where it does not apply
PER_ROW_GATES: dict[str, Callable[[Any, Task, frozenset[str]], Gate | None]] = {
    "leakage": lambda settings, task, languages: LeakageFilter(settings),
    "generic": lambda settings, task, languages: GenericTextFilter(settings, task.generated_fields),
    "instruction": lambda settings, task, languages: InstructionFilter(settings),
    "positive_length": lambda settings, task, languages: PositiveLengthFilter(settings),
    "language": lambda settings, task, languages: LanguageFilter(settings, task.checks_positive_language, languages),
    "translation": lambda settings, task, languages: TranslationFilter(settings),
    "cosine": _cosine,
    "margin": lambda settings, task, languages: MarginFilter(settings),
    "consistency": lambda settings, task, languages: (ConsistencyFilter(settings) if task.positive_is_document
                                                      else None),
    "topic": lambda settings, task, languages: TopicFilter(settings) if task.source_in_corpus else None,
}


def task_gates(gates: GatesConfig, task: Task, languages: frozenset[str] | set[str] = frozenset()) -> list[Gate]:
    """The per-row gates for one task's rows: those the task lists that are on, in the
    order of `PER_ROW_GATES`. `languages`: what the recipe names (the language gate's
    candidates, beside each row's own)."""
    wanted = set(task.row_gates())
    built = (build(getattr(gates, name), task, frozenset(languages)) for name, build in PER_ROW_GATES.items()
             if name in wanted and gates.is_on(name))
    return [gate for gate in built if gate is not None]


def all_row_drops(gates: GatesConfig, ids: list[str], queries: list[str], positives: list[str]) -> Found:
    """{row index: (`<gate>/<reason>`, detail)} of the gates over all rows that are on, each
    run on the rows the ones before it kept."""
    dropped: Found = {}
    for name, find in ALL_ROW_GATES.items():
        if not gates.is_on(name):
            continue
        live = [i for i in range(len(ids)) if i not in dropped]
        if len(live) == len(ids):
            found = find(getattr(gates, name), ids, queries, positives)
        else:
            found = find(getattr(gates, name), [ids[i] for i in live], [queries[i] for i in live],
                         [positives[i] for i in live])
        for j, (reason, detail) in found.items():
            dropped[live[j]] = (f"{name}/{reason}", detail)
    return dropped
