"""The judge (synthgen/judge/): the yes/no probability, the drop and relabel rules, the
cache (a rerun makes no engine requests), the finalize pass and `synthgen judge`, bad
config. The engine is a stand-in that returns scripted logprobs (tests/unit/fakes.py)."""

from __future__ import annotations

import hashlib
import math
import re

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest
from fakes import WORDS, LogprobEngine

from synthgen.config.judge import JudgeConfig
from synthgen.config.loader import build_recipe
from synthgen.corpus.readers import Document
from synthgen.errors import RecipeError
from synthgen.generation.rows import row_id, rows_to_table
from synthgen.judge import build_judge, summary_lines
from synthgen.judge.cache import ScoreCache
from synthgen.judge.probability import answer_word, yes_probability
from synthgen.judge.rules import apply_rules
from synthgen.judge.scorers import CrossEncoderJudge, Pair
from synthgen.run.finalize import Finalizer
from synthgen.run.ledger import audit_run
from synthgen.run.output import RunFolder, documents_table, write_parquet
from synthgen.run.pipeline import update_manifest


# ---- the probability --------------------------------------------------------------------


def test_probability_is_yes_over_yes_and_no():
    p = yes_probability({"yes": math.log(0.6), "no": math.log(0.2), "maybe": math.log(0.1)})
    assert p == pytest.approx(0.75)
    assert yes_probability({"no": -0.1, "yes": -0.1}) == pytest.approx(0.5)


def test_spellings_of_the_answer_are_summed():
    top = {"yes": math.log(0.3), " Yes": math.log(0.2), "▁YES": math.log(0.1), "Ġno": math.log(0.2),
           "No.": math.log(0.1), "note": -1.0, "yesterday": -1.0}
    assert yes_probability(top) == pytest.approx(0.6 / 0.9)
    assert [answer_word(t) for t in ("Yes", " no", "nope", "Ġyes", "\"yes\"")] == ["yes", "no", None, "yes", "yes"]


def test_a_missing_answer_is_bounded_by_the_least_likely_listed_token():
    p = yes_probability({"yes": math.log(0.9), "the": math.log(0.01)})
    assert p == pytest.approx(0.9 / 0.91)
    assert yes_probability({"the": -0.1, "a": -2.0}) is None
    assert yes_probability({}) is None


def test_extreme_logprobs_do_not_overflow():
    assert yes_probability({"yes": -1e-9, "no": -900.0}) == pytest.approx(1.0)
    assert yes_probability({"yes": -900.0, "no": -1e-9}) == pytest.approx(0.0)


# ---- the rules ------------------------------------------------------------------------


def _row(i, p_pos, p_negs, negatives=None):
    negatives = negatives or [f"neg {i}.{k}" for k in range(len(p_negs))]
    return {"id": f"r{i}", "source_id": f"d{i}", "query": f"q{i}", "query_language": "en", "positive": f"pos {i}",
            "positive_score": 0.8, "negatives": negatives, "negative_scores": [0.5 - 0.1 * k for k in range(len(p_negs))],
            "judge_positive_score": p_pos, "judge_negative_scores": p_negs}


def test_negatives_judged_relevant_are_dropped_and_the_row_kept():
    result = apply_rules([_row(0, 0.9, [0.2, 0.7, 0.5])], JudgeConfig(relevant_threshold=0.5), min_negatives=1)
    (row,) = result.kept
    assert row["negatives"] == ["neg 0.0"] and row["negative_scores"] == [0.5]
    assert row["judge_negative_scores"] == [0.2]
    assert [(n.step, n.reason, n.detail["negative"]) for n in result.notes] == [
        ("judge/negatives", "judged_relevant", "neg 0.1"), ("judge/negatives", "judged_relevant", "neg 0.2")]
    assert all("row_id" in n.detail and "id" not in n.detail for n in result.notes)
    assert result.tally.judged_relevant == 2 and result.tally.disagreements == 2 and result.tally.negatives == 3


