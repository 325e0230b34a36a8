"""Eager or compiled: the in-process engine's mode chosen from the run's size (no engine needed)."""

from __future__ import annotations

import types

import pytest
from fakes import HashEmbedder, SeededEngine

from synthgen.config.loader import build_recipe
from synthgen.engines import vllm_engine
from synthgen.engines.vllm_engine import COMPILE_FROM_REQUESTS, choose_enforce_eager
from synthgen.run import shard_worker
from synthgen.run.pipeline import Pipeline
from synthgen.run.progress import summary_lines
from small_runs import write_corpus


@pytest.mark.parametrize("requests, eager", [(None, True), (0, True), (768, True),
                                             (COMPILE_FROM_REQUESTS - 1, True), (COMPILE_FROM_REQUESTS, False),
                                             (100_000, False)])
def test_cpu_runs_compile_from_the_threshold_on(requests, eager):
    chosen, why = choose_enforce_eager(requests, {"max_model_len": 4096}, cpu=True)
    assert chosen is eager
    assert why == ("run size unknown" if requests is None else
                   f"{requests:,} requests expected, compiling pays from {COMPILE_FROM_REQUESTS:,}")


@pytest.mark.parametrize("explicit", [True, False])
@pytest.mark.parametrize("requests", [10, 10_000_000, None])
def test_an_explicit_enforce_eager_in_engine_kwargs_wins(explicit, requests):
    for cpu in (True, False):
        assert choose_enforce_eager(requests, {"enforce_eager": explicit}, cpu) == \
            (explicit, "set in generator.engine_kwargs")


def test_gpu_builds_keep_vllms_default():
    assert choose_enforce_eager(10_000_000, None, cpu=False) == (None, "vLLM's default")
    assert choose_enforce_eager(1, {}, cpu=False) == (None, "vLLM's default")


class RecordingLLM:
    """Stands in for vllm.LLM: records the engine arguments."""

    made: list[dict] = []

    def __init__(self, model, **kwargs):
        RecordingLLM.made.append(kwargs)


@pytest.mark.parametrize("cpu, requests, kwargs, passed", [
    (True, 100, {}, True), (True, 5_000, {}, False), (True, 5_000, {"enforce_eager": True}, True),
    (True, None, {}, True), (False, 5_000, {}, None), (False, 5, {"enforce_eager": True}, True)])
def test_the_generator_passes_the_choice_to_vllm_and_records_it(monkeypatch, cpu, requests, kwargs, passed):
    monkeypatch.setattr(vllm_engine, "_import_vllm", lambda *args: types.SimpleNamespace(LLM=RecordingLLM))
    monkeypatch.setattr(vllm_engine, "_is_cpu_build", lambda: cpu)
    RecordingLLM.made.clear()
    generator = vllm_engine.VLLMGenerator("path", "model", engine_kwargs=kwargs, expected_requests=requests)
    assert RecordingLLM.made[0].get("enforce_eager") is passed
    assert generator.stats["enforce_eager"] is bool(passed)
    assert generator.stats["expected_requests"] == requests
    assert generator.stats["enforce_eager_reason"] == choose_enforce_eager(requests, kwargs, cpu)[1]


def test_a_run_sizes_its_engine_from_the_documents_left(monkeypatch, tmp_path):
    """Retrieval (2 stages) and classification (1 stage) weighed alike: 1.5 requests per
    item, 2 items per document; the run counts the corpus' 15 records (one a reject)."""
    asked = []
    monkeypatch.setattr(shard_worker, "load_generator",
                        lambda config, mode, requests: asked.append(requests) or SeededEngine())
    corpus = write_corpus(tmp_path / "c.jsonl")
    recipe = build_recipe({"name": "m", "seed": 3, "queries_per_document": 2, "corpus": [{"path": str(corpus)}],
                           "tasks": {"retrieval": {"weight": 1.0}, "classification": {"weight": 1.0, "brainstorm": 2}},
                           "gates": {"cosine": {"enabled": False}, "language": {"enabled": False}},
                           "mining": {"min_negatives": 0}, "run": {"shard_size": 4}})
    assert shard_worker.expected_requests(recipe, 13) == 39
    assert shard_worker.expected_requests(recipe, 0) == 0
    Pipeline(recipe, tmp_path / "out", embedder=HashEmbedder(), show_progress=False).run()
    assert asked == [45]


def test_the_summary_says_the_mode_and_why():
    manifest = {"recipe": {"name": "demo"}, "counts": {"documents_read": 1, "documents_kept": 1, "work_items": 4,
                                                       "generated_rows": 4, "rows": 2},
                "timings": {"total_seconds": 1.0},
                "engine": {"enforce_eager": False, "expected_requests": 3072,
                           "enforce_eager_reason": f"3,072 requests expected, compiling pays from "
                                                   f"{COMPILE_FROM_REQUESTS:,}"}}
    text = "\n".join(summary_lines(manifest))
    assert "engine: compiled (torch.compile): 3,072 requests expected, compiling pays from" in text
    manifest["engine"] = {"enforce_eager": True, "enforce_eager_reason": "run size unknown"}
    assert "engine: eager (enforce_eager): run size unknown" in "\n".join(summary_lines(manifest))
    manifest["engine"] = {"requests": 3, "retries": 0}  # a server's counters: no mode line
    assert "engine:" not in "\n".join(summary_lines(manifest))
