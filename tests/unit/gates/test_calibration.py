"""The calibrated cosine gate: thresholds per language from inverse-cloze pairs of the run's
documents under the run's embedder (synthgen/gates/calibration.py; how the pairs are cut is
tested in test_eval_baselines.py)."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import HashEmbedder

from synthgen.gates.base import GateContext
from synthgen.gates.calibration import FALLBACK_THRESHOLD, MIN_PAIRS, calibrate
from synthgen.gates.cosine import CosineFilter
from synthgen.config.quality import CosineGateConfig


class ScaledEmbedder:
    """Vectors whose query/passage cosine is set per document language: a stand-in for an
    embedder that scores German lower than English."""

    model_id = "scaled"

    def __init__(self, cosine_of):
        self.cosine_of = cosine_of

    def embed(self, texts, kind):
        rows = []
        for text in texts:
            cos = self.cosine_of(text)
            rows.append([1.0, 0.0] if kind == "document" else [cos, float(np.sqrt(max(0.0, 1 - cos ** 2)))])
        return np.array(rows, dtype=np.float32)


def _documents(language: str, n: int) -> list[str]:
    return [f"Sentence {language} number {i} opens it. " + " ".join(["passage"] * 20) + f" {language}{i}"
            for i in range(n)]


def _cosine_by_language(base: dict[str, float]):
    """The query "Sentence <lang> number <i> opens it." gets base[lang] + i / 100."""
    def cosine(text: str) -> float:
        words = text.split()
        return base[words[1]] + int(words[3]) / 100 if words[0] == "Sentence" else 0.0
    return cosine


def test_each_language_gets_its_own_threshold_at_the_quantile():
    texts = _documents("en", 40) + _documents("de", 40)
    languages = ["en"] * 40 + ["de"] * 40
    calibration = calibrate(ScaledEmbedder(_cosine_by_language({"en": 0.5, "de": 0.2})), texts, languages, 0.1)
    assert calibration.pairs == {"en": 40, "de": 40}
    assert calibration.threshold("en") == pytest.approx(np.quantile([0.5 + i / 100 for i in range(40)], 0.1), abs=1e-5)
    assert calibration.threshold("de") == pytest.approx(np.quantile([0.2 + i / 100 for i in range(40)], 0.1), abs=1e-5)
    assert calibration.threshold("fr") == calibration.pooled  # a language without pairs uses the pooled one


def test_a_language_with_few_pairs_falls_back_to_the_pooled_threshold_and_none_to_the_floor():
    texts = _documents("en", MIN_PAIRS + 5) + _documents("pt", MIN_PAIRS - 1)
    languages = ["en"] * (MIN_PAIRS + 5) + ["pt"] * (MIN_PAIRS - 1)
    calibration = calibrate(HashEmbedder(), texts, languages, quantile=0.1)
    assert "pt" not in calibration.thresholds and calibration.pairs["pt"] == MIN_PAIRS - 1
    assert calibration.threshold("pt") == calibration.pooled
    assert calibrate(HashEmbedder(), ["one line"], ["en"], 0.1).threshold("en") == FALLBACK_THRESHOLD


def test_the_calibrated_gate_judges_each_row_on_the_lower_threshold_of_its_languages():
    texts = _documents("en", 30) + _documents("de", 30)
    embedder = ScaledEmbedder(lambda t: {"en": 0.6, "de": 0.3}[t.split()[1]] if t.startswith("Sentence") else 0.0)
    calibration = calibrate(embedder, texts, ["en"] * 30 + ["de"] * 30, quantile=0.1)
    rows = [{"query_language": q, "document_language": d} for q, d in (("en", "en"), ("de", "de"), ("en", "de"))]
    context = GateContext(positive_scores=np.array([0.55, 0.35, 0.35], dtype=np.float32), calibration=calibration)
    verdict = CosineFilter(CosineGateConfig()).check(rows, context)
    assert verdict.reasons == ["low_cosine", "", ""]
    assert verdict.scores["threshold"] == [0.6, 0.3, 0.3]
    fixed = CosineFilter(CosineGateConfig(min_score="qwen3-report")).check(rows, context)
    assert fixed.reasons == ["low_cosine"] * 3 and fixed.scores["threshold"] == [0.7] * 3
