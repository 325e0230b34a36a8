"""Log-probabilities from both engines, as the judge reads them: the `openai` engine's
`logprobs`/`top_logprobs` against a scripted server, and vLLM's per-token Logprob dicts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
from scripted_server import Reply, ScriptedServer, completion

from synthgen.config.judge import JudgeConfig
from synthgen.engines.base import GenerationRequest
from synthgen.engines.vllm_engine import _top_logprobs
from synthgen.judge import build_judge
from synthgen.judge.scorers import Pair


def _with_logprobs(p_yes: float) -> dict[str, Any]:
    body = completion("yes" if p_yes >= 0.5 else "no", "length")
    top = [{"token": "yes", "logprob": math.log(p_yes)}, {"token": " No", "logprob": math.log(1 - p_yes)},
           {"token": "Maybe", "logprob": -7.0}]
    body["choices"][0]["logprobs"] = {"content": [{"token": top[0]["token"], "logprob": top[0]["logprob"],
                                                   "top_logprobs": top}]}
    return body


def test_openai_judge_asks_for_one_token_with_top_logprobs_and_reads_them():
    def script(index: int, body: dict[str, Any]) -> Reply:
        document = body["messages"][-1]["content"].split("<Document>: ")[1].split("\n")[0]
        return Reply(body=_with_logprobs(0.8 if document == "relevant" else 0.25))

    with ScriptedServer(script) as server:
        config = JudgeConfig(engine="openai", base_url=server.base_url, model="served-judge", concurrency=2)
        judge = build_judge(config, None)
        scores = judge.score([Pair("", "q", "relevant"), Pair("", "q", "other")])
    assert scores == pytest.approx([0.8, 0.25])
    assert judge.stats.engine_requests == 2
    for received in server.received:
        body = received["body"]
        assert (body["max_tokens"], body["temperature"], body["logprobs"], body["top_logprobs"]) == (1, 0.0, True, 20)
        assert body["model"] == "served-judge" and "response_format" not in body


def test_openai_output_without_logprobs_has_none():
    from scripted_server import generator

    with ScriptedServer(lambda i, body: Reply(body=completion("plain"))) as server:
        request = GenerationRequest([{"role": "user", "content": "hi"}], 1, 8, 0.5, 1.0)
        [output] = generator(server).generate([request])
    assert output.top_logprobs is None and "logprobs" not in server.received[0]["body"]


@dataclass
class Logprob:  # vllm.logprobs.Logprob's fields
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


def test_vllm_logprobs_become_token_text_maps():
    positions = [{11: Logprob(-0.2, 1, "yes"), 12: Logprob(-1.9, 2, " no"), 13: Logprob(-3.0, 3, "yes"),
                  14: Logprob(-4.0, 4, None)}]
    assert _top_logprobs(positions) == [{"yes": -0.2, " no": -1.9, "14": -4.0}]
    assert _top_logprobs(None) is None