def test_a_better_negative_becomes_the_positive():
    result = apply_rules([_row(1, 0.3, [0.1, 0.45, 0.2])], JudgeConfig(better_margin=0.1), min_negatives=1)
    (row,) = result.kept
    assert row["positive"] == "neg 1.1" and row["positive_score"] == pytest.approx(0.4)
    assert row["judge_positive_score"] == 0.45
    assert row["negatives"] == ["neg 1.0", "neg 1.2"] and row["judge_negative_scores"] == [0.1, 0.2]
    assert row["negative_scores"] == pytest.approx([0.5, 0.3])
    (note,) = result.notes
    assert (note.step, note.reason, note.detail["old_positive"]) == ("judge/relabeled", "better_negative", "pos 1")
    assert result.tally.relabeled == 1 and result.tally.negative_above_positive == 1


def test_a_better_negative_drops_the_row_when_the_recipe_says_drop():
    config = JudgeConfig(better_margin=0.1, on_better_negative="drop")
    result = apply_rules([_row(2, 0.3, [0.1, 0.45]), _row(3, 0.3, [0.1, 0.39])], config, min_negatives=1)
    assert [r["id"] for r in result.kept] == ["r3"]
    (reject,) = result.row_rejects
    assert (reject.step, reject.reason, reject.detail["id"]) == ("judge", "better_negative", "r2")


def test_rows_left_without_enough_negatives_are_dropped():
    result = apply_rules([_row(4, 0.95, [0.8, 0.9]), _row(5, 0.95, [0.1, 0.9])], JudgeConfig(), min_negatives=1)
    assert [r["id"] for r in result.kept] == ["r5"]
    assert [(r.reason, r.detail["found"]) for r in result.row_rejects] == [("too_few_negatives", 0)]
    assert apply_rules([_row(6, 0.95, [0.8])], JudgeConfig(), min_negatives=0).kept[0]["negatives"] == []


def test_agreement_with_the_margin_rule_is_counted():
    rows = [_row(7, 0.9, [0.1, 0.2, 0.6, 0.95]), _row(8, 0.5, [0.4])]
    tally = apply_rules(rows, JudgeConfig(relevant_threshold=0.5, better_margin=0.1), min_negatives=0).tally
    report = tally.to_dict()
    assert report["negatives"] == 5 and report["disagreements"] == 2
    assert report["agreement_with_margin_rule"] == pytest.approx(0.6)
    assert report["order_agreement"] == pytest.approx(0.8)  # 0.95 > 0.9: the judge prefers that negative


# ---- the LLM judge and its cache ------------------------------------------------------------


def _p_by_topic(message: str) -> float:
    """0.9 when the query and the document name the same number, else 0.1."""
    query = re.search(r"<Query>: .*?(\d+)", message).group(1)
    document = re.search(r"<Document>: .*?(\d+)", message).group(1)
    return 0.9 if query == document else 0.1


def test_llm_judge_scores_from_logprobs_in_one_batch_and_caches(tmp_path):
    engine = LogprobEngine(_p_by_topic)
    judge = build_judge(JudgeConfig(), tmp_path, engine)
    pairs = [Pair("Find it", "item 1", "Document 1"), Pair("Find it", "item 1", "Document 2"),
             Pair("Find it", "item 1", "Document 1")]
    assert judge.score(pairs) == pytest.approx([0.9, 0.1, 0.9])
    assert engine.calls == 1 and engine.requests == 2  # the repeated pair is asked once
    assert judge.stats.engine_requests == 2 and judge.stats.cache_hits == 1
    again = build_judge(JudgeConfig(), tmp_path, LogprobEngine(lambda m: pytest.fail("engine asked")))
    assert again.score(pairs) == judge.score(pairs)
    assert again.stats.engine_requests == 0 and again.stats.cache_hits == 3


def test_the_engine_is_not_loaded_when_the_cache_has_every_pair(tmp_path):
    from synthgen.judge.scorers import LLMJudge
    from synthgen.generation.prompts import PromptLibrary

    template = PromptLibrary().get("judge/relevance")
    made = []
    factory = lambda: made.append(1) or LogprobEngine(lambda m: 0.7)  # noqa: E731
    first = LLMJudge(factory, "m", template, ScoreCache(tmp_path / "c.jsonl"))
    first.score([Pair("", "q", "d")])
    second = LLMJudge(factory, "m", template, ScoreCache(tmp_path / "c.jsonl"))
    assert second.score([Pair("", "q", "d")]) == [pytest.approx(0.7)]
    assert made == [1]
    other_model = LLMJudge(factory, "other", template, ScoreCache(tmp_path / "c.jsonl"))
    other_model.score([Pair("", "q", "d")])
    assert made == [1, 1]  # the key holds the model


