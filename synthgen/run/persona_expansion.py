"""Growing a persona library with an LLM, the Persona Hub way (Ge et al., arXiv 2406.20094).

Two moves, each one batched engine call:

- text-to-persona: for every document, "who is likely to read / write / like / dislike this
  text?" (`prompts/personas/from_text.j2`; `per_document` requests per document, the i-th
  with the i-th relation of that list, cycling, and its own seed),
- persona-to-persona: for some personas of the seed library, "who is in a close relationship
  with this persona?" (`prompts/personas/from_persona.j2`), which reaches people a corpus
  alone does not show.

Each answer holds one to three `{"persona", "domains"}` objects. Outputs that do not parse or
do not match the schema are counted by reason and skipped. The personas they hold have their
whitespace collapsed; those too short or copying the prompt's placeholder are dropped as
invalid, the rest are deduplicated, in this order, within themselves and against the seed
library: exact duplicates (`normalize_text`: NFKC, case, punctuation, whitespace), then
near duplicates (`find_near_duplicates`: character 5-gram Jaccard >= 0.8 by default). A seed
persona always wins over a new one; among new ones the earlier wins (documents in corpus
order, then seed personas in library order). Each kept persona gets the id `x-` + a stable
hash of its text and its `source`, `text:<document id>` or `persona:<persona id>`.

Requests carry seeds derived from `seed` and the item (document id and variant, or persona
id), so a fixed seed gives the same library.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import orjson

from synthgen.corpus.readers import Document
from synthgen.engines.base import Generator
from synthgen.errors import UserError
from synthgen.corpus.text import normalize_text
from synthgen.corpus.near_dup import NearDupConfig, dedupe_texts
from synthgen.generation.stages import run_stage
from synthgen.generation.work import Stage, WorkItem
from synthgen.personas.library import DOCUMENT_PREFIX_CHARS, Persona
from synthgen.generation.prompts import PromptLibrary
from synthgen.config.run import GeneratorConfig
from synthgen.config.sources import CorpusConfig
from synthgen.generation.rows import stable_hash, stable_int

RELATIONS = ("read", "write", "like", "dislike")
FROM_TEXT = "personas/from_text"
FROM_PERSONA = "personas/from_persona"
MIN_PERSONA_CHARS = 20
MAX_DOMAINS = 3
# The prompts show a persona of the seed library for style (this one when the library is
# empty; either way a copy is dropped as a duplicate) and the answer format with a
# placeholder (small models copy it: dropped as `copied_placeholder`).
PLACEHOLDER = "<one sentence about one person>"
FALLBACK_EXAMPLE = Persona("example", "A pastry chef in Lyon who looks up hydration ratios and "
                           "folding schedules for laminated doughs.", ("cooking",))
_TAG = re.compile(r"[^\w]+", re.UNICODE)


@dataclass(frozen=True)
class NewPersona:
    """A persona the expansion wrote, with where it came from."""

    id: str
    persona: str
    domains: tuple[str, ...]
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "persona": self.persona, "domains": list(self.domains), "source": self.source}


@dataclass
class ExpansionStats:
    """Counts of one expansion. `requests = parsed + sum(malformed)` and
    `candidates = sum(invalid) + exact_duplicates + near_duplicates + kept`; `invalid` counts
    personas that are too short or copy the prompt's placeholder."""

    documents: int = 0
    documents_rejected: int = 0
    seed_personas: int = 0
    expanded_personas: int = 0
    requests: int = 0
    parsed: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    candidates: int = 0
    invalid: dict[str, int] = field(default_factory=dict)
    exact_duplicates: int = 0
    near_duplicates: int = 0
    kept: int = 0
    kept_by_step: dict[str, int] = field(default_factory=dict)
    completion_tokens: int = 0
    generation_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> list[str]:
        """A few lines for the command line."""
        malformed = _counts(self.malformed)
        return [
            f"{self.documents} documents ({self.documents_rejected} rejected by the reader), "
            f"{self.expanded_personas} seed personas expanded: {self.requests} requests, {self.parsed} parsed, "
            f"malformed: {malformed} ({self.generation_seconds:.1f} s generating, {self.completion_tokens} tokens)",
            f"{self.candidates} personas proposed: {self.kept} kept "
            f"({', '.join(f'{v} from {k}' for k, v in sorted(self.kept_by_step.items())) or 'none'}), "
            f"{self.exact_duplicates} exact duplicates, {self.near_duplicates} near duplicates, "
            f"{sum(self.invalid.values())} invalid ({_counts(self.invalid)})",
        ]


@dataclass
class ExpansionResult:
    personas: list[NewPersona]
    stats: ExpansionStats
    # Every dropped candidate: {"persona", "source", "reason", "duplicate_of"?}.
    dropped: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    persona: str
    domains: tuple[str, ...]
    source: str
    step: str


