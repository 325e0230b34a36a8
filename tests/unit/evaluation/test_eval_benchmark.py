"""The three benchmark layouts `synthgen eval --benchmark` reads, and one line for each
thing wrong in one."""

from __future__ import annotations

from pathlib import Path

import datasets
import orjson
import pytest
from run_folders import mixed_rows, write_finished_run
from typer.testing import CliRunner

from synthgen.cli import app
from synthgen.errors import UserError
from synthgen.evaluation.benchmark import load_benchmark

CORPUS = [{"id": "d1", "text": "chmod changes file mode bits"}, {"id": "d2", "text": "ls lists directory contents"},
          {"id": "d3", "text": "grep prints lines that match patterns"}]
QUERIES = [{"id": "q1", "text": "how to change permissions", "language": "en"},
           {"id": "q2", "text": "Verzeichnis auflisten", "language": "de"},
           {"id": "q3", "text": "a query of another split"}]
QRELS = [{"query_id": "q1", "doc_id": "d1", "score": 2}, {"query_id": "q2", "doc_id": "d2", "score": 1},
         {"query_id": "q2", "doc_id": "d3", "score": 0}]


def write_jsonl(path: Path, records: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


def jsonl_bench(root: Path, corpus=CORPUS, queries=QUERIES, qrels=QRELS) -> Path:
    write_jsonl(root / "corpus.jsonl", corpus)
    write_jsonl(root / "queries.jsonl", queries)
    write_jsonl(root / "qrels.jsonl", qrels)
    return root


def beir_bench(root: Path, qrels_lines: list[str] | None = None) -> Path:
    write_jsonl(root / "corpus.jsonl", [{"_id": d["id"], "title": d["id"].upper(), "text": d["text"]} for d in CORPUS])
    write_jsonl(root / "queries.jsonl", [{"_id": q["id"], "text": q["text"], **({"language": q["language"]}
                                          if "language" in q else {})} for q in QUERIES])
    lines = qrels_lines if qrels_lines is not None else [f"{r['query_id']}\t{r['doc_id']}\t{r['score']}" for r in QRELS]
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{l}\n" for l in lines))
    return root


def datasets_bench(root: Path) -> Path:
    datasets.DatasetDict({"corpus": datasets.Dataset.from_list(CORPUS),
                          "queries": datasets.Dataset.from_list([{**q, "language": q.get("language", "")}
                                                                 for q in QUERIES]),
                          "qrels": datasets.Dataset.from_list(QRELS)}).save_to_disk(str(root))
    return root


@pytest.mark.parametrize("make, fmt", [(jsonl_bench, "jsonl"), (beir_bench, "beir"), (datasets_bench, "datasets")])
def test_each_layout_loads_the_same_benchmark(tmp_path, make, fmt):
    bench = load_benchmark(make(tmp_path / "toy-bench"))
    assert (bench.name, bench.format) == ("toy-bench", fmt)
    assert bench.corpus_ids == ["d1", "d2", "d3"]
    assert bench.query_ids == ["q1", "q2"]  # q3 has no qrels: another split's query, not evaluated
    assert bench.query_languages == ["en", "de"] and bench.languages == ["de", "en"]
    assert bench.qrels == {"q1": {"d1": 2.0}, "q2": {"d2": 1.0, "d3": 0.0}}
    assert bench.summary()["documents"] == 3 and bench.summary()["queries"] == 2


def test_beir_puts_the_title_before_the_text(tmp_path):
    bench = load_benchmark(beir_bench(tmp_path))
    assert bench.corpus_texts[0] == "D1 chmod changes file mode bits"


def test_numeric_ids_and_no_languages(tmp_path):
    bench = load_benchmark(jsonl_bench(tmp_path, corpus=[{"id": 7, "text": "seven"}],
                                       queries=[{"id": 1, "text": "which number"}],
                                       qrels=[{"query_id": 1, "doc_id": 7, "score": 1}]))
    assert bench.corpus_ids == ["7"] and bench.qrels == {"1": {"7": 1.0}}
    assert bench.languages == [] and bench.query_languages == [""]


def load_error(path: Path) -> str:
    with pytest.raises(UserError) as caught:
        load_benchmark(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_or_unknown_folders(tmp_path):
    assert "no such folder" in load_error(tmp_path / "nowhere")
    (tmp_path / "file.jsonl").write_text("{}")
    assert "is a file" in load_error(tmp_path / "file.jsonl")
    (tmp_path / "other").mkdir()
    assert "holds neither qrels/test.tsv (BEIR), qrels.jsonl (JSONL) nor dataset_dict.json" in load_error(
        tmp_path / "other")


def test_a_missing_file(tmp_path):
    bench = jsonl_bench(tmp_path)
    (bench / "queries.jsonl").unlink()
    assert "queries.jsonl is missing" in load_error(bench)


def test_beir_without_the_test_split(tmp_path):
    bench = beir_bench(tmp_path)
    (bench / "qrels" / "test.tsv").rename(bench / "qrels" / "dev.tsv")
    assert "qrels/test.tsv is missing (found: dev.tsv)" in load_error(bench)


def test_unknown_query_and_document_ids_in_qrels(tmp_path):
    message = load_error(jsonl_bench(tmp_path / "a", qrels=[*QRELS, {"query_id": "q9", "doc_id": "d1", "score": 1}]))
    assert "qrels.jsonl line 4: query id 'q9' is not in the queries" in message
    message = load_error(beir_bench(tmp_path / "b", qrels_lines=["q1\td1\t1", "q1\td404\t1"]))
    assert "test.tsv line 3: document id 'd404' is not in the corpus" in message


@pytest.mark.parametrize("change, expected", [
    ({"corpus": []}, "the corpus is empty"),
    ({"qrels": []}, "the qrels is empty"),
    ({"corpus": [*CORPUS, CORPUS[0]]}, "the corpus holds id 'd1' twice"),
    ({"queries": [{"id": "q1"}]}, "queries.jsonl line 1: lacks the field 'text'"),
    ({"qrels": [{"query_id": "q1", "doc_id": "d1", "score": "high"}]}, "score must be a number, got 'high'"),
    ({"qrels": [{"query_id": "q1", "doc_id": "d1", "score": 0}]}, "no query has a relevant document"),
    ({"corpus": ["just a string"]}, "corpus.jsonl line 1: must be a JSON object, got str"),
])
def test_broken_jsonl_benchmarks(tmp_path, change, expected):
    assert expected in load_error(jsonl_bench(tmp_path, **change))


def test_invalid_json_and_short_tsv_lines(tmp_path):
    bench = jsonl_bench(tmp_path / "a")
    (bench / "corpus.jsonl").write_text('{"id": "d1", "text": "ok"}\n{"id": oops}\n')
    assert "corpus.jsonl line 2: not valid JSON" in load_error(bench)
    assert "needs 3 tab-separated fields" in load_error(beir_bench(tmp_path / "b", qrels_lines=["q1 d1 1"]))


def test_datasets_layout_needs_the_three_splits(tmp_path):
    datasets.DatasetDict({"corpus": datasets.Dataset.from_list(CORPUS)}).save_to_disk(str(tmp_path / "a"))
    assert "a DatasetDict with the splits corpus, queries and qrels is needed, got corpus" in load_error(tmp_path / "a")
    datasets.DatasetDict({"corpus": datasets.Dataset.from_list(CORPUS),
                          "queries": datasets.Dataset.from_list([{"qid": "q1", "text": "x"}]),
                          "qrels": datasets.Dataset.from_list(QRELS)}).save_to_disk(str(tmp_path / "b"))
    assert "the queries split lacks the column 'id'" in load_error(tmp_path / "b")


def test_cli_reports_a_broken_benchmark_in_one_line_with_exit_code_2(tmp_path):
    write_finished_run(tmp_path / "run", mixed_rows())
    bench = jsonl_bench(tmp_path / "bench", qrels=[{"query_id": "q9", "doc_id": "d1", "score": 1}])
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "run"), "--benchmark", str(bench)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "query id 'q9' is not in the queries" in result.output
    assert not (tmp_path / "run" / "eval").exists()
