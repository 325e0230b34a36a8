"""Scale-out on the real engine: a Ray cluster and shard runs against one in-process run.

The Ray cluster is a real one, started here on loopback with `ray start`: a head node and
a second node, one CPU each, so the recipe's two engine actors land on different nodes.

Two promises are checked (synthgen/run/ledger.py, README "Scaling out"). On any machine: the
same work items with the same ids, each ending once as a generated row or a stage reject,
and each generated row once in data/ or a gate reject. With `run.deterministic = true`
(the recipe here) on the same hardware: the same rows, bit for bit. The second is checked
only where it holds: if the rows differ, two in-process runs of the recipe are compared,
and if even those differ, this CPU's engine is not deterministic and the row comparison
is skipped, naming the CPU; if those agree, the executor broke the promise and the test
fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from synthgen.run.ledger import audit_run
from tests.e2e.conftest import GENERATION_ONLY_GATES, synthgen_cli

pytestmark = pytest.mark.engine
PLANNED = ("documents_read", "documents_kept", "documents_truncated", "work_items")  # no model output in them


@pytest.fixture(scope="module")
def scale_recipe(tmp_path_factory, man_corpus) -> Path:
    """Three shards of four man pages, two queries each. (Brainstorm and the corpus-free
    shard go through shard runs and merge in tests/unit/test_scale_out.py: in one CI run
    the real engine brainstormed a different number of ideas for the same recipe.)"""
    path = tmp_path_factory.mktemp("scale") / "scale.toml"
    path.write_text(f"""
name = "e2e-scale"
seed = 11
queries_per_document = 2

[corpus]
path = "{man_corpus}"
language_column = ""

[generator]
model = "builtin:smollm2-135m-instruct"
max_tokens = 96
engine_kwargs = {{ max_model_len = 2048, gpu_memory_utilization = 0.1 }}

[tasks.retrieval]
query_length = [4, 12]
type_and_difficulty = "sample"

[languages]
query = {{ same = 1.0 }}

{GENERATION_ONLY_GATES}

[embedder]
chunk_size = 4  # the corpus and the queries in several chunks, so both embedding actors get some

[run]
shard_size = 4
deterministic = true

[ray]
workers = 2
cpus_per_worker = 1
""", encoding="utf-8")
    return path


def _local(tmp_path_factory, scale_recipe, name: str) -> Path:
    out = tmp_path_factory.mktemp(name) / "out"
    result = synthgen_cli("run", str(scale_recipe), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, scale_recipe) -> Path:
    return _local(tmp_path_factory, scale_recipe, "local")


@pytest.fixture(scope="module")
def second_local_run(tmp_path_factory, scale_recipe) -> Path:
    """The same recipe in-process once more: asked for only when another run's rows differ."""
    return _local(tmp_path_factory, scale_recipe, "local-again")


def assert_same_rows_where_deterministic(request, rows, local_run: Path, what: str) -> None:
    """`rows` equal the local run's; where they do not, the test fails unless a second
    in-process run differs from the first too (then this CPU's engine is not deterministic)."""
    expected = _rows(local_run / "generated") if what == "generated" else _rows(local_run / "data")
    if rows == expected:
        return
    again = request.getfixturevalue("second_local_run")
    if (_rows(again / "generated") if what == "generated" else _rows(again / "data")) != expected:
        pytest.skip(f"run.deterministic does not give identical rows on this CPU ({cpu_model()}): two in-process "
                    "runs of the same recipe differ; only the work-item accounting is checked here")
    assert rows == expected, f"{what} rows differ from an in-process run's, while two in-process runs agree"


