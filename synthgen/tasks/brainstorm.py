"""Brainstorming lists with the generator, then deduplicating them (E5-mistral).

E5-mistral (arXiv 2401.00368) first asks the LLM to brainstorm task definitions, then
generates examples per task; classification label sets can be brainstormed the same way.
Each request here is steered by a persona drawn from the run's library (Persona Hub's
trick for diversity, arXiv 2406.20094), and the ideas of all requests are deduplicated:
exact after `normalize_text`, then near (character 5-gram MinHash, Jaccard >= 0.8), the
first in request order winning; ideas that copy a line of the prompt (its examples) are
dropped too. Requests, malformed outputs and duplicates are counted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from synthgen.corpus.readers import Document, Reject
from synthgen.engines.base import Generator
from synthgen.corpus.text import clean_list_item, normalize_text
from synthgen.corpus.near_dup import NearDupConfig, dedupe_texts
from synthgen.generation.stages import StageStats, run_stage
from synthgen.personas.library import Persona
from synthgen.generation.prompts import PromptLibrary
from synthgen.config.run import GeneratorConfig
from synthgen.generation.rows import stable_int
from synthgen.generation.work import Stage, WorkItem

NEAR_DUPLICATE_JACCARD = 0.8


@dataclass
class BrainstormReport:
    ideas: list[Any] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    stats: StageStats = field(default_factory=StageStats)
    duplicates: int = 0


@dataclass
class Brainstormer:
    """Runs brainstorm templates (variables: `persona`) for tasks that need one."""

    generator: Generator
    prompts: PromptLibrary
    sampling: GeneratorConfig
    personas: list[Persona]
    seed: int

    def run(self, task: str, template: str, requests: int, extract: Callable[[dict[str, Any]], list[Any]],
            key: Callable[[Any], str]) -> BrainstormReport:
        """`requests` brainstorm calls; `extract` pulls the ideas out of one parsed answer,
        `key` gives the text an idea is deduplicated by."""
        rng = random.Random(stable_int(self.seed, task, "brainstorm"))
        items = [WorkItem(Document(f"brainstorm:{task}:{i}", "", "en"), i, task,
                          stable_int(self.seed, task, "brainstorm", i), fields={"persona": rng.choice(self.personas)})
                 for i in range(requests)]
        stage = Stage("brainstorm", template, lambda item: {"persona": item.fields["persona"].persona}, _keep_answer)
        kept, rejects, stats = run_stage(stage, task, items, self.generator, self.prompts, self.sampling)
        ideas = [idea for item in kept for idea in extract(item.fields["answer"])]
        prompt = self.prompts.get(template).messages({"persona": ""})[-1]["content"]
        unique = without_prompt_lines(deduplicate(ideas, key), prompt, key)
        return BrainstormReport(unique, rejects, stats, len(ideas) - len(unique))


def without_prompt_lines(ideas: list[Any], prompt: str, key: Callable[[Any], str]) -> list[Any]:
    """Ideas that are not (near) copies of a line of the prompt: small models hand the
    prompt's examples back as their own ideas."""
    lines = [line for line in map(clean_list_item, prompt.splitlines()) if len(line.split()) >= 4]
    dropped = dedupe_texts(lines + [key(idea) for idea in ideas], NearDupConfig(threshold=NEAR_DUPLICATE_JACCARD))
    return [idea for i, idea in enumerate(ideas, start=len(lines)) if i not in dropped]


def _keep_answer(item: WorkItem, answer: dict[str, Any]) -> str:
    item.fields["answer"] = answer
    return ""


def deduplicate(ideas: list[Any], key: Callable[[Any], str]) -> list[Any]:
    """Ideas without empty texts, exact (normalized) or near duplicates; the first of each group stays."""
    ideas = [idea for idea in ideas if normalize_text(key(idea))]
    dropped = dedupe_texts([key(idea) for idea in ideas], NearDupConfig(threshold=NEAR_DUPLICATE_JACCARD))
    return [idea for i, idea in enumerate(ideas) if i not in dropped]