def read_documents(config: CorpusConfig, limit: int | None = None) -> tuple[list[Any], int]:
    """The corpus' usable documents (at most `limit`) and how many records were rejected."""
    from synthgen.corpus.readers import Document, read_corpus

    documents, rejected = [], 0
    for item in read_corpus(config, config.resolved_path()):
        if isinstance(item, Document):
            documents.append(item)
            if limit is not None and len(documents) >= limit:
                break
        else:
            rejected += 1
    return documents, rejected


def expand_library(corpus: Path, out: Path, libraries: Sequence[str], generator: str, *, fmt: str = "auto",
                   text_column: str = "text", id_column: str = "id", per_document: int = 1, from_personas: int = 0,
                   limit_docs: int | None = None, seed: int = 0, max_tokens: int = 200,
                   near_dup_threshold: float = 0.8, overwrite: bool = False) -> ExpansionResult:
    """`synthgen personas expand`: check the arguments (before loading any model), read the
    corpus (`fmt` and the columns as in a recipe's `corpus`), expand the seed `libraries`
    with `generator` (a model name), and write the new personas to `out`."""
    from synthgen.engines import load_generator
    from synthgen.personas.library import load_personas

    if not corpus.exists():
        raise UserError(f"--corpus: {corpus} does not exist")
    if per_document == 0 and from_personas == 0:
        raise UserError("nothing to expand: set --per-document or --from-personas above 0")
    check_output_path(out, overwrite)
    seeds = load_personas(libraries)
    corpus_config = CorpusConfig(path=str(corpus), format=fmt, text_column=text_column, id_column=id_column)
    documents, rejected = read_documents(corpus_config, limit_docs)
    if not documents and not from_personas:
        raise UserError(f"--corpus: {corpus} has no usable documents ({rejected} rejected)")
    sampling = GeneratorConfig(model=generator, max_tokens=max_tokens)
    result = expand_personas(documents, seeds, load_generator(sampling), sampling, per_document=per_document,
                             from_personas=from_personas, seed=seed, near_dup_threshold=near_dup_threshold)
    write_personas(out, result.personas, overwrite=overwrite)
    result.stats.documents_rejected = rejected
    return result


def expand_personas(
    documents: Sequence[Any],
    library: Sequence[Persona],
    generator: Generator,
    sampling: GeneratorConfig,
    *,
    per_document: int = 1,
    from_personas: int = 0,
    seed: int = 0,
    near_dup_threshold: float = 0.8,
    prompts: PromptLibrary | None = None,
    max_document_chars: int = DOCUMENT_PREFIX_CHARS,
) -> ExpansionResult:
    """New personas from `documents` (text-to-persona) and from `from_personas` personas of
    `library` (persona-to-persona), deduplicated against each other and against `library`.

    `documents` are `synthgen.corpus.readers.Document`s (id, text, language). Both steps run as one
    `generator.generate` call each; outputs in request order.
    """
    if per_document < 0 or from_personas < 0:
        raise UserError("personas expand: --per-document and --from-personas must be >= 0")
    try:
        near = NearDupConfig(threshold=near_dup_threshold)
    except ValueError as exc:
        raise UserError(f"personas expand: near-duplicate {exc}") from None
    prompts = prompts or PromptLibrary()
    stats = ExpansionStats(documents=len(documents), seed_personas=len(library))
    domains = sorted({d for p in library for d in p.domains})
    references = list(library) or [FALLBACK_EXAMPLE]  # what new personas must differ from

    text_stage = Stage("text", FROM_TEXT, lambda item: {
        "text": item.document.text[:max_document_chars], "text_language": _language_name(item.document.language),
        "relation": RELATIONS[item.variant % len(RELATIONS)], "domains": domains,
        "example": _example(references, ""), "placeholder": PLACEHOLDER}, _keep_answer)
    text_items = [WorkItem(doc, variant, "personas", stable_int(seed, "persona-expansion", "text", doc.id, variant),
                           fields={"source": f"text:{doc.id}"})
                  for doc in documents for variant in range(per_document)]
    chosen = choose_personas(library, from_personas, seed)
    stats.expanded_personas = len(chosen)
    persona_stage = Stage("persona", FROM_PERSONA, lambda item: {
        "persona": item.document.text, "domains": domains, "example": _example(references, item.fields["persona_id"]),
        "placeholder": PLACEHOLDER}, _keep_answer)
    persona_items = [WorkItem(Document(f"persona:{p.id}", p.persona, "en"), 0, "personas",
                              stable_int(seed, "persona-expansion", "persona", p.id),
                              fields={"source": f"persona:{p.id}", "persona_id": p.id})
                     for p in chosen]
    candidates: list[_Candidate] = []
    for stage, items in ((text_stage, text_items), (persona_stage, persona_items)):
        candidates += _generate(stage, items, generator, prompts, sampling, stats)
    personas, dropped = deduplicate(candidates, references, near, stats)
    return ExpansionResult(personas, stats, dropped)


def choose_personas(library: Sequence[Persona], count: int, seed: int) -> list[Persona]:
    """`count` personas of the library to expand, drawn by `seed`, in library order."""
    if count >= len(library):
        return list(library)
    picked = sorted(random.Random(stable_int(seed, "persona-expansion", "choose")).sample(range(len(library)), count))
    return [library[i] for i in picked]


