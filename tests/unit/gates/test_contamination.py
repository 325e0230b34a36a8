"""The contamination check: a small test set built from a fake-engine run's own documents
and rows removes exactly the rows that overlap it, each with the test item it matched; the
three tests (exact, near duplicate, word n-gram) each catch their case; `synthgen filter`
applies it; the test-set layouts load."""

from __future__ import annotations

import orjson
import pyarrow.parquet as pq
import pytest
from fakes import HashEmbedder, SeededEngine
from small_runs import recipe, write_corpus

from synthgen.config.quality import ContaminationConfig
from synthgen.errors import UserError
from synthgen.corpus.text import normalize_text
from synthgen.gates.contamination import ContaminationIndex, SetItem, load_test_set
from synthgen.run.ledger import audit_run
from synthgen.run.pipeline import Pipeline

NGRAM = 13


def _rows(out):
    return pq.read_table(out / "data").to_pylist()


def _generated(out):
    return [r for p in sorted((out / "generated").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def _grams(text, n=NGRAM):
    words = normalize_text(text).split()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("contamination")
    corpus = write_corpus(root / "corpus.jsonl")
    out = root / "clean"
    Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    return root, corpus, out


def _test_set(root, rows):
    """Four test items made from the run: a document (exact, other case and spacing), a
    document with one letter changed (near duplicate), a query (exact, shouting), and a long
    unrelated text holding 13 consecutive words of a third document (n-gram)."""
    retrieval = [r for r in rows if r["task"] == "retrieval"]
    documents = list(dict.fromkeys(r["positive"] for r in retrieval))
    doc_a, doc_b, doc_c = documents[:3]
    query_row = next(r for r in rows if r["positive"] not in (doc_a, doc_b, doc_c))
    run_words = " ".join(normalize_text(doc_c).split()[-NGRAM:])
    filler = ("The committee approved the annual budget after a long debate about road repairs, school lunches, "
              "library hours and the new swimming pool; ")
    near_b = doc_b.replace("sentences", "sentencse")
    assert near_b != doc_b
    lines = [{"_id": "t-doc-a", "text": "  " + doc_a.upper() + "  "},
             {"_id": "t-doc-b", "text": near_b},
             {"_id": "t-query", "query": query_row["query"].upper() + "?"},
             {"_id": "t-gram", "text": filler + run_words + " " + filler}]
    path = root / "test-set.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    return path, [doc_a, doc_b, doc_c], query_row, lines


def test_a_test_set_from_the_runs_own_documents_removes_exactly_the_overlapping_rows(clean_run):
    root, corpus, clean = clean_run
    clean_rows = _rows(clean)
    path, (doc_a, doc_b, doc_c), query_row, lines = _test_set(root, clean_rows)
    out = root / "checked"
    manifest = Pipeline(recipe(corpus, contamination={"against": [str(path)], "ngram": NGRAM}), out, SeededEngine(),
                        HashEmbedder(), show_progress=False).run()
    generated = _generated(out)
    test_texts = [line.get("text") or line.get("query") for line in lines]
    test_keys = {normalize_text(t) for t in test_texts}
    test_grams = set().union(*map(_grams, test_texts))
    expected = {r["id"] for r in generated  # exact or shared 13-gram, or the near copy of doc_b
                if {normalize_text(r["query"]), normalize_text(r["positive"])} & test_keys
                or (_grams(r["query"]) | _grams(r["positive"])) & test_grams or r["positive"] == doc_b}
    assert {r["id"] for r in generated if r["positive"] in (doc_a, doc_b, doc_c)} < expected
    rejects = [orjson.loads(line) for line in (out / "rejects" / "gates-contamination.jsonl").read_bytes().splitlines()]
    assert {r["id"] for r in rejects} == expected
    assert all(r["reason"] == "contaminated" and r["test_set"] == str(path) for r in rejects)
    by_test = {r["test_id"].split("/")[0]: r for r in rejects}
    assert by_test["t-doc-a"]["match"] == "exact" and by_test["t-doc-a"]["matched_field"] == "positive"
    assert by_test["t-doc-b"]["match"] == "near_duplicate" and by_test["t-doc-b"]["match_score"] < 1
    assert by_test["t-query"]["match"] == "exact" and by_test["t-query"]["matched_field"] == "query"
    assert by_test["t-gram"]["match"] == "ngram"
    kept = _rows(out)
    assert not expected & {r["id"] for r in kept}
    # every other row of the clean run survives (contamination runs before dedup, so no reshuffle)
    assert {r["id"] for r in kept} == {r["id"] for r in clean_rows} - expected
    assert manifest["gate_removals"]["gates/contamination/contaminated"] == len(expected)
    assert manifest["contamination"]["rows_removed"] == len(expected)
    assert manifest["contamination"]["against"] == [{"path": str(path), "queries": 1, "documents": 3}]
    assert audit_run(out).ok


def test_filter_applies_a_contamination_check_to_a_finished_run(clean_run, monkeypatch):
    from typer.testing import CliRunner

    import synthgen.engines
    from synthgen.cli import app

    root, corpus, clean = clean_run
    path, (doc_a, *_), *_ = _test_set(root, _rows(clean))
    monkeypatch.setattr(synthgen.engines, "load_embedder", lambda config: HashEmbedder())
    result = CliRunner().invoke(app, ["filter", str(clean), "--set", f'contamination.against=["{path}"]',
                                      "--set", f"contamination.ngram={NGRAM}"])
    assert result.exit_code == 0, result.output
    assert "gates/contamination/contaminated" in result.output
    assert not any(r["positive"] == doc_a for r in _rows(clean))
    manifest = orjson.loads((clean / "manifest.json").read_bytes())
    assert manifest["recipe"]["contamination"]["against"] == [str(path)]
    assert manifest["contamination"]["rows_removed"] == manifest["gate_removals"]["gates/contamination/contaminated"]
    result = CliRunner().invoke(app, ["filter", str(clean), "--set", "contamination.against=[]"])
    assert result.exit_code == 0, result.output
    assert not (clean / "rejects" / "gates-contamination.jsonl").exists()
    assert any(r["positive"] == doc_a for r in _rows(clean))


def test_each_test_alone():
    items = [SetItem("t", "document", "d", "The quick brown fox jumps over the lazy dog near the river bank today"),
             SetItem("t", "query", "q", "how do I change file permissions with chmod")]
    index = ContaminationIndex(ContaminationConfig(against=[], ngram=8), items)
    queries = ["How do I change file-permissions with CHMOD?",  # exact after normalization
               "how do i change file permissions with chmodd",  # near duplicate
               "unrelated words",
               "unrelated too"]
    positives = ["p1", "p2", "Yesterday the quick brown fox jumps over the lazy dog near the old mill", "p4"]
    found = index.check(queries, positives)
    assert sorted(found) == [0, 1, 2]
    assert (found[0].how, found[0].item.id) == ("exact", "q")
    assert (found[1].how, found[1].item.id) == ("near_duplicate", "q")
    assert (found[2].how, found[2].field, found[2].item.id) == ("ngram", "positive", "d")
    assert ContaminationIndex(ContaminationConfig(against=[], ngram=0), items).check(queries, positives).keys() == {0, 1}


def test_test_set_layouts(tmp_path):
    beir = tmp_path / "beir"
    beir.mkdir()
    (beir / "corpus.jsonl").write_text('{"_id": "d1", "title": "Chmod", "text": "changes modes"}\n')
    (beir / "queries.jsonl").write_text('{"_id": "q1", "text": "what does chmod do"}\n')
    items = load_test_set(beir)
    assert [(i.kind, i.id, i.text) for i in items] == [("document", "d1", "Chmod changes modes"),
                                                       ("query", "q1", "what does chmod do")]
    import datasets

    saved = tmp_path / "saved"
    datasets.DatasetDict({"corpus": datasets.Dataset.from_list([{"id": "d1", "text": "a doc"}]),
                          "queries": datasets.Dataset.from_list([{"id": "q1", "text": "a query"}]),
                          "test": datasets.Dataset.from_list([{"query": "q2", "pos": ["p2", "p3"]}])}
                         ).save_to_disk(str(saved))
    items = load_test_set(saved)
    assert sorted((i.kind, i.text) for i in items) == [("document", "a doc"), ("document", "p2"),
                                                       ("document", "p3"), ("query", "a query"), ("query", "q2")]
    with pytest.raises(UserError, match="does not exist"):
        load_test_set(tmp_path / "missing")


@pytest.mark.parametrize("section, values, key", [
    ("contamination", {"ngram": 2}, "contamination.ngram"),
    ("contamination", {"near_dup_threshold": 0}, "contamination.near_dup_threshold"),
    ("contamination", {"against": "one.jsonl"}, "contamination.against"),
    ("collisions", {"action": "mask"}, "collisions.action"),
])
def test_bad_settings_are_one_line_naming_the_key(section, values, key):
    from synthgen.config.loader import build_recipe
    from synthgen.errors import RecipeError

    with pytest.raises(RecipeError, match=key.replace(".", r"\.")):
        build_recipe({"name": "x", "corpus": {"path": "c.jsonl"}, section: values})
