"""Running one stage of a task over a batch of work items, as one engine call.

All requests of a stage for a shard go to the engine together (vLLM schedules them as one
batch). Each request carries its own seed, derived from the item, so outputs do not
depend on batch composition. Outputs are parsed; an item whose output fails is rejected
with the raw text and the reason, the rest move on to the next stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

from synthgen.corpus.readers import Reject
from synthgen.engines.base import GenerationRequest, Generator
from synthgen.corpus.text import normalize_text
from synthgen.generation.parsing import parse_json_output
from synthgen.generation.prompts import PromptLibrary
from synthgen.config.run import GeneratorConfig
from synthgen.generation.rows import stable_int
from synthgen.generation.work import Stage, WorkItem


@dataclass
class StageStats:
    """Per-stage counters; merge with `+=`."""

    requests: int = 0
    kept: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    seconds: float = 0.0
    rejects: dict[str, int] = field(default_factory=dict)

    def __iadd__(self, other: "StageStats") -> "StageStats":
        for name in ("requests", "kept", "prompt_tokens", "completion_tokens", "cached_tokens", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, count in other.rejects.items():
            self.rejects[reason] = self.rejects.get(reason, 0) + count
        return self


def build_requests(stage: Stage, items: Sequence[WorkItem], prompts: PromptLibrary,
                   sampling: GeneratorConfig) -> list[GenerationRequest]:
    """The stage's request for each item, rendered from its template."""
    template = prompts.get(stage.template)
    base_schema = template.output_schema
    return [
        GenerationRequest(
            messages=template.messages(stage.variables(item)),
            seed=stable_int(item.seed, stage.name),
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            schema=stage.schema(item, base_schema),
        )
        for item in items
    ]


def echoed_prompt(answer: dict, request: GenerationRequest, variables: dict) -> str:
    """"copied_prompt" when a value of the answer is a key name of the schema or a phrase of
    the prompt's own instructions (not of its passage or other variables, and not one of
    the choices the schema offers): small models answer "hard_negative_document" or "a
    faithful, fluent translation into English"."""
    properties = (request.schema or {}).get("properties", {})
    keys = {normalize_text(k) for k in properties}
    choices = {choice for spec in properties.values() for choice in spec.get("enum", ())}
    prompt = normalize_text(" ".join(m["content"] for m in request.messages))
    data = None  # the variables, normalized only for a value found in the prompt
    for value in answer.values():
        if not isinstance(value, str) or value in choices:
            continue
        text = normalize_text(value)
        if text in keys:
            return "copied_prompt"
        if len(text.split()) >= 3 and text in prompt:
            data = data if data is not None else [normalize_text(str(v)) for v in variables.values()]
            if not any(text in d for d in data):
                return "copied_prompt"
    return ""


def run_stage(stage: Stage, task_name: str, items: Sequence[WorkItem], generator: Generator,
              prompts: PromptLibrary, sampling: GeneratorConfig) -> tuple[list[WorkItem], list[Reject], StageStats]:
    """Generate, parse and apply one stage for all items; return survivors and rejects."""
    stats = StageStats()
    if not items:
        return [], [], stats
    requests = build_requests(stage, items, prompts, sampling)
    started = time.perf_counter()
    outputs = generator.generate(requests)
    stats.seconds = time.perf_counter() - started
    kept: list[WorkItem] = []
    rejects: list[Reject] = []
    for item, request, output in zip(items, requests, outputs):
        stats.requests += 1
        stats.prompt_tokens += output.prompt_tokens
        stats.completion_tokens += output.completion_tokens
        stats.cached_tokens += output.cached_tokens
        item.tokens[0] += output.prompt_tokens
        item.tokens[1] += output.completion_tokens
        item.raw[stage.name] = output.text
        parsed = parse_json_output(output.text, request.schema)
        reason = parsed.reason if not parsed.ok else echoed_prompt(parsed.value, request, stage.variables(item))
        reason = reason or stage.apply(item, parsed.value)
        if reason and output.finish_reason == "length":
            reason = "truncated_output"
        elif output.finish_reason.startswith("error:"):  # a server refused this one request (400...)
            reason = output.finish_reason.replace(":", "_", 1)
        elif output.finish_reason == "refusal":
            reason = "refusal"
        if reason:
            short = reason.split(":")[0]
            stats.rejects[short] = stats.rejects.get(short, 0) + 1
            rejects.append(Reject(f"{task_name}/{stage.name}", short, item.document.id, {
                "id": item.id, "variant": item.variant, "detail": reason, "finish_reason": output.finish_reason,
                "raw": output.text, "fields": dict(item.fields)}))
        else:
            kept.append(item)
    stats.kept = len(kept)
    return kept, rejects, stats
