"""`[judge]`: the LLM or cross-encoder that relabels mined rows (`synthgen/judge/`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthgen.config.rules import check, one_of
from synthgen.config.run import BUILTIN_GENERATOR, check_endpoint


@dataclass(frozen=True)
class JudgeConfig:
    """`[judge]`: an LLM or a cross-encoder scores each (query, positive) and (query, mined
    negative) pair after mining, and relabels by what it finds (Gecko, arXiv 2403.20327).
    `synthgen judge RUN` applies it to a finished run (synthgen/judge/).

    `kind = "llm"`: `model` (default the built-in generator; any vLLM model, or the name an
    OpenAI-compatible server at `base_url` serves with `engine = "openai"`) reads the
    yes/no prompt `template` (prompts/judge/relevance.j2) and the probability of "yes"
    against "no" for its next token is the score (one forward pass, `top_logprobs` read).
    `kind = "cross-encoder"`: `model` is a sentence-transformers CrossEncoder (hub id or
    path) with one output, squashed by a sigmoid.
    A negative scoring >= `relevant_threshold` is dropped as a false negative
    (`judged_relevant`); when the best negative outscores the positive by `better_margin`
    or more, the row is relabeled (that negative becomes the positive) or dropped, as
    `on_better_negative` says. Documents are cut to `max_document_chars` for the prompt.
    Scores are cached in OUT/judge/cache.jsonl, so a rerun makes no engine requests.
    """

    enabled: bool = False
    kind: str = "llm"
    model: str = BUILTIN_GENERATOR
    engine: str = "vllm"
    base_url: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    template: str = "judge/relevance"
    relevant_threshold: float = 0.5
    better_margin: float = 0.1
    on_better_negative: str = "relabel"
    top_logprobs: int = 20
    batch_size: int = 512
    max_document_chars: int = 4000

    def __post_init__(self) -> None:
        one_of("judge.kind", self.kind, ("llm", "cross-encoder"))
        check("judge.model", bool(self.model.strip()), "must name a model", self.model)
        check("judge.model", not (self.kind == "cross-encoder" and self.model.startswith("builtin:")),
              "must be a CrossEncoder hub id or path when judge.kind = 'cross-encoder'", self.model)
        check_endpoint("judge", self.engine, self.base_url, self.api_key_env)
        check("judge.concurrency", self.concurrency >= 1, "must be >= 1", self.concurrency)
        check("judge.template", bool(self.template.strip()), "must name a prompt template", self.template)
        check("judge.relevant_threshold", 0 < self.relevant_threshold <= 1, "must be in (0, 1]",
              self.relevant_threshold)
        check("judge.better_margin", 0 <= self.better_margin <= 1, "must be in [0, 1]", self.better_margin)
        one_of("judge.on_better_negative", self.on_better_negative, ("relabel", "drop"))
        check("judge.top_logprobs", 2 <= self.top_logprobs <= 20, "must be in [2, 20]", self.top_logprobs)
        check("judge.batch_size", self.batch_size >= 1, "must be >= 1", self.batch_size)
        check("judge.max_document_chars", self.max_document_chars >= 100, "must be >= 100",
              self.max_document_chars)