def test_a_torn_cache_line_is_skipped(tmp_path):
    path = tmp_path / "cache.jsonl"
    ScoreCache(path).add({"a": 0.25, "b": 0.123456789})
    with path.open("ab") as handle:
        handle.write(b'{"key": "c", "p"')
    cache = ScoreCache(path)
    assert cache.scores == {"a": 0.25, "b": 0.123457}


def test_model_text_stays_data_in_the_prompt(tmp_path):
    engine = LogprobEngine(lambda m: 0.5)
    judge = build_judge(JudgeConfig(), None, engine)
    (request,) = judge.requests([Pair("", "{{ 7*7 }} {% if true %}x{% endif %}", "doc")])
    user = request.messages[-1]["content"]
    assert "{{ 7*7 }} {% if true %}x{% endif %}" in user and "49" not in user
    assert request.max_tokens == 1 and request.temperature == 0.0 and request.logprobs == 20


def test_undecided_answers_score_one_half(tmp_path):
    class Silent(LogprobEngine):
        def generate(self, requests):
            outputs = super().generate(requests)
            return [o.__class__(o.text, o.finish_reason, 1, 1, top_logprobs=[{"The": -0.1}]) for o in outputs]

    judge = build_judge(JudgeConfig(), None, Silent(lambda m: 0.9))
    assert judge.score([Pair("", "q", "d")]) == [0.5]
    assert judge.stats.undecided == 1


def test_cross_encoder_judge_squashes_one_logit(tmp_path):
    class FakeCrossEncoder:
        def predict(self, pairs, activation_fn, batch_size, show_progress_bar):
            import torch

            return activation_fn(torch.tensor([float(len(q) - len(d)) for q, d in pairs])).numpy()

    judge = CrossEncoderJudge("cross-encoder/ms-marco-MiniLM-L6-v2", ScoreCache(tmp_path / "c.jsonl"),
                              make_model=FakeCrossEncoder)
    assert judge.score([Pair("", "abc", "abc"), Pair("", "abcd", "a")]) == pytest.approx([0.5, 1 / (1 + math.exp(-3))],
                                                                                      abs=1e-6)
    assert judge.model_id == "cross-encoder/ms-marco-MiniLM-L6-v2"


# ---- bad config ---------------------------------------------------------------------------


@pytest.mark.parametrize("judge, message", [
    ({"kind": "llm-ish"}, "recipe: judge.kind: must be one of llm, cross-encoder, got 'llm-ish'"),
    ({"on_better_negative": "swap"}, "recipe: judge.on_better_negative: must be one of relabel, drop, got 'swap'"),
    ({"relevant_threshold": 1.5}, "recipe: judge.relevant_threshold: must be in (0, 1], got 1.5"),
    ({"better_margin": -0.1}, "recipe: judge.better_margin: must be in [0, 1], got -0.1"),
    ({"top_logprobs": 50}, "recipe: judge.top_logprobs: must be in [2, 20], got 50"),
    ({"engine": "openai"}, "recipe: judge.base_url: is required when judge.engine = 'openai' "
                           "(e.g. \"http://127.0.0.1:8000/v1\"), got ''"),
    ({"kind": "cross-encoder"}, "recipe: judge.model: must be a CrossEncoder hub id or path when judge.kind = "
                                "'cross-encoder', got 'builtin:smollm2-135m-instruct'"),
    ({"treshold": 0.5}, "recipe: judge.treshold: unknown key"),
])
def test_bad_judge_config_is_one_line(judge, message):
    with pytest.raises(RecipeError) as raised:
        build_recipe({"name": "x", "corpus": {"path": "c.jsonl"}, "judge": judge})
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_judge_base_url_credentials_are_redacted():
    recipe = build_recipe({"name": "x", "corpus": {"path": "c.jsonl"},
                           "judge": {"engine": "openai", "base_url": "http://user:s3cretpassword@host:8000/v1"}})
    assert "s3cretpassword" not in orjson.dumps(recipe.to_dict()).decode()
    assert recipe.judge.base_url.endswith("@host:8000/v1")


