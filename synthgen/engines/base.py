"""The engine protocols: one batched call in, one list of results out.

Following vLLM's advice ("put all of your prompts into a single list"), a generator gets a
whole shard's requests at once, each with its own seed and JSON schema.

A generator subclasses `Generator` and implements `generate`; what else the protocol
declares (`context_length`, `fit_text`, `stats`) has a default there that an engine
overrides when it knows better, so the run never asks whether a generator has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, Mapping, Protocol, Sequence

import numpy as np


@dataclass(frozen=True)
class GenerationRequest:
    """One chat request. `seed` makes sampling reproducible per request, whatever the batch."""

    messages: list[dict[str, str]]
    seed: int
    max_tokens: int
    temperature: float
    top_p: float
    schema: dict[str, Any] | None = None
    logprobs: int = 0  # > 0: return the top `logprobs` log-probabilities of each generated token


@dataclass(frozen=True)
class GenerationOutput:
    """What came back: the text, why decoding stopped, and the token counts."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    # With `GenerationRequest.logprobs`: per generated token, {token text: log-probability}
    # of the top tokens (the engine's decoded text, e.g. "yes", " Yes").
    top_logprobs: list[dict[str, float]] | None = None


class Generator(Protocol):
    """What the run asks of a generator. Subclass it: `generate` is required, the rest
    has a default (no known context, 3 characters per token, no counters)."""

    model_id: str
    stats: Mapping[str, int] = MappingProxyType({})
    """The engine's own counters (requests, retries...), recorded in the manifest."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        """Run all requests as one batch; outputs come back in request order."""
        ...

    @property
    def context_length(self) -> int | None:
        """Prompt + completion tokens the engine takes, or None when it does not say
        (documents are then cut only by `corpus.max_tokens`)."""
        return None

    def fit_text(self, text: str, max_tokens: int) -> str:
        """`text` within `max_tokens` tokens. Without a tokenizer: 3 characters per token
        (a safe bound for most tokenizers), cut at a space."""
        return text if len(text) <= 3 * max_tokens else text[: 3 * max_tokens].rsplit(" ", 1)[0]


class Embedder(Protocol):
    model_id: str

    def embed(self, texts: Sequence[str], kind: Literal["query", "document"]) -> np.ndarray:
        """L2-normalized float32 vectors, one row per text; `kind` selects query prompts."""
        ...
