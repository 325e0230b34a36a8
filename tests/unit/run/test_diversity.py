"""Diversity figures: distinct-n, exact mean pairwise cosine, the nearest-neighbour duplicate
rate and library coverage; computed by a run into its manifest, shown in the report and the card."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import orjson
import pytest
from fakes import HashEmbedder, SeededEngine
from run_folders import mixed_rows, write_finished_run
from small_runs import recipe, write_corpus

from synthgen.run import diversity
from synthgen.run.diversity import DiversityStats
from synthgen.run.pipeline import Pipeline


def _row(i, query, language="en", query_type="", persona=""):
    return {"id": f"r{i}", "task": "retrieval", "query": query, "query_language": language,
            "query_type": query_type, "persona": persona}


def test_figures_match_brute_force():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[5] = vectors[4]  # one duplicate pair
    rows = [_row(i, "a b c" if i % 2 else "a b d e", "en" if i < 30 else "de",
                 ("keywords", "summary")[i % 2], "P1" if i < 20 else "someone not in the library") for i in range(40)]
    stats = DiversityStats(personas=["P1", "P2", "P3", "P4"])
    stats.add(rows[:25], vectors[:25])
    stats.add(rows[25:], vectors[25:])
    result = stats.result()
    gram = vectors @ vectors.T
    assert result["mean_pairwise_cosine"] == pytest.approx((gram.sum() - np.trace(gram)) / (40 * 39), abs=1e-4)
    de = gram[30:, 30:]
    assert result["by_language"]["de"]["mean_pairwise_cosine"] == pytest.approx((de.sum() - np.trace(de)) / 90,
                                                                                abs=1e-4)
    assert result["distinct_1"] == pytest.approx(5 / (20 * 3 + 20 * 4), abs=1e-4)  # a b c d e
    assert result["distinct_2"] == pytest.approx(4 / (20 * 2 + 20 * 3), abs=1e-4)  # ab bc bd de
    nearest = np.where(np.eye(40, dtype=bool), -np.inf, gram).max(axis=1)
    assert result["nearest_neighbour_duplicate_rate"] == pytest.approx((nearest >= 0.95).mean(), abs=1e-4)
    assert result["nearest_neighbour_duplicate_rate"] >= 2 / 40
    assert result["query_types"]["used"] == 2 and result["query_types"]["coverage"] == pytest.approx(0.4)
    assert result["query_types"]["normalized_entropy"] == pytest.approx(1 / math.log2(5), abs=1e-4)
    assert result["personas"]["library"] == 4 and result["personas"]["used"] == 1
    assert result["personas"]["coverage"] == pytest.approx(0.25)


def test_the_sample_does_not_keep_the_parts_vector_arrays_alive(monkeypatch):
    """A kept sample vector is copied out of its part: memory stays bounded by the sample,
    not by the rows (bench/memory.py found 750 MiB of parts held at 1M rows)."""
    monkeypatch.setattr(diversity, "SAMPLE", 10)
    stats, parts = DiversityStats(), []
    rng = np.random.default_rng(1)
    for part in range(6):
        vectors = rng.normal(size=(8, 4)).astype(np.float32)
        stats.add([_row(part * 8 + i, f"query {part} {i}") for i in range(8)], vectors)
        parts.append(weakref.ref(vectors))
        del vectors
    stats.result()
    gc.collect()
    assert [ref() for ref in parts] == [None] * 6
    assert len(stats.sample) == 10 and all(v is not None and v.base is None for *_, v in stats.sample)


def test_identical_queries_are_least_diverse():
    same = DiversityStats()
    vector = np.ones((3, 4), dtype=np.float32) / 2
    same.add([_row(i, "the same words") for i in range(3)], vector)
    result = same.result()
    assert result["mean_pairwise_cosine"] == pytest.approx(1.0)
    assert result["nearest_neighbour_duplicate_rate"] == 1.0
    assert result["distinct_1"] == pytest.approx(3 / 9, abs=1e-4)


def test_a_run_records_diversity_and_the_report_and_card_show_it(tmp_path):
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    manifest = Pipeline(recipe(corpus), tmp_path / "out", SeededEngine(), HashEmbedder(), show_progress=False).run()
    diversity = manifest["diversity"]
    assert diversity["queries"] == manifest["counts"]["rows"]
    assert sum(v["queries"] for v in diversity["by_language"].values()) == diversity["queries"]
    assert -1 <= diversity["mean_pairwise_cosine"] <= 1 and 0 < diversity["distinct_2"] <= 1
    assert diversity["personas"]["library"] > 0 and 0 < diversity["personas"]["coverage"] <= 1
    assert diversity["query_types"]["library"] == 5


def test_report_and_card_show_diversity_contamination_and_collisions(tmp_path):
    from synthgen.publish.hub import publish_run
    from synthgen.publish.report import PLOTS, write_report

    diversity = {"queries": 14, "distinct_1": 0.31, "distinct_2": 0.79, "mean_pairwise_cosine": 0.1234,
                 "by_language": {"en": {"queries": 10, "distinct_1": 0.3, "distinct_2": 0.7,
                                        "mean_pairwise_cosine": 0.2},
                                 "de": {"queries": 4, "distinct_1": 0.5, "distinct_2": 0.9,
                                        "mean_pairwise_cosine": -0.05}},
                 "nearest_neighbour_duplicate_rate": 0.0714, "nearest_neighbour_mean_cosine": 0.5,
                 "nearest_neighbour_sample": 14, "nearest_neighbour_duplicate_cosine": 0.95,
                 "query_types": {"library": 5, "used": 2, "coverage": 0.4, "entropy_bits": 1.0,
                                 "normalized_entropy": 0.4307, "counts": {"keywords": 7, "summary": 7}},
                 "personas": {"library": 360, "used": 9, "coverage": 0.025, "entropy_bits": 3.0,
                              "normalized_entropy": 0.35, "counts": {}}}
    contamination = {"against": [{"path": "bench/arguana-test", "queries": 1406, "documents": 8674}],
                     "ngram": 13, "near_dup_threshold": 0.8, "rows_removed": 3}
    collisions = {"action": "flag", "negatives_checked": 30, "negatives_colliding": 12, "negatives_dropped": 0,
                  "rows_with_colliding_negatives": 7, "groups": 13, "rows_in_shared_groups": 2}
    folder = write_finished_run(tmp_path / "run", mixed_rows(), diversity=diversity, contamination=contamination,
                                collisions=collisions)
    html = write_report(folder.root).read_text(encoding="utf-8")
    assert "0.1234" in html and "bench/arguana-test" in html and "0.0714" in html
    assert html.count("data:image/png;base64,") == len(PLOTS) and "diversity.png" in PLOTS
    assert "mined negatives that are an exact or near copy" in html.lower()
    card = (publish_run(folder.root, "org/name", dry_run=tmp_path / "hub").folder / "README.md").read_text()
    assert "### Diversity" in card and "mean pairwise cosine 0.1234" in card
    assert "| bench/arguana-test | 1,406 | 8,674 |" in card and "3 rows matching one were removed" in card
    assert "12 copy another row's positive" in card
    bare = write_finished_run(tmp_path / "old", mixed_rows())  # an older run: no figures, still renders
    assert "no diversity figures" in write_report(bare.root).read_text(encoding="utf-8")
    card = (publish_run(bare.root, "org/old", dry_run=tmp_path / "hub-old").folder / "README.md").read_text()
    assert "was not checked against any benchmark" in card
    saved = orjson.loads((folder.root / "manifest.json").read_bytes())
    assert saved["diversity"]["queries"] == 14


def test_the_run_summary_names_contamination_collisions_and_diversity():
    from synthgen.run.progress import summary_lines

    manifest = {"recipe": {"name": "demo"}, "timings": {"total_seconds": 1.0},
                "counts": {"documents_read": 3, "documents_kept": 3, "work_items": 3, "generated_rows": 3, "rows": 2},
                "contamination": {"against": [{"path": "bench/test", "queries": 1, "documents": 2}],
                                  "rows_removed": 1},
                "collisions": {"action": "flag", "negatives_checked": 6, "negatives_colliding": 2, "groups": 2},
                "diversity": {"queries": 2, "distinct_1": 0.5, "distinct_2": 0.9, "mean_pairwise_cosine": 0.12,
                              "nearest_neighbour_duplicate_rate": 0.0}}
    lines = summary_lines(manifest)
    text = "\n".join(lines)
    assert all(len(line) <= 80 for line in lines)
    assert "contamination: 1 rows removed, checked against bench/test" in text
    assert "collisions: 2 of 6 mined negatives" in text and "mean pairwise cosine 0.12" in text