# ---- the finalize pass and `synthgen judge` ------------------------------------------------


class WordEmbedder:
    """Bag of words hashed into 64 dimensions: a query naming a document's words is near it."""

    model_id = "words"

    def embed(self, texts, kind):
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[i, int(hashlib.md5(word.encode()).hexdigest()[:6], 16) % 64] += 1
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)


def _judged_run(root, **judge):
    """A run folder with 16 retrieval rows over 16 documents in generated/, as `synthgen run`
    leaves it, its recipe with `[judge]` on."""
    data = {"name": "judged", "seed": 1, "corpus": {"path": "unused.jsonl"}, "languages": {"query": {"en": 1.0}},
            "gates": {"cosine": {"enabled": False}, "language": {"enabled": False}, "leakage": {"enabled": False},
                      "generic": {"enabled": False}},
            "judge": {"enabled": True, **judge}}
    recipe = build_recipe(data)
    folder = RunFolder(root)
    folder.create(overwrite=True)
    documents = [Document(f"doc-{i}", f"Document {i} explains {WORDS[i % 18]} {WORDS[(i + 1) % 18]} and "
                          f"{WORDS[(i + 2) % 18]} in plain words.", "en") for i in range(16)]
    rows = [{"id": row_id("judged", "retrieval", d.id, 0, 1), "task": "retrieval", "instruction": "Find it",
             "query": f"item {i}: {WORDS[i % 18]} {WORDS[(i + 1) % 18]}", "positive": d.text, "negatives": [],
             "positive_score": None, "negative_scores": [], "query_language": "en", "document_language": "en",
             "persona": "", "query_type": "keywords", "difficulty": "phd", "source_id": d.id,
             "generator": "g", "embedder": "words"} for i, d in enumerate(documents)]
    write_parquet(folder.document_part_path(0), documents_table(documents))
    write_parquet(folder.part_path(0), rows_to_table(rows))
    folder.write_manifest({"recipe": recipe.to_dict(), "counts": {"generated_rows": len(rows), "work_items": 16},
                           "generation_removals": {}, "timings": {"total_seconds": 0.0}})
    return folder, recipe


def _finalize(folder, recipe, engine):
    report = Finalizer(folder, recipe, WordEmbedder(), engine).run()
    manifest = orjson.loads(folder.manifest.read_bytes())
    update_manifest(folder, manifest, recipe, report, 1.0)
    return report, orjson.loads(folder.manifest.read_bytes())


def _p_scripted(message: str) -> float:
    """The positive 0.9; document 3 0.6 for every query (a false negative); for query 5,
    its positive 0.7 and document 6 0.99 (a better positive)."""
    query = int(re.search(r"<Query>: item (\d+)", message).group(1))
    document = int(re.search(r"<Document>: Document (\d+)", message).group(1))
    if query == 5 and document in (5, 6):
        return 0.99 if document == 6 else 0.7
    return 0.9 if query == document else 0.6 if document == 3 else 0.05


def test_finalize_with_the_judge_scores_every_pair_and_applies_the_rules(tmp_path):
    folder, recipe = _judged_run(tmp_path / "run")
    engine = LogprobEngine(_p_scripted)
    report, manifest = _finalize(folder, recipe, engine)
    rows = pq.read_table(folder.data).to_pylist()
    assert rows and all(r["judge_positive_score"] is not None for r in rows)
    assert all(len(r["judge_negative_scores"]) == len(r["negatives"]) == len(r["negative_scores"]) for r in rows)
    assert all(p < 0.5 for r in rows for p in r["judge_negative_scores"])
    assert not any(n.startswith("Document 3 ") for r in rows for n in r["negatives"])
    by_query = {int(r["query"].split()[1].rstrip(":")): r for r in rows}
    assert by_query[5]["positive"].startswith("Document 6 ") and by_query[5]["judge_positive_score"] == pytest.approx(0.99)
    relabeled = [orjson.loads(line) for line in (folder.rejects / "judge-relabeled.jsonl").read_bytes().splitlines()]
    assert [(r["reason"], r["old_positive"][:11]) for r in relabeled] == [("better_negative", "Document 5 ")]
    assert manifest["judge"]["relabeled"] == 1
    judge = manifest["judge"]
    assert judge["engine_requests"] == engine.requests > 0
    assert judge["pairs"] == judge["engine_requests"] + judge["cache_hits"]
    notes = [orjson.loads(line) for line in (folder.rejects / "judge-negatives.jsonl").read_bytes().splitlines()]
    assert notes and all(n["reason"] == "judged_relevant" and n["negative"].startswith("Document 3 ") for n in notes)
    assert judge["negatives_dropped"] == len(notes)
    assert 0 <= judge["agreement_with_margin_rule"] < 1
    assert audit_run(folder.root).ok, audit_run(folder.root).problems
    assert any("judge" in line for line in summary_lines(judge))


