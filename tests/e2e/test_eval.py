"""`synthgen eval` end to end: the real all-MiniLM-L6-v2, trained for real, on real text.

The run folder is written directly (no generator): its documents are module docstrings of
the Python standard library; each row's query is the first sentence of one public
function's or class's docstring in that module, its positive the module docstring, its
negatives two other modules' docstrings. The BEIR-layout benchmark asks with another
function's docstring for its module. Text nobody here wrote, but a toy: this checks the
machinery (four models trained and scored, results written, the base scores equal a
direct computation), not that synthgen data is good; `make quality` measures that.
"""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import numpy as np
import orjson
import pytest

from synthgen.corpus.readers import Document
from synthgen.run.output import documents_table, write_parquet
from tests.e2e.conftest import synthgen_cli
from tests.unit.run_folders import make_row, write_finished_run

pytestmark = pytest.mark.engine

MODULES = 24
DOC_CHARS = 240  # short texts keep four trainings of MiniLM on 2 CPU cores near a minute
MODELS = ["base", "inverse_cloze", "synthgen", "inverse_cloze+synthgen"]


def stdlib_modules(limit: int) -> list[tuple[str, str, list[str]]]:
    """(module, docstring, first sentences of its public definitions' docstrings)."""
    found = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        if path.stem.startswith("_"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        doc = ast.get_docstring(tree)
        heads = [" ".join(d.split()).split(". ")[0] for node in tree.body
                 if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")
                 and (d := ast.get_docstring(node))]
        heads = [h for h in heads if len(h.split()) >= 4]
        if doc and len(doc.split()) >= 30 and len(heads) >= 2:
            found.append((path.stem, " ".join(doc.split())[:DOC_CHARS].rsplit(" ", 1)[0], heads))
        if len(found) == limit:
            break
    return found


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    modules = stdlib_modules(MODULES)
    assert len(modules) == MODULES
    root = tmp_path_factory.mktemp("eval")
    rows = []
    for i, (name, doc, heads) in enumerate(modules):
        others = [modules[(i + k) % len(modules)][1] for k in (1, 2)]
        rows.append({**make_row("retrieval", i), "query": heads[0], "positive": doc, "negatives": others,
                     "negative_scores": [0.3, 0.2], "source_id": f"stdlib/{name}"})
    run = write_finished_run(root / "run", rows)
    write_parquet(run.document_part_path(0),
                  documents_table([Document(f"stdlib/{name}", doc, "en") for name, doc, _ in modules]))
    bench = root / "bench"
    (bench / "qrels").mkdir(parents=True)
    (bench / "corpus.jsonl").write_bytes(b"".join(
        orjson.dumps({"_id": name, "title": name, "text": doc}) + b"\n" for name, doc, _ in modules))
    (bench / "queries.jsonl").write_bytes(b"".join(
        orjson.dumps({"_id": f"q-{name}", "text": heads[1], "language": "en"}) + b"\n" for name, _, heads in modules))
    (bench / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q-{name}\t{name}\t1\n" for name, _, _ in modules))
    result = synthgen_cli("eval", str(run.root), "--benchmark", str(bench), "--epochs", "1", "--batch-size", "16",
                          "--learning-rate", "1e-4")
    assert result.returncode == 0, result.stderr[-3000:]
    return run.root, bench, result


def test_results_hold_four_models_with_metrics_in_range(evaluated):
    run, _, _ = evaluated
    results = orjson.loads((run / "eval" / "results.json").read_bytes())
    assert [m["name"] for m in results["models"]] == MODELS
    assert [m["rows"] for m in results["models"]] == [0, results["data"]["inverse_cloze"]["rows"], MODULES,
                                                      results["data"]["inverse_cloze"]["rows"] + MODULES]
    for model in results["models"]:
        assert set(model["scores"]) == {"all", "en"}
        for metric in ("ndcg@10", "mrr@10", "recall@10"):
            assert 0.0 <= model["scores"]["all"][metric] <= 1.0
    assert results["machine"]["cores"] >= 1 and results["machine"]["cpu"]
    assert results["settings"]["learning_rate"] == 1e-4 and results["settings"]["batch_sampler"] == "no_duplicates"
    assert sorted(p.name for p in (run / "eval").iterdir()) == ["results.json"]  # no checkpoints left behind
    manifest = orjson.loads((run / "manifest.json").read_bytes())
    assert [m["name"] for m in manifest["eval"]["models"]] == MODELS


def test_base_scores_equal_a_direct_computation(evaluated):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    from synthgen.engines.models import resolve_model

    run, bench, _ = evaluated
    base = orjson.loads((run / "eval" / "results.json").read_bytes())["models"][0]["scores"]["all"]
    corpus = {r["_id"]: f"{r['title']} {r['text']}" for r in map(orjson.loads, (bench / "corpus.jsonl").open("rb"))}
    queries = {r["_id"]: r["text"] for r in map(orjson.loads, (bench / "queries.jsonl").open("rb"))}
    relevant = {f"q-{name}": {name} for name in corpus}
    evaluator = InformationRetrievalEvaluator(queries, corpus, relevant, ndcg_at_k=[10], mrr_at_k=[10],
                                              accuracy_at_k=[1], precision_recall_at_k=[10], map_at_k=[10],
                                              show_progress_bar=False, name="toy")
    direct = evaluator(SentenceTransformer(resolve_model("builtin:all-minilm-l6-v2"), device="cpu"))
    assert np.isclose(base["ndcg@10"], direct["toy_cosine_ndcg@10"], atol=1e-6)
    assert np.isclose(base["mrr@10"], direct["toy_cosine_mrr@10"], atol=1e-6)
    assert np.isclose(base["recall@10"], direct["toy_cosine_recall@10"], atol=1e-6)


def test_trained_models_differ_from_the_base(evaluated):
    run, _, result = evaluated
    models = orjson.loads((run / "eval" / "results.json").read_bytes())["models"]
    for model in models[1:]:
        assert model["scores"]["all"] != models[0]["scores"]["all"], model["name"]
    assert "inverse cloze + synthgen" in result.stdout and "nDCG@10 by query language" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
