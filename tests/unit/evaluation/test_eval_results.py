"""What an eval writes and shows, without training: the run's rows as training rows, scoring
with a stand-in model, results.json and the manifest entry, the terminal table, and the
sections of the report page and the dataset card."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from run_folders import make_row, mixed_rows, write_finished_run

from synthgen.errors import UserError
from synthgen.evaluation import EvalResult, ModelResult, format_table, summary_rows
from synthgen.evaluation.benchmark import Benchmark
from synthgen.evaluation.runner import run_rows, score_model, write_result
from synthgen.shards.finished_run import FinishedRun
from synthgen.publish.hub import publish_run
from synthgen.publish.report import write_report


def scores(ndcg: float, languages: tuple[str, ...] = ("de", "en")) -> dict:
    entry = {"ndcg@10": ndcg, "mrr@10": ndcg - 0.05, "recall@10": min(ndcg + 0.1, 1.0), "queries": 4}
    return {"all": entry, **{lang: {**entry, "ndcg@10": ndcg - 0.01 * i} for i, lang in enumerate(languages)}}


def result(languages: tuple[str, ...] = ("de", "en")) -> EvalResult:
    models = [ModelResult("base", 0, scores(0.775, languages), 3.0),
              ModelResult("inverse_cloze", 392, scores(0.798, languages), 40.0),
              ModelResult("synthgen", 1391, scores(0.795, languages), 90.0),
              ModelResult("inverse_cloze+synthgen", 1783, scores(0.816, languages), 120.0)]
    return EvalResult(run="outputs/demo", benchmark={"name": "dev", "path": "bench/dev", "documents": 420,
                                                      "queries": 1680},
                      student="sentence-transformers/all-MiniLM-L6-v2",
                      settings={"epochs": 1, "batch_size": 32, "learning_rate": 2e-5, "seed": 0, "num_negatives": 3},
                      models=models, seconds=260.0, created="2026-12-02T00:00:00+00:00",
                      data={"inverse_cloze": {"documents": 420, "pairs": 392, "skipped": {"short_query": 28}},
                            "synthgen": {"rows": 1391, "left_out_too_few_negatives": 3}})


def test_the_table_fits_80_columns_and_shows_every_model():
    lines = format_table(result())
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "inverse cloze + synthgen      1,783    0.816    0.766    0.916" in text
    assert "nDCG@10 by query language" in text and "0.775  0.775  0.765" in text
    assert "inverse cloze: 392 pairs from 420 documents (skipped: short_query 28)" in text
    assert "synthgen: 3 rows left out (fewer hard negatives)" in text


def test_many_languages_wrap_into_blocks():
    languages = tuple(f"l{i}" for i in range(12))
    lines = format_table(result(languages))
    assert max(len(line) for line in lines) <= 80
    assert sum("nDCG@10 by query language" in line for line in lines) == 2  # 13 columns: 7 + 6


def test_without_languages_there_is_no_language_block():
    assert not any("by query language" in line for line in format_table(result(())))


def test_an_untrained_model_shows_dashes_and_why():
    found = result()
    found.models[1] = ModelResult("inverse_cloze", 0, None, 0.0, "not trained: no document gave an inverse cloze pair")
    text = "\n".join(format_table(found))
    assert "inverse cloze                     0        -        -        -" in text
    assert "inverse cloze: not trained: no document gave an inverse cloze pair" in text


def test_results_and_manifest_entry_are_written(tmp_path):
    write_finished_run(tmp_path, mixed_rows())
    path = write_result(FinishedRun.open(tmp_path), result())
    written = orjson.loads(path.read_bytes())
    assert path == tmp_path / "eval" / "results.json"
    assert [m["label"] for m in written["models"]] == ["base (no training)", "inverse cloze", "synthgen",
                                                       "inverse cloze + synthgen"]
    entry = FinishedRun.open(tmp_path).manifest["eval"]
    assert entry["models"][3] == {"name": "inverse_cloze+synthgen", "label": "inverse cloze + synthgen", "rows": 1783,
                                  "ndcg@10": {"all": 0.816, "de": 0.816, "en": 0.806}}
    assert entry["benchmark"]["name"] == "dev" and entry["results"] == "eval/results.json"


def test_report_and_card_show_the_eval_when_the_manifest_has_it(tmp_path):
    write_finished_run(tmp_path / "run", mixed_rows())
    html = write_report(tmp_path / "run").read_text(encoding="utf-8")
    assert "Retrieval eval" not in html
    write_result(FinishedRun.open(tmp_path / "run"), result())
    html = write_report(tmp_path / "run").read_text(encoding="utf-8")
    assert "<h2>Retrieval eval</h2>" in html
    assert '<td>inverse cloze + synthgen</td><td class="n">1783</td><td class="n">0.816</td>' in html
    publish_run(tmp_path / "run", "my-org/unit-data", dry_run=tmp_path / "repo")
    card = (tmp_path / "repo" / "README.md").read_text(encoding="utf-8")
    assert "## Retrieval evaluation" in card
    assert "| model | rows trained on | nDCG@10 | de | en |\n| --- | ---: | ---: | ---: | ---: |\n" in card
    assert "| inverse cloze + synthgen | 1783 | 0.816 | 0.816 | 0.806 |\n" in card


@pytest.mark.parametrize("entry", [None, [], {"models": "x"}, {"models": [{"name": "base", "ndcg@10": "high"}]}])
def test_a_hand_edited_eval_entry_shows_nothing_or_dashes(entry):
    shown = summary_rows(entry)
    assert shown is None or shown["models"][0]["all"] == "-"


def test_run_rows_keep_the_fewest_negatives_any_row_has(tmp_path):
    rows = [make_row("retrieval", i, negatives=2 + i % 2) for i in range(4)]
    write_finished_run(tmp_path, rows)
    run = FinishedRun.open(tmp_path)
    kept, negatives, left_out = run_rows(run, None, None)
    assert (len(kept), negatives, left_out) == (4, 2, 0)
    assert kept[0] == {"anchor": rows[0]["query"], "positive": rows[0]["positive"], "negatives": rows[0]["negatives"]}
    assert run_rows(run, None, 3)[1:] == (3, 2)
    with pytest.raises(UserError, match="no row has that many hard negatives"):
        run_rows(run, None, 4)
    with pytest.raises(UserError, match="no rows of task sts to train on"):
        run_rows(run, ["sts"], None)


class WordModel:
    """A stand-in embedder: a text's vector counts the words of a tiny vocabulary."""

    VOCABULARY = ("chmod", "mode", "list", "directory", "grep", "pattern")

    def encode(self, texts, normalize_embeddings=True, **_):
        vectors = np.array([[text.lower().count(w) for w in self.VOCABULARY] for text in texts], dtype=float) + 1e-3
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_score_model_ranks_with_the_model_and_scores_per_language():
    bench = Benchmark(name="toy", path=None, format="jsonl", corpus_ids=["d1", "d2", "d3"],
                      corpus_texts=["chmod changes the mode", "list a directory", "grep a pattern"],
                      query_ids=["q1", "q2"], query_texts=["chmod mode", "grep list"],
                      query_languages=["en", "de"], qrels={"q1": {"d1": 1}, "q2": {"d3": 1}})
    found = score_model(WordModel(), bench)
    assert found["en"]["ndcg@10"] == 1.0 and found["all"]["queries"] == 2
    assert found["de"]["mrr@10"] in (1.0, 0.5)  # "grep list" ties d2 and d3
    assert found["all"]["recall@10"] == 1.0


def test_a_new_finalize_pass_drops_the_eval_of_the_rows_it_replaces(tmp_path):
    from fakes import HashEmbedder, SeededEngine
    from small_runs import recipe, write_corpus

    from synthgen.run.finalize import Finalizer
    from synthgen.run.output import RunFolder
    from synthgen.run.pipeline import Pipeline, update_manifest

    corpus = write_corpus(tmp_path / "c.jsonl")
    Pipeline(recipe(corpus), tmp_path / "out", SeededEngine(), HashEmbedder(), show_progress=False).run()
    write_result(FinishedRun.open(tmp_path / "out"), result())
    run = FinishedRun.open(tmp_path / "out")
    assert "eval" in run.manifest
    report = Finalizer(RunFolder(tmp_path / "out"), recipe(corpus), HashEmbedder()).run()  # `synthgen filter`
    update_manifest(run.folder, run.manifest, recipe(corpus), report, 1.0)
    assert "eval" not in FinishedRun.open(tmp_path / "out").manifest
