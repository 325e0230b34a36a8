"""`synthgen personas expand` on the real vLLM engine with the built-in model, as a user runs it."""

from __future__ import annotations

import re
import time

import orjson
import pytest

from synthgen.corpus.text import normalize_text
from synthgen.personas.library import load_personas
from tests.e2e.conftest import REPO, synthgen_cli

pytestmark = pytest.mark.engine

DOCS, FROM_PERSONAS = 8, 2


def test_expand_writes_a_deduplicated_library(tmp_path):
    out = tmp_path / "personas" / "sample.jsonl"
    started = time.perf_counter()
    result = synthgen_cli("personas", "expand", "--corpus", str(REPO / "corpora/sample-multilingual.jsonl"),
                          "--out", str(out), "--limit-docs", str(DOCS), "--from-personas", str(FROM_PERSONAS),
                          "--max-tokens", "160", "--seed", "7")
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr[-3000:]
    print(f"\n{result.stdout}({seconds:.1f} s wall, engine start included)")

    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    for line in lines:
        assert set(line) == {"id", "persona", "domains", "source"}
        assert line["id"].startswith("x-") and line["persona"].strip() == line["persona"] and len(line["persona"]) >= 20
        assert isinstance(line["domains"], list) and all(isinstance(d, str) and d for d in line["domains"])
        assert re.fullmatch(r"(text:(en|de|fr|es|pt|it)-\d+|persona:core-\d{4})", line["source"])
    ids = [line["id"] for line in lines]
    assert len(set(ids)) == len(ids)
    core = {normalize_text(p.persona) for p in load_personas(["builtin:core"])}
    keys = [normalize_text(line["persona"]) for line in lines]
    assert len(set(keys)) == len(keys) and not core & set(keys)
    if lines:  # usable as a library next to the core one, as a recipe's personas.libraries
        assert len(load_personas(["builtin:core", str(out)])) == len(core) + len(lines)

    requests = int(re.search(r"(\d+) requests", result.stdout).group(1))
    parsed = int(re.search(r"(\d+) parsed", result.stdout).group(1))
    malformed = sum(int(n) for n in re.findall(r"[a-z_]+ (\d+)", result.stdout.split("malformed:")[1].split("(")[0]))
    assert requests == DOCS + FROM_PERSONAS and requests == parsed + malformed
    proposed = int(re.search(r"(\d+) personas proposed", result.stdout).group(1))
    kept = int(re.search(r"(\d+) kept", result.stdout).group(1))
    dropped = sum(int(re.search(rf"(\d+) {what}", result.stdout).group(1))
                  for what in ("exact duplicates", "near duplicates", "invalid"))
    assert proposed == kept + dropped and kept == len(lines)
    assert f"wrote {kept} personas to {out}" in result.stdout
    assert parsed > 0 and kept > 0
