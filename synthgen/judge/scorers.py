"""Judges: score (instruction, query, document) triples with a probability of relevance.

- `LLMJudge`: the yes/no prompt (prompts/judge/relevance.j2) sent to a generator with
  `max_tokens=1`, `temperature=0` and the top log-probabilities asked for; the score is
  p(yes) / (p(yes) + p(no)) of that one token (`synthgen/judge/probability.py`). All the
  uncached pairs go to the engine in batches of `batch_size` requests.
- `CrossEncoderJudge`: sentence-transformers' `CrossEncoder(model)`, a sigmoid over its
  one logit.

Both look pairs up in a `ScoreCache` first; `engine_requests` counts what reached the
engine, so a rerun on a cached run reads 0. The engine is made only when a pair misses
the cache (`make_generator`), so a cached rerun does not even load the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

from synthgen.engines.base import GenerationRequest, Generator
from synthgen.generation.prompts import PromptTemplate
from synthgen.judge.cache import ScoreCache, pair_key
from synthgen.judge.probability import yes_probability


@dataclass(frozen=True)
class Pair:
    instruction: str
    query: str
    document: str


@dataclass
class JudgeStats:
    pairs: int = 0
    cache_hits: int = 0
    engine_requests: int = 0
    undecided: int = 0  # neither "yes" nor "no" among the top tokens: scored 0.5
    engine_seconds: float = 0.0  # scoring what the cache lacked, without loading the model
    load_seconds: float = 0.0  # loading the judge's model (only when the cache lacked a pair)

    def to_dict(self) -> dict[str, float]:
        return {**vars(self), "engine_seconds": round(self.engine_seconds, 3),
                "load_seconds": round(self.load_seconds, 3)}


class CachedJudge:
    """What both judges share: the cache, the batching and the counters."""

    model_id: str = ""
    prompt_hash: str = ""

    def __init__(self, cache: ScoreCache, batch_size: int):
        self.cache = cache
        self.batch_size = batch_size
        self.stats = JudgeStats()

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        keys = [pair_key(self.model_id, self.prompt_hash, p.instruction, p.query, p.document) for p in pairs]
        self.stats.pairs += len(pairs)
        missing: dict[str, Pair] = {}
        for key, pair in zip(keys, pairs):
            if self.cache.get(key) is None:
                missing.setdefault(key, pair)
        self.stats.cache_hits += len(pairs) - len(missing)  # answered without a request of their own
        # Pairs of one document side by side: their prompts share a prefix the engine caches.
        todo = sorted(missing.items(), key=lambda item: (item[1].instruction, item[1].document, item[1].query))
        started, loaded = time.perf_counter(), self.stats.load_seconds
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            scores = self._score_uncached([pair for _, pair in batch])
            self.cache.add({key: score for (key, _), score in zip(batch, scores)})
        if todo:
            self.stats.engine_seconds += time.perf_counter() - started - (self.stats.load_seconds - loaded)
        return [float(self.cache.get(key)) for key in keys]

    def _score_uncached(self, pairs: list[Pair]) -> list[float]:
        raise NotImplementedError


class LLMJudge(CachedJudge):
    """p(yes) of a generator reading the relevance prompt."""

    def __init__(self, make_generator: Callable[[], Generator], model_id: str, template: PromptTemplate,
                 cache: ScoreCache, batch_size: int = 512, top_logprobs: int = 20,
                 max_document_chars: int = 4000):
        super().__init__(cache, batch_size)
        self._make_generator = make_generator
        self._generator: Generator | None = None
        self.model_id = model_id
        self.template = template
        self.prompt_hash = template.sha256
        self.top_logprobs = top_logprobs
        self.max_document_chars = max_document_chars

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            started = time.perf_counter()
            self._generator = self._make_generator()
            self.stats.load_seconds += time.perf_counter() - started
        return self._generator

    def requests(self, pairs: Sequence[Pair]) -> list[GenerationRequest]:
        """One request per pair: the prompt (texts as variables), one token, greedy, logprobs."""
        return [GenerationRequest(
            messages=self.template.messages({"instruction": p.instruction, "query": p.query[:1000],
                                             "document": p.document[:self.max_document_chars]}),
            seed=0, max_tokens=1, temperature=0.0, top_p=1.0, schema=None, logprobs=self.top_logprobs)
            for p in pairs]

    def _score_uncached(self, pairs: list[Pair]) -> list[float]:
        outputs = self.generator.generate(self.requests(pairs))
        self.stats.engine_requests += len(pairs)
        scores = []
        for output in outputs:
            first = (output.top_logprobs or [{}])[0] if output.top_logprobs else {}
            p = yes_probability(first)
            if p is None:
                self.stats.undecided += 1
                p = 0.5
            scores.append(p)
        return scores


class CrossEncoderJudge(CachedJudge):
    """sigmoid(logit) of a sentence-transformers CrossEncoder with one output."""

    def __init__(self, model: str, cache: ScoreCache, batch_size: int = 512, max_document_chars: int = 4000,
                 make_model: Callable[[], object] | None = None):
        super().__init__(cache, batch_size)
        self.model_id = model
        self.prompt_hash = "cross-encoder"
        self.max_document_chars = max_document_chars
        self._make_model = make_model or (lambda: load_cross_encoder(model))
        self._model = None

    def _score_uncached(self, pairs: list[Pair]) -> list[float]:
        import torch

        if self._model is None:
            started = time.perf_counter()
            self._model = self._make_model()
            self.stats.load_seconds += time.perf_counter() - started
        scores = self._model.predict([(p.query, p.document[:self.max_document_chars]) for p in pairs],
                                     activation_fn=torch.nn.Sigmoid(), batch_size=32, show_progress_bar=False)
        self.stats.engine_requests += len(pairs)
        return [float(s) for s in scores]


def load_cross_encoder(model: str):
    """`sentence_transformers.CrossEncoder(model)` (a hub id or a local folder, unchanged),
    refused when it has more than one output (an NLI head is not a relevance score)."""
    from synthgen.engines.loading import model_errors
    from synthgen.errors import MissingDependencyError, UserError

    try:
        from sentence_transformers import CrossEncoder
    except ImportError:
        raise MissingDependencyError("judge.kind = 'cross-encoder'", "sentence-transformers") from None
    with model_errors("judge.model", model):
        encoder = CrossEncoder(model)
    labels = getattr(encoder, "num_labels", 1)
    if labels != 1:
        raise UserError(f"judge.model: {model!r} has {labels} outputs; a relevance judge needs a CrossEncoder with "
                        "one (e.g. cross-encoder/ms-marco-MiniLM-L6-v2)")
    return encoder
