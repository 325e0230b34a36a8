"""synthgen.run.persona_expansion and `synthgen personas expand`, with a scripted fake generator."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

import synthgen.engines
from synthgen.cli import app
from synthgen.corpus.readers import Document
from synthgen.engines.base import GenerationOutput, Generator
from synthgen.errors import UserError
from synthgen.corpus.text import normalize_text
from synthgen.run.persona_expansion import (
    RELATIONS,
    check_output_path,
    choose_personas,
    expand_personas,
    read_documents,
    write_personas,
)
from synthgen.personas.library import Persona, load_personas
from synthgen.generation.prompts import PromptLibrary
from synthgen.config.run import GeneratorConfig
from synthgen.config.sources import CorpusConfig
from synthgen.generation.rows import stable_hash

SAMPLING = GeneratorConfig(max_tokens=120)
LIBRARY = [
    Persona("core-1", "A backend Go developer in Berlin who searches for idiomatic context cancellation patterns.",
            ("software_engineering",)),
    Persona("core-2", "A pastry chef in Lyon who looks up hydration ratios for laminated doughs.", ("cooking",)),
    Persona("core-3", "A hospice nurse in Ohio who reads about palliative pain management guidelines.", ("nursing",)),
]


def answer(*personas: str, domains=("cooking",)) -> str:
    return orjson.dumps({"personas": [{"persona": p, "domains": list(domains)} for p in personas]}).decode()


class ScriptedGenerator(Generator):
    """Answers each request with `script(user_message, seed)`; records every call."""

    model_id = "fake/scripted"

    def __init__(self, script):
        self.script = script
        self.calls: list[list] = []

    def generate(self, requests):
        self.calls.append(list(requests))
        outputs = []
        for request in requests:
            text = self.script(request.messages[1]["content"], request.seed)
            finish = "length" if text.endswith("<cut>") else "stop"
            text = text.removesuffix("<cut>")
            outputs.append(GenerationOutput(text, finish, prompt_tokens=50, completion_tokens=len(text.split())))
        return outputs


def docs(*texts: str) -> list[Document]:
    return [Document(f"d{i}", text, "en") for i, text in enumerate(texts)]


def by_marker(table: dict[str, str]):
    """A script answering by the first marker word found in the prompt."""
    def script(prompt: str, seed: int) -> str:
        for marker, text in table.items():
            if marker in prompt:
                return text
        return ""
    return script


def test_malformed_outputs_are_counted_by_reason_and_skipped():
    good = "A sourdough hobby baker in Leeds who wants to keep a starter alive over weekends."
    generator = ScriptedGenerator(by_marker({
        "GOOD": answer(good),
        "PROSE": "Sure! Here is a persona: a baker.",
        "EMPTY": "   ",
        "SCHEMA": orjson.dumps({"personas": [{"persona": "too short", "domains": []}]}).decode(),
        "WRONGKEY": orjson.dumps({"people": ["A retired engineer who restores clocks in Basel."]}).decode(),
        "CUT": '{"personas": [{"persona": "A truncated answer that never closes<cut>',
    }))
    result = expand_personas(docs("GOOD text", "PROSE text", "EMPTY text", "SCHEMA text", "WRONGKEY text", "CUT text"),
                             LIBRARY, generator, SAMPLING)
    stats = result.stats
    assert len(generator.calls) == 1 and len(generator.calls[0]) == 6  # one batched call for the step
    assert stats.requests == 6 and stats.parsed == 1
    assert stats.malformed == {"invalid_json": 1, "empty_output": 1, "schema_mismatch": 2, "truncated_output": 1}
    assert stats.requests == stats.parsed + sum(stats.malformed.values())
    assert [p.persona for p in result.personas] == [good]
    assert result.personas[0].source == "text:d0"


def test_exact_and_near_duplicates_are_removed_within_and_against_the_library():
    base = "A sourdough hobby baker in Leeds who wants to keep a starter alive over long weekends."
    near_base = "A sourdough hobby baker in Leeds who wants to keep a starter alive over long weekend."
    seed_copy = "  a PASTRY chef in Lyon, who looks up hydration ratios for laminated doughs!  "
    seed_near = "A pastry chef in Lyon who looks up hydration ratios for laminated dough."
    other = "A high school chemistry teacher in Madrid preparing a lab on fermentation and yeast."
    generator = ScriptedGenerator(by_marker({
        "ONE": answer(base, seed_copy),
        "TWO": answer(base.upper(), near_base, other),
        "THREE": answer(seed_near),
    }))
    result = expand_personas(docs("ONE", "TWO", "THREE"), LIBRARY, generator, SAMPLING)
    stats = result.stats
    assert [p.persona for p in result.personas] == [base, other]
    assert stats.candidates == 6 and stats.exact_duplicates == 2 and stats.near_duplicates == 2
    assert stats.invalid == {}
    assert stats.candidates == stats.exact_duplicates + stats.near_duplicates + stats.kept
    reasons = {(d["persona"].strip(), d["reason"], d.get("duplicate_of")) for d in result.dropped}
    assert (" ".join(seed_copy.split()), "exact_duplicate", "core-2") in reasons
    assert (base.upper(), "exact_duplicate", "x-" + stable_hash(base)) in reasons
    assert (seed_near, "near_duplicate", "core-2") in reasons
    assert (near_base, "near_duplicate", "x-" + stable_hash(base)) in reasons
    keys = [normalize_text(p.persona) for p in result.personas] + [normalize_text(p.persona) for p in LIBRARY]
    assert len(set(keys)) == len(keys)


def test_near_duplicate_threshold_is_configurable():
    a = "A sourdough hobby baker in Leeds who wants to keep a starter alive over long weekends."
    b = "A sourdough hobby baker in Leeds who wants to keep a rye starter alive over long holidays."
    generator = ScriptedGenerator(by_marker({"ONE": answer(a, b)}))
    assert len(expand_personas(docs("ONE"), LIBRARY, generator, SAMPLING).personas) == 2
    assert len(expand_personas(docs("ONE"), LIBRARY, generator, SAMPLING, near_dup_threshold=0.5).personas) == 1
    with pytest.raises(UserError):
        expand_personas(docs("ONE"), LIBRARY, generator, SAMPLING, near_dup_threshold=0)


def test_whitespace_domains_ids_and_sources():
    messy = "  A  wildlife\tphotographer in Namibia\nwho studies how animals react to drones.  "
    generator = ScriptedGenerator(by_marker({
        "ONE": answer(messy, domains=["Earth Science", "earth-science", " Arts "]),
    }))
    result = expand_personas(docs("ONE"), LIBRARY, generator, SAMPLING)
    (persona,) = result.personas
    clean = "A wildlife photographer in Namibia who studies how animals react to drones."
    assert persona.persona == clean
    assert persona.domains == ("earth_science", "arts")
    assert persona.id == "x-" + stable_hash(clean)
    assert persona.source == "text:d0"
    again = expand_personas(docs("ONE"), LIBRARY, ScriptedGenerator(generator.script), SAMPLING)
    assert again.personas == result.personas


def test_requests_seeds_relations_and_persona_to_persona_step():
    prompts_seen = []

    def script(prompt, seed):
        prompts_seen.append(prompt)
        return answer(f"A person number {seed} who reads technical documentation every single day.")

    generator = ScriptedGenerator(script)
    documents = docs("first {{ 7*7 }} document", "second document")
    result = expand_personas(documents, LIBRARY, generator, SAMPLING, per_document=5, from_personas=2, seed=3)
    text_call, persona_call = generator.calls
    assert len(text_call) == 10 and len(persona_call) == 2
    assert all(r.max_tokens == 120 and r.temperature == SAMPLING.temperature and r.schema for r in text_call)
    seeds = [r.seed for r in text_call + persona_call]
    assert len(set(seeds)) == len(seeds)
    for i, relation in enumerate(list(RELATIONS) + [RELATIONS[0]]):
        assert f"who is likely to {relation} the text above" in text_call[i].messages[1]["content"]
    assert "{{ 7*7 }}" in text_call[0].messages[1]["content"]
    chosen = choose_personas(LIBRARY, 2, seed=3)
    assert [p.id for p in chosen] == [p.id for p in LIBRARY if p in chosen]
    for request, persona in zip(persona_call, chosen):
        assert persona.persona in request.messages[1]["content"]
    assert result.stats.requests == 12 and result.stats.kept == 12
    assert result.stats.kept_by_step == {"text": 10, "persona": 2}
    assert [p.source for p in result.personas][-2:] == [f"persona:{p.id}" for p in chosen]
    # the same seed gives the same requests; another seed different ones
    again = ScriptedGenerator(script)
    expand_personas(documents, LIBRARY, again, SAMPLING, per_document=5, from_personas=2, seed=3)
    assert [r.seed for c in again.calls for r in c] == seeds
    other = ScriptedGenerator(script)
    expand_personas(documents, LIBRARY, other, SAMPLING, per_document=5, from_personas=2, seed=4)
    assert not set(r.seed for c in other.calls for r in c) & set(seeds)


def test_templates_declare_the_persona_schema():
    library = PromptLibrary()
    for name in ("personas/from_text", "personas/from_persona"):
        schema = library.get(name).output_schema
        items = schema["properties"]["personas"]
        assert schema["required"] == ["personas"] and items["maxItems"] <= 5
        assert items["items"]["properties"]["persona"]["minLength"] >= 20


def test_write_refuses_existing_and_bad_paths(tmp_path):
    result = expand_personas(docs("ONE"), LIBRARY, ScriptedGenerator(by_marker(
        {"ONE": answer("A retired watchmaker in Basel who restores antique pendulum clocks.")})), SAMPLING)
    out = tmp_path / "lib" / "new.jsonl"
    write_personas(out, result.personas)
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert lines == [{"id": result.personas[0].id, "persona": result.personas[0].persona,
                      "domains": ["cooking"], "source": "text:d0"}]
    assert [p.id for p in load_personas(["builtin:core", str(out)])][-1] == result.personas[0].id
    with pytest.raises(UserError, match="--overwrite"):
        write_personas(out, result.personas)
    write_personas(out, [], overwrite=True)
    assert out.read_bytes() == b""
    assert not list(out.parent.glob(".*.tmp"))
    with pytest.raises(UserError, match=".jsonl"):
        check_output_path(tmp_path / "new.txt", False)
    with pytest.raises(UserError, match="not a folder"):
        check_output_path(out / "below.jsonl", False)


def test_read_documents_limits_and_counts_rejects(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "", "language": "en"}\n'
                      + "".join(orjson.dumps({"id": f"d{i}", "text": f"Document {i}", "language": "en"}).decode()
                                + "\n" for i in range(5)))
    documents, rejected = read_documents(CorpusConfig(path=str(corpus)), limit=3)
    assert [d.id for d in documents] == ["d0", "d1", "d2"] and rejected == 1


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "corpus.jsonl"
    rows = [{"id": f"d{i}", "text": f"Text {i} about baking bread.", "language": "en"} for i in range(3)]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_cli_writes_the_library_with_a_fake_generator(corpus, tmp_path, monkeypatch):
    def script(prompt, seed):
        return answer(f"A baker {stable_hash(seed)} from {stable_hash(seed, 1)} who sells rye bread.")

    loaded = []
    monkeypatch.setattr(synthgen.engines, "load_generator",
                        lambda config: loaded.append(config) or ScriptedGenerator(script))
    out = tmp_path / "new.jsonl"
    result = CliRunner().invoke(app, ["personas", "expand", "--corpus", str(corpus), "--out", str(out),
                                      "--limit-docs", "2", "--from-personas", "1", "--max-tokens", "64"])
    assert result.exit_code == 0, result.output
    assert loaded[0].max_tokens == 64 and loaded[0].model == "builtin:smollm2-135m-instruct"
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(lines) == 3 and {line["source"].split(":")[0] for line in lines} == {"text", "persona"}
    assert "3 requests" in result.output and f"wrote 3 personas to {out}" in result.output


def test_cli_refuses_existing_out_and_missing_corpus(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(synthgen.engines, "load_generator", lambda config: pytest.fail("engine loaded"))
    out = tmp_path / "exists.jsonl"
    out.write_text("keep me\n")
    runner = CliRunner()
    result = runner.invoke(app, ["personas", "expand", "--corpus", str(corpus), "--out", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert out.read_text() == "keep me\n"
    result = runner.invoke(app, ["personas", "expand", "--corpus", str(tmp_path / "none.jsonl"),
                                 "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["personas", "expand", "--corpus", str(corpus), "--out", str(tmp_path / "x.txt")])
    assert result.exit_code == 2 and ".jsonl" in result.output


def test_prompts_show_a_library_persona_as_example_and_copies_are_dropped():
    from synthgen.run.persona_expansion import FALLBACK_EXAMPLE, PLACEHOLDER

    def script(prompt, seed):
        return answer("A pastry chef in Lyon who looks up hydration ratios and folding schedules for laminated doughs.")

    generator = ScriptedGenerator(script)
    result = expand_personas(docs("ONE"), LIBRARY, generator, SAMPLING, from_personas=1)
    text_prompt, persona_prompt = (c[0].messages[1]["content"] for c in generator.calls)
    assert f'in the style of "{LIBRARY[0].persona}"' in text_prompt and PLACEHOLDER in text_prompt
    expanded = choose_personas(LIBRARY, 1, seed=0)[0]
    assert persona_prompt.count(expanded.persona) == 1  # the example is another persona
    # with an empty seed library the prompts show a built-in example, and copies of it are dropped
    result = expand_personas(docs("ONE"), [], ScriptedGenerator(script), SAMPLING)
    assert result.personas == [] and result.stats.exact_duplicates == 1
    assert result.dropped[0]["duplicate_of"] == FALLBACK_EXAMPLE.id


def test_too_short_and_copied_placeholder_are_invalid():
    from synthgen.run.persona_expansion import PLACEHOLDER

    generator = ScriptedGenerator(by_marker({
        "ONE": answer("    " + "a " * 9 + "   ", PLACEHOLDER, f" {PLACEHOLDER.upper()}. "),
        "TWO": answer("A ferry dispatcher in Split who plans timetables around summer tourist peaks."),
    }))
    result = expand_personas(docs("ONE", "TWO"), LIBRARY, generator, SAMPLING)
    assert result.stats.invalid == {"too_short": 1, "copied_placeholder": 2}
    assert [p.persona for p in result.personas] == [
        "A ferry dispatcher in Split who plans timetables around summer tourist peaks."]
    assert result.stats.candidates == sum(result.stats.invalid.values()) + result.stats.kept
