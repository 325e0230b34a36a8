"""Bad input through the command line on the real engine: documents over the context
are cut by the model's tokenizer and flagged; an empty corpus is one line, exit 2."""

from __future__ import annotations

import orjson
import pyarrow.parquet as pq
import pytest

from tests.e2e.conftest import synthgen_cli

pytestmark = pytest.mark.engine


def test_a_document_far_over_the_context_is_cut_by_tokens_and_flagged(tmp_path, man_corpus):
    pages = [orjson.loads(line) for line in man_corpus.read_bytes().splitlines()]
    long_text = "\n\n".join(p["text"] for p in pages[:6] * 3)  # ~20k characters of real man pages
    assert len(long_text) > 15_000
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(b"\n".join(orjson.dumps(x) for x in [*pages[:2], {"id": "long", "text": long_text}]) + b"\n")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f"""
name = "e2e-long"
[corpus]
path = "{corpus}"
language_column = ""
max_chars = 100000
[generator]
max_tokens = 96
engine_kwargs = {{ max_model_len = 2048 }}
[tasks.retrieval]
type_and_difficulty = "sample"
""", encoding="utf-8")
    out = tmp_path / "out"
    result = synthgen_cli("run", str(recipe), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["counts"]["documents_truncated"] == 1
    documents = {d["id"]: d for d in pq.read_table(out / "generated" / "docs-00000.parquet").to_pylist()}
    assert documents["long"]["truncated"] and not documents[pages[0]["id"]]["truncated"]
    assert 1_000 < len(documents["long"]["text"]) < 9_000  # 2048 - 96 - 768 = 1184 tokens
    assert long_text.startswith(documents["long"]["text"][:100])
    prompts = manifest["stages"]["retrieval/configure"]
    assert prompts["requests"] == 3  # the long document was generated for, not dropped


def test_an_empty_corpus_is_one_line(tmp_path):
    corpus = tmp_path / "empty.jsonl"
    corpus.write_bytes(b"\n\n")
    result = synthgen_cli("run", "recipes/demo.toml", "--set", f"corpus.path={corpus}", "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "holds no documents" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
