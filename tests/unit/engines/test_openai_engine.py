"""The `openai` engine against a real HTTP server on loopback with scripted replies.

The server (stdlib `http.server`, one thread per connection) stands in for vLLM, SGLang or
a hosted API: each test scripts what it answers to the n-th request (a completion, an
HTTP error, a slow reply, a body cut short, a reset connection), and records what came in.
Backoff is shrunk to milliseconds; what is tested is the policy, not the clock.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

import pytest
from scripted_server import (
    FAST,
    SENTINEL,
    Reply,
    ScriptedServer,
    completion,
    echo,
    failing_then,
    generator,
    request,
)

from synthgen.config.loader import build_recipe
from synthgen.config.run import GeneratorConfig
from synthgen.engines import load_generator
from synthgen.engines.openai_engine import (
    Backoff,
    EngineError,
    OpenAIGenerator,
    _retry_after,
)
from synthgen.errors import RecipeError
from synthgen.generation.parsing import parse_json_output
from synthgen.generation.stages import run_stage


def test_outputs_come_back_in_request_order_under_concurrency():
    def slow_for_early(index: int, body: dict[str, Any]) -> Reply:
        n = int(body["messages"][-1]["content"].split()[-1])
        return Reply(body=completion(f"answer {n}"), delay=0.002 * (40 - n))  # early requests finish last

    with ScriptedServer(slow_for_early) as server:
        outputs = generator(server, concurrency=8).generate([request(i) for i in range(40)])
    assert [o.text for o in outputs] == [f"answer {i}" for i in range(40)]
    assert all(o.finish_reason == "stop" and o.prompt_tokens == 11 and o.completion_tokens == 3 for o in outputs)


def test_concurrency_limit_is_respected():
    with ScriptedServer(lambda i, body: Reply(body=completion("x"), delay=0.05)) as server:
        generator(server, concurrency=3).generate([request(i) for i in range(15)])
        assert server.max_in_flight == 3
        assert len(server.received) == 15


def test_request_fields_and_schema_as_response_format():
    schema = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    with ScriptedServer() as server:
        generator(server).generate([request(0, schema), request(1)])
        generator(server, structured_outputs=False).generate([request(2, schema)])
    by_text = {r["body"]["messages"][-1]["content"]: r["body"] for r in server.received}  # any arrival order
    first, second, third = (by_text[f"request {i}"] for i in range(3))
    assert server.received[0]["path"] == "/v1/chat/completions"
    assert first["model"] == "served-name"
    assert first["messages"] == request(0).messages
    assert (first["max_tokens"], first["temperature"], first["top_p"], first["seed"]) == (32, 0.7, 0.9, 1000)
    assert first["response_format"] == {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    assert "response_format" not in second  # no schema
    assert "response_format" not in third  # structured outputs off


def test_usage_fields_and_missing_ones():
    usage = {"prompt_tokens": 50, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 32}}
    bodies = [completion("a", usage=usage), completion(None, usage={}),
              {"choices": [{"message": {"content": "b"}, "finish_reason": None}]}]
    with ScriptedServer(lambda i, body: Reply(body=bodies[i])) as server:
        outputs = generator(server, concurrency=1).generate([request(i) for i in range(3)])
    assert (outputs[0].prompt_tokens, outputs[0].completion_tokens, outputs[0].cached_tokens) == (50, 7, 32)
    assert outputs[1].text == "" and (outputs[1].prompt_tokens, outputs[1].cached_tokens) == (0, 0)
    assert outputs[2].text == "b" and outputs[2].finish_reason == "" and outputs[2].completion_tokens == 0


def test_finish_reason_length_is_passed_through():
    with ScriptedServer(lambda i, body: Reply(body=completion('{"query": "cut sh', "length"))) as server:
        [output] = generator(server).generate([request(0)])
    assert output.finish_reason == "length"
    assert output.text == '{"query": "cut sh'


def test_empty_outputs_and_refusals_are_rejected_by_the_parser():
    schema = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    bodies = [completion(None), completion(""), completion("I'm sorry, but I can't help with that."),
              completion(None, refusal="I can't help with that request.")]
    with ScriptedServer(lambda i, body: Reply(body=bodies[i])) as server:
        outputs = generator(server, concurrency=1).generate([request(i, schema) for i in range(4)])
    reasons = [parse_json_output(o.text, schema).reason for o in outputs]
    assert reasons == ["empty_output", "empty_output", "invalid_json", "invalid_json"]
    assert outputs[3].finish_reason == "refusal" and outputs[3].text == "I can't help with that request."


# Retries --------------------------------------------------------------------------------------

def test_429_with_retry_after_then_success():
    busy = Reply(429, {"error": {"message": "rate limited"}}, headers={"Retry-After": "0.3"})
    with ScriptedServer(failing_then([busy])) as server:
        gen = generator(server)
        started = time.perf_counter()
        [output] = gen.generate([request(0)])
        elapsed = time.perf_counter() - started
    assert output.text == "request 0"
    assert len(server.received) == 2
    assert elapsed >= 0.3  # waited what the server asked, not the 1-10 ms of the backoff
    assert gen.stats["retries"] == 1


def test_retry_after_forms():
    assert _retry_after({"retry-after": "2"}) == 2.0
    assert _retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert _retry_after({}) is None
    assert _retry_after({"retry-after": "soon"}) is None
    date = _retry_after({"retry-after": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))})
    assert 25 <= date <= 31


def test_backoff_is_exponential_with_full_jitter_and_a_cap():
    import random

    backoff, rng = Backoff(base=0.5, cap=30.0), random.Random(0)
    for retry, ceiling in [(0, 0.5), (1, 1.0), (3, 4.0), (6, 30.0), (12, 30.0)]:
        delays = [backoff.delay(retry, rng) for _ in range(300)]
        assert 0 <= min(delays) and max(delays) <= ceiling
        assert max(delays) > 0.8 * ceiling  # jitter spans the whole window
    assert backoff.delay(5, rng, retry_after=7.0) == 7.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_then_success(status):
    with ScriptedServer(failing_then([Reply(status, {"error": "boom"})] * 2)) as server:
        [output] = generator(server).generate([request(0)])
    assert output.text == "request 0" and len(server.received) == 3


def test_slow_reply_beyond_the_timeout_then_success():
    # The late reply would come after 3 s; the retry answers at once, so well under 3 s means the
    # attempt was cut at its timeout (the margin absorbs a loaded machine).
    with ScriptedServer(failing_then([Reply(body=completion("late"), delay=3.0)])) as server:
        gen = generator(server, request_timeout=0.3)
        started = time.perf_counter()
        [output] = gen.generate([request(0)])
        elapsed = time.perf_counter() - started
    assert output.text == "request 0"
    assert 0.3 <= elapsed < 2.5
    assert gen.stats["retries"] == 1


def test_truncated_bodies_then_success():
    # Cut short before Content-Length is reached (the connection closes mid-body), and a
    # complete reply whose JSON is cut (a broken proxy), and a 200 that is no completion.
    whole = json.dumps(completion("never seen")).encode()
    failures = [Reply(body=completion("never seen"), cut=len(whole) // 2),
                Reply(raw=whole[: len(whole) // 2]),
                Reply(body={"object": "error", "message": "overloaded"})]
    with ScriptedServer(failing_then(failures)) as server:
        gen = generator(server)
        [output] = gen.generate([request(0)])
    assert output.text == "request 0" and len(server.received) == 4
    assert gen.stats["retries"] == 3


def test_connection_reset_then_success():
    with ScriptedServer(failing_then([Reply(reset=True)])) as server:
        [output] = generator(server).generate([request(0)])
    assert output.text == "request 0" and len(server.received) == 2


def test_connection_refused_is_retried_then_fails_clearly():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gen = OpenAIGenerator(f"http://127.0.0.1:{port}/v1", "m", backoff=FAST, max_retries=2)
    with pytest.raises(EngineError) as info:
        gen.generate([request(0)])
    assert f"http://127.0.0.1:{port}/v1/chat/completions" in str(info.value)
    assert "3 attempts" in str(info.value) and "connection error" in str(info.value)


def test_many_requests_survive_a_mix_of_faults():
    kinds = [Reply(429, {"error": "slow down"}, headers={"Retry-After": "0"}), Reply(500, {"error": "x"}),
             Reply(reset=True), Reply(raw=b'{"choices": [')]

    def script(index: int, body: dict[str, Any]) -> Reply:
        return kinds[index % 7] if index % 7 < len(kinds) and index < 60 else echo(index, body)

    with ScriptedServer(script) as server:
        outputs = generator(server, concurrency=6, max_retries=10).generate([request(i) for i in range(30)])
    assert [o.text for o in outputs] == [f"request {i}" for i in range(30)]


# Errors that end the run, errors that reject an item ----------------------------------------

def test_retries_exhausted_raise_engine_error_without_the_key(monkeypatch, caplog):
    monkeypatch.setenv("SYNTHGEN_TEST_KEY", SENTINEL)
    echoing = Reply(503, {"error": {"message": f"overloaded; you sent Bearer {SENTINEL}"}})
    caplog.set_level(logging.DEBUG)
    with ScriptedServer(lambda i, body: echoing) as server:
        gen = generator(server, api_key_env="SYNTHGEN_TEST_KEY", max_retries=3)
        with pytest.raises(EngineError) as info:
            gen.generate([request(0), request(1)])
        assert server.received[0]["headers"]["Authorization"] == f"Bearer {SENTINEL}"
    message = str(info.value)
    assert "4 attempts" in message and "HTTP 503" in message and server.base_url in message
    assert "***" in message  # the echoed key was scrubbed
    for text in (message, repr(info.value), repr(gen), str(vars(gen)), caplog.text,
                 "".join(str(r.args) for r in caplog.records)):
        assert SENTINEL not in text
    assert any("retry" in r.getMessage() for r in caplog.records)
    assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.mark.parametrize("status", [401, 403, 404])
def test_wrong_key_url_or_model_stops_at_once(status, monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    caplog.set_level(logging.DEBUG)
    with ScriptedServer(lambda i, body: Reply(status, {"error": {"message": "no"}})) as server:
        with pytest.raises(EngineError) as info:
            generator(server).generate([request(0)])
        assert len(server.received) == 1  # not retried
    assert f"HTTP {status}" in str(info.value)
    assert SENTINEL not in str(info.value) and SENTINEL not in caplog.text
    if status == 404:
        assert "served-name" in str(info.value) and "--served-model-name" in str(info.value)


def test_400_becomes_an_error_output_and_the_rest_goes_on():
    too_long = Reply(400, {"error": {"message": "This model's maximum context length is 4096 tokens"}})

    def script(index: int, body: dict[str, Any]) -> Reply:
        return too_long if body["messages"][-1]["content"] == "request 1" else echo(index, body)

    with ScriptedServer(script) as server:
        gen = generator(server)
        outputs = gen.generate([request(i) for i in range(3)])
    assert [o.text for o in outputs] == ["request 0", "", "request 2"]
    assert outputs[1].finish_reason == "error:400" and outputs[1].completion_tokens == 0
    assert len(server.received) == 3 and gen.stats["errors"] == 1


def test_400_error_output_is_rejected_by_run_stage():
    from synthgen.corpus.readers import Document
    from synthgen.generation.prompts import PromptLibrary
    from synthgen.tasks import build_tasks
    from synthgen.generation.work import WorkItem

    recipe = build_recipe({"name": "t", "corpus": {"path": "x.jsonl"}, "languages": {"query": {"en": 1.0}}})
    task = build_tasks(recipe)["retrieval"]
    stage = task.stages[0]
    from synthgen.personas.library import Persona

    item = WorkItem(Document("doc-1", "The ls command lists directory contents.", "en"), 0, "retrieval", 5,
                    [Persona("p1", "a system administrator")])
    task.plan(item)
    with ScriptedServer(lambda i, body: Reply(400, {"error": "too long"})) as server:
        kept, rejects, stats = run_stage(stage, "retrieval", [item], generator(server), PromptLibrary(),
                                         recipe.generator)
    assert kept == [] and len(rejects) == 1
    assert rejects[0].detail["finish_reason"] == "error:400"
    assert rejects[0].detail["raw"] == ""
    assert stats.requests == 1 and sum(stats.rejects.values()) == 1


def test_server_without_structured_outputs_falls_back_to_plain_requests():
    schema = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}

    def script(index: int, body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            return Reply(400, {"error": {"message": "Unsupported parameter: 'response_format'"}})
        return echo(index, body)

    with ScriptedServer(script) as server:
        gen = generator(server, concurrency=1)
        outputs = gen.generate([request(i, schema) for i in range(3)])
    assert [o.text for o in outputs] == ["request 0", "request 1", "request 2"]
    assert ["response_format" in r["body"] for r in server.received] == [True, False, False, False]


def test_context_length_from_the_models_list(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    listing = {"object": "list", "data": [{"id": "other", "max_model_len": 8192},
                                          {"id": "served-name", "object": "model", "max_model_len": 4096}]}
    with ScriptedServer(models=Reply(body=listing)) as server:
        gen = generator(server)
        assert gen.context_length == 4096
        assert gen.context_length == 4096  # asked once
        assert [r["path"] for r in server.received] == ["/v1/models"]
        assert server.received[0]["headers"]["Authorization"] == f"Bearer {SENTINEL}"
    with ScriptedServer(models=Reply(body={"data": [{"id": "served-name"}]})) as server:  # hosted APIs say nothing
        assert generator(server).context_length is None
    with ScriptedServer() as server:  # no /models at all
        assert generator(server).context_length is None


# The API key ----------------------------------------------------------------------------------

def test_key_header_sent_when_the_variable_is_set(monkeypatch):
    monkeypatch.setenv("MY_SERVER_KEY", SENTINEL)
    with ScriptedServer() as server:
        gen = generator(server, api_key_env="MY_SERVER_KEY")
        gen.generate([request(0)])
    assert server.received[0]["headers"]["Authorization"] == f"Bearer {SENTINEL}"
    assert SENTINEL not in repr(gen) and SENTINEL not in str(vars(gen))


def test_no_key_header_when_the_variable_is_unset(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with ScriptedServer() as server:
        generator(server).generate([request(0)])
    assert "Authorization" not in server.received[0]["headers"]


def test_generate_works_inside_a_running_event_loop():
    import asyncio

    async def notebook_cell(gen):
        return gen.generate([request(0), request(1)])

    with ScriptedServer() as server:
        outputs = asyncio.run(notebook_cell(generator(server)))
    assert [o.text for o in outputs] == ["request 0", "request 1"]


# Recipe keys and load_generator --------------------------------------------------------------

def test_recipe_keys_and_defaults():
    default = GeneratorConfig()
    assert (default.engine, default.base_url, default.api_key_env) == ("vllm", "", "OPENAI_API_KEY")
    assert (default.concurrency, default.max_retries, default.request_timeout) == (16, 6, 120.0)
    recipe = build_recipe({"name": "t", "corpus": {"path": "x.jsonl"},
                           "generator": {"engine": "openai", "base_url": "http://127.0.0.1:8000/v1",
                                         "concurrency": 4, "request_timeout": 30}})
    assert recipe.generator.engine == "openai" and recipe.generator.request_timeout == 30.0


@pytest.mark.parametrize("table, key, shown", [
    ({"engine": "sglang"}, "generator.engine", "sglang"),
    ({"engine": "openai"}, "generator.base_url", "is required"),
    ({"engine": "openai", "base_url": "127.0.0.1:8000/v1"}, "generator.base_url", "http://"),
    ({"api_key_env": "MY-KEY"}, "generator.api_key_env", "NAME of an environment variable"),
    ({"concurrency": 0}, "generator.concurrency", ">= 1"),
    ({"max_retries": -1}, "generator.max_retries", ">= 0"),
    ({"request_timeout": 0}, "generator.request_timeout", "> 0"),
])
def test_recipe_errors_are_one_line_naming_the_key(table, key, shown):
    with pytest.raises(RecipeError) as info:
        build_recipe({"name": "t", "corpus": {"path": "x.jsonl"}, "generator": table})
    message = str(info.value)
    assert message.startswith(f"recipe: {key}: ") and "\n" not in message and shown in message


def test_a_key_pasted_as_api_key_env_is_not_echoed():
    with pytest.raises(RecipeError) as info:
        GeneratorConfig(engine="openai", base_url="http://h/v1", api_key_env=SENTINEL)
    assert SENTINEL not in str(info.value)


def test_load_generator_picks_the_engine_and_maps_builtin_names():
    gen = load_generator(GeneratorConfig(engine="openai", base_url="http://127.0.0.1:8000/v1/", concurrency=3))
    assert isinstance(gen, OpenAIGenerator)
    assert gen.model == gen.model_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert gen.url == "http://127.0.0.1:8000/v1/chat/completions" and gen.concurrency == 3
    other = load_generator(GeneratorConfig(model="Qwen/Qwen3-32B", engine="openai", base_url="http://h/v1"))
    assert other.model == "Qwen/Qwen3-32B"
    from synthgen.errors import UserError
    with pytest.raises(UserError):
        load_generator(GeneratorConfig(model="builtin:nope", engine="openai", base_url="http://h/v1"))
