"""`run.deterministic`: what it pins (one math thread, no prefix cache, one request in
flight to a server) and where. Whether the real engine then gives identical rows across
processes is checked in tests/e2e/test_scale_out.py, where it holds."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
from fakes import HashEmbedder, SeededEngine
from small_runs import write_corpus

from synthgen.engines import load_generator, vllm_engine
from synthgen.errors import RecipeError
from synthgen.run.finalize import Finalizer
from synthgen.run.output import RunFolder
from synthgen.config.loader import build_recipe
from synthgen.config.run import GeneratorConfig
from synthgen.run import finalize, shard_worker

BASE = {"name": "d", "corpus": {"path": "x.jsonl"}}


def test_off_by_default_and_refused_beside_an_explicit_prefix_cache():
    assert build_recipe(BASE).run.deterministic is False
    assert build_recipe({**BASE, "run": {"deterministic": True}}).run.deterministic is True
    with pytest.raises(RecipeError, match=r"^recipe: generator.engine_kwargs.enable_prefix_caching: must not be true "
                                          r"with run.deterministic = true .*, got True$"):
        build_recipe({**BASE, "run": {"deterministic": True},
                      "generator": {"engine_kwargs": {"enable_prefix_caching": True}}})


def test_a_server_gets_one_request_at_a_time():
    config = GeneratorConfig(engine="openai", base_url="http://127.0.0.1:8000/v1", concurrency=8)
    assert load_generator(config).concurrency == 8
    assert load_generator(config, deterministic=True).concurrency == 1


class RecordingLLM:
    """Stands in for vllm.LLM: records the engine arguments."""

    made: list[dict] = []

    def __init__(self, model, **kwargs):
        RecordingLLM.made.append(kwargs)


@pytest.mark.parametrize("deterministic, cache", [(False, True), (True, False)])
def test_the_in_process_engine_turns_the_prefix_cache_off(monkeypatch, deterministic, cache):
    monkeypatch.setattr(vllm_engine, "_import_vllm", lambda *args: types.SimpleNamespace(LLM=RecordingLLM))
    RecordingLLM.made.clear()
    vllm_engine.VLLMGenerator("path", "model", deterministic=deterministic)
    assert RecordingLLM.made[0]["enable_prefix_caching"] is cache


def test_one_math_thread_for_torch():
    code = ("import torch; from synthgen.engines.threads import use_one_math_thread; torch.set_num_threads(2); "
            "use_one_math_thread(); import os; print(torch.get_num_threads(), os.environ['OMP_NUM_THREADS'])")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert shown == ["1", "1"]


@pytest.mark.parametrize("deterministic", [False, True])
def test_shard_workers_and_finalize_pin_the_thread_and_pass_the_mode_on(monkeypatch, tmp_path, deterministic):
    pinned, loaded = [], []
    for module in (shard_worker, finalize):
        monkeypatch.setattr(module, "use_one_math_thread", lambda: pinned.append(True))
    monkeypatch.setattr(shard_worker, "load_generator", lambda config, mode, requests: loaded.append(mode) or SeededEngine())
    recipe = build_recipe({**BASE, "corpus": {"path": str(write_corpus(tmp_path / "c.jsonl"))},
                           "run": {"deterministic": deterministic}})
    worker = shard_worker.ShardWorker(recipe, [], "prompts", embedder=HashEmbedder())
    assert worker.generator is not None and loaded == [deterministic]
    Finalizer(RunFolder(tmp_path / "out"), recipe, HashEmbedder())
    assert pinned == ([True, True] if deterministic else [])