def test_a_rerun_makes_no_engine_requests_and_writes_the_same_shards(tmp_path):
    folder, recipe = _judged_run(tmp_path / "run")
    _, first = _finalize(folder, recipe, LogprobEngine(_p_scripted))
    silent = LogprobEngine(lambda m: pytest.fail("the engine was asked"))
    report, second = _finalize(folder, recipe, silent)
    assert silent.requests == 0 and second["judge"]["engine_requests"] == 0
    assert second["judge"]["cache_hits"] == second["judge"]["pairs"] > 0
    assert [s["sha256"] for s in second["shards"]] == [s["sha256"] for s in first["shards"]]
    assert second["removals"] == first["removals"]


def test_drop_instead_of_relabel_and_judge_off_again(tmp_path):
    folder, recipe = _judged_run(tmp_path / "run", on_better_negative="drop")
    _, manifest = _finalize(folder, recipe, LogprobEngine(_p_scripted))
    rows = pq.read_table(folder.data).to_pylist()
    assert all(not r["query"].startswith("item 5:") for r in rows)
    assert manifest["judge"]["relabeled"] == 0 and manifest["gate_removals"]["judge/better_negative"] == 1
    assert manifest["counts"]["rows"] + sum(manifest["gate_removals"].values()) == 16
    assert audit_run(folder.root).ok
    off = build_recipe({**recipe.to_dict(), "judge": {"enabled": False}})
    _, manifest = _finalize(folder, off, None)
    assert "judge" not in manifest and not list(folder.rejects.glob("judge*.jsonl"))
    assert all(r["judge_positive_score"] is None for r in pq.read_table(folder.data).to_pylist())


