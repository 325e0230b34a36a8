"""The engine protocols: one batched call in, one list of results out.

Following vLLM's advice ("put all of your prompts into a single list"), a generator gets a
whole shard's requests at once, each with its own seed and JSON schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, Sequence

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
    model_id: str

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        """Run all requests as one batch; outputs come back in request order."""
        ...


class Embedder(Protocol):
    model_id: str

    def embed(self, texts: Sequence[str], kind: Literal["query", "document"]) -> np.ndarray:
        """L2-normalized float32 vectors, one row per text; `kind` selects query prompts."""
        ...