def assert_same_work_items(out: Path, local_run: Path) -> None:
    ledger, reference = audit_run(out), audit_run(local_run)
    assert ledger.ok and reference.ok, (ledger.problems[:5], reference.problems[:5])
    assert set(ledger.work_items) == set(reference.work_items)
    assert set(ledger.final) == {i for i, end in ledger.work_items.items() if end == "generated"}
    counts, expected = (orjson.loads((o / "manifest.json").read_bytes())["counts"] for o in (out, local_run))
    assert {k: counts[k] for k in PLANNED} == {k: expected[k] for k in PLANNED}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A two-node Ray cluster on this machine, token-authenticated; yields (address, env)."""
    ray = Path(sys.executable).with_name("ray")
    port = _free_port()
    temp_dir = Path(f"/tmp/sg-ray-{os.getpid()}")  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--num-cpus=1", "--object-store-memory=200000000", "--disable-usage-stats"]
    head = [str(ray), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", f"--temp-dir={temp_dir}",
            "--include-dashboard=false", *common]
    worker = [str(ray), "start", f"--address=127.0.0.1:{port}", "--node-ip-address=127.0.0.1", *common]
    try:
        for command in (head, worker):
            started = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
            assert started.returncode == 0, started.stderr[-2000:]
        _wait_for_nodes(ray, f"127.0.0.1:{port}", env, count=2)
        yield f"127.0.0.1:{port}", env
    finally:
        subprocess.run([str(ray), "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_ray_cluster_run_has_the_work_items_and_deterministic_rows_of_a_local_run(
        request, local_run, scale_recipe, ray_cluster, tmp_path):
    address, env = ray_cluster
    out = tmp_path / "ray"
    result = synthgen_cli("run", str(scale_recipe), "--out", str(out), "--quiet", "--executor", "ray",
                          "--address", address, env={k: env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")})
    assert result.returncode == 0, result.stderr[-3000:]
    assert orjson.loads((out / "manifest.json").read_bytes())["executor"] == "ray"
    assert not (out / ".ray-work").exists()
    assert_same_work_items(out, local_run)
    embedding = orjson.loads((out / "manifest.json").read_bytes())["finalize_embedding"]
    assert (embedding["where"], embedding["actors"], embedding["nodes"]) == ("ray", 2, 2)  # one actor per node
    assert embedding["texts"] >= len(_rows(out / "data")) > 0
    # run.deterministic: same batches, same seeds, one thread, no prefix cache: the same text
    assert_same_rows_where_deterministic(request, _rows(out / "generated"), local_run, "generated")
    # the same generated rows, embedded on the actors: the same gate decisions, scores and negatives
    assert _rows(out / "data") == _rows(local_run / "data")


def test_filter_on_a_ray_cluster_embeds_on_the_actors_and_keeps_a_local_passes_rows(local_run, ray_cluster, tmp_path):
    """The finalize pass alone, over the local run's own generated rows: no engine in the
    loop, so the rows must be the local pass's, bit for bit, on any CPU."""
    address, env = ray_cluster
    copy = tmp_path / "copy"
    shutil.copytree(local_run, copy)
    result = synthgen_cli("filter", str(copy), "--executor", "ray", "--address", address,
                          env={k: env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")})
    assert result.returncode == 0, result.stderr[-3000:]
    manifest, local = (orjson.loads((o / "manifest.json").read_bytes()) for o in (copy, local_run))
    assert manifest["finalize_embedding"]["where"] == "ray" and manifest["finalize_embedding"]["nodes"] == 2
    assert manifest["finalize_embedding"]["texts"] == local["finalize_embedding"]["texts"]
    assert _rows(copy / "data") == _rows(local_run / "data")
    for key in ("counts", "removals", "mining", "calibration"):
        assert manifest[key] == local[key], key
    assert _reject_lines(copy) == _reject_lines(local_run)


def test_shard_runs_merged_have_the_work_items_and_deterministic_rows_of_a_single_run(
        request, local_run, scale_recipe, tmp_path):
    parts = []
    for index in range(2):
        part = tmp_path / f"part-{index}"
        result = synthgen_cli("run", str(scale_recipe), "--out", str(part), "--quiet", "--shard", f"{index}/2")
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"shard {index}/2" in result.stdout
        assert not (part / "data").exists() or not list((part / "data").iterdir())  # global steps wait for merge
        parts.append(part)
    documents = [sorted(int(x.stem[-5:]) for x in (p / "generated").glob("docs-*")) for p in parts]
    count = len(documents[0]) + len(documents[1])
    assert documents == [list(range(0, count, 2)), list(range(1, count, 2))]  # shard I takes shards I mod 2
    merged = tmp_path / "merged"
    result = synthgen_cli("merge", str(parts[1]), str(parts[0]), "--out", str(merged))
    assert result.returncode == 0, result.stderr[-3000:]
    assert_same_work_items(merged, local_run)
    assert_same_rows_where_deterministic(request, _rows(merged / "data"), local_run, "data")
    single = orjson.loads((local_run / "manifest.json").read_bytes())  # model output decides these: same rows,
    joined = orjson.loads((merged / "manifest.json").read_bytes())  # then the same counts and rejects
    for key in ("counts", "counts_by", "removals"):
        assert joined[key] == single[key], key
    assert _reject_lines(merged) == _reject_lines(local_run)

    again = synthgen_cli("merge", str(parts[0]), "--out", str(tmp_path / "half"))
    assert again.returncode == 2 and "shard(s) 1/2 missing" in again.stderr


def _wait_for_nodes(ray: Path, address: str, env: dict[str, str], count: int, timeout: float = 120.0) -> None:
    """Until `ray status` lists `count` active nodes: `ray start` on a second node returns
    before the head's status view has it."""
    deadline = time.monotonic() + timeout
    while True:
        status = subprocess.run([str(ray), "status", f"--address={address}"], env=env, capture_output=True,
                                text=True, timeout=60).stdout
        active = status.split("Active:")[-1].split("Pending:")[0]
        if active.count("node_") >= count:
            return
        assert time.monotonic() < deadline, f"{count} Ray nodes not active after {timeout:.0f} s:\n{status}"
        time.sleep(2)


def _rows(folder: Path) -> list[dict]:
    rows = [r for path in folder.glob("part-*.parquet") for r in pq.read_table(path).to_pylist()]
    rows += [r for path in folder.glob("train-*.parquet") for r in pq.read_table(path).to_pylist()]
    return sorted(rows, key=lambda r: r["id"])


def _reject_lines(run: Path) -> dict[str, list[bytes]]:
    return {p.name: sorted(p.read_bytes().splitlines()) for p in sorted((run / "rejects").glob("*.jsonl"))}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
