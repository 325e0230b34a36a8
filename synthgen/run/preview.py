"""`synthgen render`: the exact prompts one document would get, without loading the generator.

Items are planned exactly as a run plans them (`ShardWorker.plan`).

Persona candidates come from the embedder (small, quick to load). Later stages depend on
earlier answers, which only the generator can give; the preview fills them with a
stand-in answer (the first candidate, the first allowed enum value) and says so.
"""

from __future__ import annotations

from typing import Any

import orjson

from synthgen.corpus.readers import Document, read_corpus
from synthgen.engines.base import Embedder
from synthgen.errors import UserError
from synthgen.generation.stages import build_requests
from synthgen.engines import load_embedder
from synthgen.personas.library import load_personas
from synthgen.generation.prompts import DEFAULT_PROMPTS_DIR
from synthgen.config.recipe import Recipe
from synthgen.run.shard_worker import ShardResult, ShardWorker


def find_document(recipe: Recipe, index: int) -> Document:
    """The index-th kept document of the corpus (0-based), as a run would see it."""
    if index < 0:
        raise UserError(f"--doc must be >= 0, got {index}")
    kept = 0
    for item in (d for c in recipe.corpus for d in read_corpus(c, c.resolved_path())):
        if isinstance(item, Document):
            if kept == index:
                return item
            kept += 1
    raise UserError(f"--doc {index}: the corpus has only {kept} usable documents")


def render_prompts(recipe: Recipe, doc_index: int, embedder: Embedder | None = None) -> list[dict[str, Any]]:
    """One entry per (variant, stage): messages, schema and sampling, as sent to the engine."""
    document = find_document(recipe, doc_index)
    worker = ShardWorker(recipe, load_personas(recipe.personas.libraries), DEFAULT_PROMPTS_DIR,
                         embedder=embedder or load_embedder(recipe.embedder))
    rendered = []
    skipped = ShardResult(0, [], [], [], {})
    items = worker.plan([document], skipped)
    if skipped.rejects:
        raise UserError(f"--doc {doc_index}: no task of the recipe takes document {document.id!r} "
                        f"(language {document.language}); brainstormed label sets are only known in a run")
    for item in items:
        task = worker.tasks[item.task]
        for stage in task.stages:
            request = build_requests(stage, [item], worker.prompts, recipe.generator)[0]
            rendered.append({"task": item.task, "variant": item.variant, "stage": stage.name,
                             "template": stage.template, "messages": request.messages,
                             "schema": request.schema, "seed": request.seed,
                             "assumed": _assume_answer(stage.apply, item, request.schema)})
    return rendered


def prompt_lines(rendered: list[dict[str, Any]]) -> list[str]:
    """`render_prompts` as text: per entry a header, each message, the schema and the
    answer the preview assumed (each string one printed line, some with line breaks)."""
    lines = []
    for entry in rendered:
        lines.append(f"===== {entry['task']} / variant {entry['variant']} / stage {entry['stage']} "
                     f"({entry['template']}.j2, seed {entry['seed']})")
        lines += [f"--- {message['role']}\n{message['content']}" for message in entry["messages"]]
        lines.append(f"--- output schema\n{orjson.dumps(entry['schema']).decode()}")
        lines.append(f"--- (preview assumes the answer {orjson.dumps(entry['assumed']).decode()})\n")
    return lines


def _assume_answer(apply, item, schema: dict[str, Any]) -> dict[str, Any]:
    """Fill the item as if the model answered with the first allowed value of each field."""
    answer = {}
    for key, spec in schema.get("properties", {}).items():
        answer[key] = spec["enum"][0] if "enum" in spec else f"<{key} from the model>"
    apply(item, answer)
    return answer