def deduplicate(candidates: Sequence[_Candidate], library: Sequence[Persona], near: NearDupConfig,
                stats: ExpansionStats) -> tuple[list[NewPersona], list[dict[str, Any]]]:
    """Drop invalid, exact and near duplicates (within the candidates and against the
    library); earlier candidates and library personas win."""
    dropped: list[dict[str, Any]] = []
    placeholder = normalize_text(PLACEHOLDER)
    valid: list[_Candidate] = []
    for cand in candidates:
        stats.candidates += 1
        key = normalize_text(cand.persona)
        invalid = ("too_short" if len(cand.persona) < MIN_PERSONA_CHARS or not key else
                   "copied_placeholder" if key == placeholder else "")
        if invalid:
            stats.invalid[invalid] = stats.invalid.get(invalid, 0) + 1
            dropped.append({"persona": cand.persona, "source": cand.source, "reason": invalid})
        else:
            valid.append(cand)
    # Library personas come first, so a group keeps a library persona if it has one.
    duplicates = dedupe_texts([p.persona for p in library] + [c.persona for c in valid], near)
    all_ids = [p.id for p in library] + ["x-" + stable_hash(c.persona) for c in valid]
    kept: list[NewPersona] = []
    for index, cand in enumerate(valid, start=len(library)):
        if index in duplicates:
            reason, keeper, jaccard = duplicates[index]
            if reason == "exact_duplicate":
                stats.exact_duplicates += 1
                dropped.append({"persona": cand.persona, "source": cand.source, "reason": reason,
                                "duplicate_of": all_ids[keeper]})
            else:
                stats.near_duplicates += 1
                dropped.append({"persona": cand.persona, "source": cand.source, "reason": reason,
                                "duplicate_of": all_ids[keeper], "jaccard": jaccard})
            continue
        kept.append(NewPersona(all_ids[index], cand.persona, cand.domains, cand.source))
        stats.kept_by_step[cand.step] = stats.kept_by_step.get(cand.step, 0) + 1
    stats.kept = len(kept)
    return kept, dropped


def check_output_path(path: Path, overwrite: bool) -> None:
    """Refuse what cannot become a persona library file: raise `UserError` with the fix."""
    if path.suffix.lower() != ".jsonl":
        raise UserError(f"--out: {path} must be a .jsonl file (e.g. personas/NAME.jsonl)")
    if path.is_dir():
        raise UserError(f"--out: {path} is a folder; name a .jsonl file")
    if path.exists() and not overwrite:
        raise UserError(f"--out: {path} already exists (pass --overwrite to replace it)")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"--out: {parent} is not a folder, cannot write {path}")


def write_personas(path: Path, personas: Iterable[NewPersona], overwrite: bool = False) -> Path:
    """Write the library as JSONL (`id`, `persona`, `domains`, `source`), atomically."""
    from synthgen.run.output import atomic_write_bytes

    check_output_path(path, overwrite)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, b"".join(orjson.dumps(p.to_dict()) + b"\n" for p in personas))
    except OSError as exc:
        raise UserError(f"--out: cannot write {path} ({exc.strerror or exc})") from None
    return path


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def _example(references: Sequence[Persona], not_id: str) -> dict[str, Any]:
    """The persona the prompt shows as its answer format: the library's first, or its second
    when the first is the persona being expanded."""
    example = next(p for p in references if p.id != not_id) if len(references) > 1 else references[0]
    return {"persona": example.persona, "domains": list(example.domains)}


def _keep_answer(item: WorkItem, answer: dict[str, Any]) -> str:
    item.fields["answer"] = answer
    return ""


def _generate(stage: Stage, items: list[WorkItem], generator: Generator, prompts: PromptLibrary,
              sampling: GeneratorConfig, stats: ExpansionStats) -> list[_Candidate]:
    """One engine call for the step (`run_stage`, as every task's stage); the personas of every
    answer that parses."""
    kept, _, stage_stats = run_stage(stage, "personas", items, generator, prompts, sampling)
    stats.requests += stage_stats.requests
    stats.parsed += stage_stats.kept
    stats.completion_tokens += stage_stats.completion_tokens
    stats.generation_seconds += stage_stats.seconds
    for reason, count in stage_stats.rejects.items():
        stats.malformed[reason] = stats.malformed.get(reason, 0) + count
    return [_Candidate(" ".join(entry["persona"].split()), _tags(entry["domains"]), item.fields["source"], stage.name)
            for item in kept for entry in item.fields["answer"]["personas"]]


def _tags(domains: Sequence[str]) -> tuple[str, ...]:
    """Domain tags as snake_case, deduplicated, at most `MAX_DOMAINS`."""
    tags: list[str] = []
    for domain in domains:
        tag = _TAG.sub("_", domain.strip().casefold()).strip("_")
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags[:MAX_DOMAINS])


def _language_name(code: str) -> str:
    from synthgen.corpus.language_id import language_name

    return language_name(code)
