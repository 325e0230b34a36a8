"""`synthgen calibrate`: the cosine-gate settings side by side on known-good pairs and on a
run's generated rows (the real built-in embedder; the run's rows come from the stand-in engine)."""

from __future__ import annotations

from fakes import HashEmbedder, SeededEngine
from small_runs import recipe, write_corpus
from typer.testing import CliRunner

from synthgen.evaluation.calibrate import calibration_report, format_report
from synthgen.cli import app
from synthgen.run.pipeline import Pipeline


def test_a_run_gets_every_setting_on_inverse_cloze_pairs_and_generated_rows(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    report = calibration_report(out)
    assert report["pair_sets"] == ["inverse-cloze pairs", "generated rows"]
    settings = [entry["setting"] for entry in report["settings"]]
    assert settings == ["fixed 0.3", "fixed 0.5", "fixed 0.7 (qwen3-report)", "calibrated q=0.05",
                        "calibrated q=0.1 (default)", "calibrated q=0.2"]
    kept = {entry["setting"]: entry["kept"]["generated rows"]["all"] for entry in report["settings"]}
    assert kept["fixed 0.3"] >= kept["fixed 0.5"] >= kept["fixed 0.7 (qwen3-report)"]
    lines = format_report(report)
    assert all(len(line) <= 80 for line in lines)


def test_the_command_prints_the_table_for_a_recipe(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl")
    recipe_path = tmp_path / "r.toml"
    recipe_path.write_text(f'name = "x"\n[corpus]\npath = "{corpus}"\nlanguage_column = "language"\n')
    result = CliRunner().invoke(app, ["calibrate", str(recipe_path)])
    assert result.exit_code == 0, result.output
    assert "calibrated q=0.1 (default)" in result.output and "inverse-cloze pairs" in result.output


def test_labeled_pairs_of_a_benchmark_are_the_known_good_ones(tmp_path):
    import orjson

    corpus = write_corpus(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    bench = tmp_path / "bench"
    (bench / "qrels").mkdir(parents=True)
    docs = [{"_id": f"d{i}", "title": "", "text": text} for i, text in enumerate(
        ["The ls command lists the files of a folder, sorted by name.", "Bread rises because yeast makes gas."])]
    queries = [{"_id": "q0", "text": "list files in a folder", "language": "en"},
               {"_id": "q1", "text": "warum geht Brot auf", "language": "de"}]
    (bench / "corpus.jsonl").write_bytes(b"\n".join(orjson.dumps(d) for d in docs))
    (bench / "queries.jsonl").write_bytes(b"\n".join(orjson.dumps(q) for q in queries))
    (bench / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td0\t1\nq1\td1\t1\n")
    report = calibration_report(out, benchmark=bench)
    assert report["pair_sets"][0] == "labeled pairs" and report["pairs"]["labeled pairs"] == 2
    assert set(report["settings"][0]["kept"]["labeled pairs"]) == {"all", "de", "en"}
    assert report["leakage_kept"] == 1.0  # neither query copies its document
    assert "the leakage gate (this recipe's settings) keeps 100% of the labeled pairs" in format_report(report)
