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
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import orjson

from synthgen.engines.base import GenerationRequest, Generator
from synthgen.errors import UserError
from synthgen.gates.base import normalize_text
from synthgen.corpus.near_dup import NearDupConfig, find_near_duplicates
from synthgen.generation.parsing import parse_json_output
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

    def to_persona(self) -> Persona:
        return Persona(self.id, self.persona, self.domains)


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

    text_template = prompts.get(FROM_TEXT)
    text_items = [(doc, variant) for doc in documents for variant in range(per_document)]
    text_requests = [
        _request(text_template, {"text": doc.text[:max_document_chars], "text_language": _language_name(doc.language),
                                 "relation": RELATIONS[variant % len(RELATIONS)], "domains": domains,
                                 "example": _example(references, ""), "placeholder": PLACEHOLDER},
                 stable_int(seed, "persona-expansion", "text", doc.id, variant), sampling)
        for doc, variant in text_items
    ]
    chosen = choose_personas(library, from_personas, seed)
    stats.expanded_personas = len(chosen)
    persona_template = prompts.get(FROM_PERSONA)
    persona_requests = [
        _request(persona_template, {"persona": p.persona, "domains": domains, "example": _example(references, p.id),
                                    "placeholder": PLACEHOLDER},
                 stable_int(seed, "persona-expansion", "persona", p.id), sampling)
        for p in chosen
    ]

    candidates: list[_Candidate] = []
    for step, requests, sources in (
        ("text", text_requests, [f"text:{doc.id}" for doc, _ in text_items]),
        ("persona", persona_requests, [f"persona:{p.id}" for p in chosen]),
    ):
        candidates += _generate(step, requests, sources, generator, stats)
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
    seen: dict[str, str] = {normalize_text(p.persona): p.id for p in library}
    placeholder = normalize_text(PLACEHOLDER)
    unique: list[tuple[_Candidate, str]] = []
    for cand in candidates:
        stats.candidates += 1
        key = normalize_text(cand.persona)
        invalid = ("too_short" if len(cand.persona) < MIN_PERSONA_CHARS or not key else
                   "copied_placeholder" if key == placeholder else "")
        if invalid:
            stats.invalid[invalid] = stats.invalid.get(invalid, 0) + 1
            dropped.append({"persona": cand.persona, "source": cand.source, "reason": invalid})
            continue
        new_id = "x-" + stable_hash(cand.persona)
        if key in seen:
            stats.exact_duplicates += 1
            dropped.append({"persona": cand.persona, "source": cand.source, "reason": "exact_duplicate",
                            "duplicate_of": seen[key]})
            continue
        seen[key] = new_id
        unique.append((cand, new_id))

    # Library personas get ids that sort first, so a cluster keeps a library persona if it
    # has one; new ones follow in candidate order.
    ids = [f"0:{i:012d}" for i in range(len(library))] + [f"1:{i:012d}" for i in range(len(unique))]
    texts = [p.persona for p in library] + [c.persona for c, _ in unique]
    duplicates = find_near_duplicates(ids, texts, near)
    all_ids = [p.id for p in library] + [new_id for _, new_id in unique]
    kept: list[NewPersona] = []
    for offset, (cand, new_id) in enumerate(unique):
        index = len(library) + offset
        if index in duplicates:
            keeper, jaccard = duplicates[index]
            stats.near_duplicates += 1
            dropped.append({"persona": cand.persona, "source": cand.source, "reason": "near_duplicate",
                            "duplicate_of": all_ids[keeper], "jaccard": round(float(jaccard), 4)})
            continue
        kept.append(NewPersona(new_id, cand.persona, cand.domains, cand.source))
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


def _request(template, variables: dict[str, Any], seed: int, sampling: GeneratorConfig) -> GenerationRequest:
    return GenerationRequest(messages=template.messages(variables), seed=seed, max_tokens=sampling.max_tokens,
                             temperature=sampling.temperature, top_p=sampling.top_p,
                             schema=template.output_schema)


def _generate(step: str, requests: list[GenerationRequest], sources: list[str], generator: Generator,
              stats: ExpansionStats) -> list[_Candidate]:
    """One engine call for the step; the personas of every answer that parses."""
    if not requests:
        return []
    started = time.perf_counter()
    outputs = generator.generate(requests)
    stats.generation_seconds += time.perf_counter() - started
    if len(outputs) != len(requests):
        raise RuntimeError(f"generator returned {len(outputs)} outputs for {len(requests)} requests")
    candidates = []
    for request, output, source in zip(requests, outputs, sources):
        stats.requests += 1
        stats.completion_tokens += output.completion_tokens
        parsed = parse_json_output(output.text, request.schema)
        if not parsed.ok:
            reason = "truncated_output" if output.finish_reason == "length" else parsed.reason.split(":")[0]
            stats.malformed[reason] = stats.malformed.get(reason, 0) + 1
            continue
        stats.parsed += 1
        for entry in parsed.value["personas"]:
            candidates.append(_Candidate(" ".join(entry["persona"].split()), _tags(entry["domains"]), source, step))
    return candidates


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
