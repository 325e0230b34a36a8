"""Deterministic stand-ins for the engines, for unit tests of the pipeline (the real
engine runs in tests/e2e)."""

from __future__ import annotations

import hashlib

import numpy as np
import orjson

from synthgen.engines.base import GenerationOutput, Generator

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split()


def fake_value(schema: dict, seed: int, key: str = ""):
    """A value that satisfies `schema`, chosen by `seed`."""
    if "enum" in schema:
        return schema["enum"][seed % len(schema["enum"])]
    kind = schema.get("type")
    if kind == "object":
        return {k: fake_value(v, seed * 31 + i, k) for i, (k, v) in enumerate(schema["properties"].items())}
    if kind == "array":
        return [fake_value(schema["items"], seed * 7 + i, key) for i in range(max(schema.get("minItems", 1), 2))]
    words = [WORDS[(seed >> (3 * i)) % len(WORDS)] for i in range(6)]
    lead = "Classify" if key == "instruction" else key  # brainstormed label sets must classify
    return f"{lead} {' '.join(words)} {seed % 9973}"[: schema.get("maxLength", 200)]


class SeededEngine(Generator):
    """Answers each request from (seed, schema) alone; can be told to die at call N."""

    model_id = "seeded"

    def __init__(self, die_at_call: int | None = None):
        self.calls = 0
        self.die_at_call = die_at_call

    def generate(self, requests):
        self.calls += 1
        if self.calls == self.die_at_call:
            raise RuntimeError("engine died")
        outputs = []
        for r in requests:
            text = orjson.dumps(fake_value(r.schema, r.seed % 100_000)).decode()
            outputs.append(GenerationOutput(text if r.seed % 11 else "not json", "stop", 10, 5))
        return outputs


class HashEmbedder:
    model_id = "hash"

    def embed(self, texts, kind):
        rows = [np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).normal(size=16)
                for t in texts]
        vectors = np.array(rows, dtype=np.float32).reshape(len(texts), 16)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)


class LogprobEngine:
    """A judge's engine: answers each yes/no request with scripted next-token logprobs.

    `p_yes(user_message)` gives the probability of "yes"; the top logprobs hold " Yes" and
    "no" (spellings vary between tokenizers) and a filler token. Counts requests."""

    model_id = "logprob"

    def __init__(self, p_yes):
        self.p_yes = p_yes
        self.requests = 0
        self.calls = 0

    def generate(self, requests):
        import math

        self.calls += 1
        self.requests += len(requests)
        outputs = []
        for r in requests:
            assert r.max_tokens == 1 and r.logprobs > 0 and r.schema is None
            p = min(max(self.p_yes(r.messages[-1]["content"]), 1e-6), 1 - 1e-6)
            top = {" Yes": math.log(p), "no": math.log(1 - p), "The": -9.0}
            outputs.append(GenerationOutput("Yes" if p >= 0.5 else "no", "length", 40, 1, top_logprobs=[top]))
        return outputs
