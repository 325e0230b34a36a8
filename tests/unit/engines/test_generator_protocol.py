"""synthgen.engines.base: what a generator gets from the protocol when it says nothing more."""

from __future__ import annotations

from synthgen.engines.base import GenerationOutput, Generator
from synthgen.engines.openai_engine import OpenAIGenerator


class Minimal(Generator):
    model_id = "minimal"

    def generate(self, requests):
        return [GenerationOutput("{}", "stop", 1, 1) for _ in requests]


def test_a_generator_that_implements_only_generate_has_the_defaults():
    generator = Minimal()
    assert generator.context_length is None
    assert dict(generator.stats) == {}
    assert generator.fit_text("short text", 10) == "short text"
    assert generator.fit_text("one two three four", 3) == "one two"  # 9 characters, cut at a space


def test_an_engine_overrides_the_defaults_it_knows_better():
    engine = OpenAIGenerator("http://127.0.0.1:9/v1", "m")
    assert engine.stats == {"requests": 0, "attempts": 0, "retries": 0, "errors": 0}
    assert Minimal.stats == {} and Generator.stats == {}  # an engine's counters are its own