def test_judge_command_on_a_finished_run(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import synthgen.judge as judge_package
    from synthgen import cli

    folder, recipe = _judged_run(tmp_path / "run")
    _finalize(folder, build_recipe({**recipe.to_dict(), "judge": {"enabled": False}}), None)
    (folder.root / ".synthgen").write_text("run\n") if not (folder.root / ".synthgen").exists() else None
    engine = LogprobEngine(_p_scripted)
    real_build = judge_package.build_judge
    monkeypatch.setattr("synthgen.run.finalize.build_judge", lambda config, root, generator=None: real_build(
        config, root, engine))
    monkeypatch.setattr("synthgen.engines.load_embedder", lambda config: WordEmbedder())
    runner = CliRunner()
    result = runner.invoke(cli.app, ["judge", str(folder.root), "--set", "judge.better_margin=0.2"])
    assert result.exit_code == 0, result.output
    assert "engine requests" in result.output and engine.requests > 0
    manifest = orjson.loads(folder.manifest.read_bytes())
    assert manifest["recipe"]["judge"]["enabled"] and manifest["recipe"]["judge"]["better_margin"] == 0.2
    again = runner.invoke(cli.app, ["judge", str(folder.root), "--set", "judge.better_margin=0.2"])
    assert again.exit_code == 0 and ", 0 engine requests" in again.output
    bad = runner.invoke(cli.app, ["judge", str(folder.root), "--set", "judge.on_better_negative=swap"])
    assert bad.exit_code == 2 and bad.output.strip().count("\n") == 0
    assert "judge.on_better_negative: must be one of relabel, drop" in bad.output
    wrong_key = runner.invoke(cli.app, ["judge", str(folder.root), "--set", "gates.cosine.min_score=0.1"])
    assert wrong_key.exit_code == 2 and "only judge.* keys" in wrong_key.output


def test_report_and_run_summary_show_the_judge_against_the_margin_rule(tmp_path):
    from run_folders import mixed_rows, write_finished_run

    from synthgen.publish.report import write_report
    from synthgen.run.progress import summary_lines as run_summary

    tally = apply_rules([_row(7, 0.9, [0.1, 0.2, 0.6, 0.95])], JudgeConfig(), min_negatives=0).tally
    entry = {"kind": "llm", "model": "HuggingFaceTB/SmolLM2-135M-Instruct", "prompt_sha256": "x",
             "settings": {"relevant_threshold": 0.5, "better_margin": 0.1, "on_better_negative": "relabel"},
             "pairs": 5, "cache_hits": 0, "engine_requests": 5, "undecided": 0, "engine_seconds": 0.1,
             **tally.to_dict()}
    folder = write_finished_run(tmp_path / "run", mixed_rows(), judge=entry)
    html = write_report(folder.root).read_text(encoding="utf-8")
    assert "<h2>Judge</h2>" in html and "agreement with the margin rule" in html
    assert "50.0%" in html  # 2 of 4 negatives: one judged relevant, one above the positive
    lines = summary_lines(entry)
    assert "agrees with the embedder's margin rule on 50.0% of 4 negatives" in lines[-1]
    manifest = orjson.loads(folder.manifest.read_bytes())
    assert any("margin rule" in line for line in run_summary(manifest, width=200))
    folder_without = write_finished_run(tmp_path / "plain", mixed_rows())
    assert "<h2>Judge</h2>" not in write_report(folder_without.root).read_text(encoding="utf-8")


def test_a_run_with_judge_on_uses_its_own_generator_as_the_judge(tmp_path, monkeypatch):
    from fakes import HashEmbedder, SeededEngine
    from small_runs import recipe as small_recipe, write_corpus

    from synthgen.run.pipeline import Pipeline

    class Both(SeededEngine):
        """The run's generator: JSON for the stages, scripted logprobs for the judge."""

        def __init__(self):
            super().__init__()
            self.judge = LogprobEngine(lambda message: 0.9 if "Document" in message else 0.2)

        def generate(self, requests):
            if requests and requests[0].logprobs:
                return self.judge.generate(requests)
            return super().generate(requests)

    monkeypatch.setattr("synthgen.engines.load_generator", lambda *a, **k: pytest.fail("a second engine"))
    engine = Both()
    recipe = small_recipe(write_corpus(tmp_path / "c.jsonl"), judge={"enabled": True, "relevant_threshold": 0.95},
                          generator={"model": "builtin:smollm2-135m-instruct"})
    manifest = Pipeline(recipe, tmp_path / "out", engine, HashEmbedder(), show_progress=False).run()
    judge = manifest["judge"]
    assert judge["engine_requests"] == engine.judge.requests > 0 and judge["rows"] >= 1
    rows = pq.read_table(tmp_path / "out" / "data").to_pylist()
    judged = [r for r in rows if r["task"] == "retrieval"]
    assert judged and all(r["judge_positive_score"] is not None for r in judged)
    assert all(r["judge_positive_score"] is None for r in rows if r["task"] == "classification")
    assert audit_run(tmp_path / "out").ok


def test_report_of_a_run_with_calibrated_cosine_thresholds(tmp_path):
    """`make demo`'s recipe: gates.cosine.min_score = "calibrated" (per language, no one line)."""
    from run_folders import RECIPE, mixed_rows, write_finished_run

    from synthgen.publish.report import write_report
    from synthgen.shards.finished_run import FinishedRun

    recipe = {**RECIPE, "gates": {"cosine": {"min_score": "calibrated"}}}
    folder = write_finished_run(tmp_path / "run", mixed_rows(), recipe=recipe)
    assert FinishedRun.open(folder.root).min_cosine("retrieval") is None
    assert write_report(folder.root).is_file()
    named = write_finished_run(tmp_path / "named", mixed_rows(),
                               recipe={**RECIPE, "gates": {"cosine": {"min_score": "qwen3-report"}}})
    assert FinishedRun.open(named.root).min_cosine("retrieval") == 0.7
