"""Scale-out on the real engine: a Ray cluster and shard runs give one in-process run's rows.

The Ray cluster is a real one, started here on loopback with `ray start`: a head node and
a second node, one CPU each, so the recipe's two engine actors land on different nodes.
Ray gives an actor with one CPU `OMP_NUM_THREADS=1`; CPU matrix products can round
differently with another thread count, so the in-process reference run uses one thread
too. On GPUs the thread count does not touch the numerics.
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

from tests.e2e.conftest import GENERATION_ONLY_GATES, synthgen_cli

pytestmark = pytest.mark.engine
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


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

[run]
shard_size = 4

[ray]
workers = 2
cpus_per_worker = 1
""", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, scale_recipe) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    result = synthgen_cli("run", str(scale_recipe), "--out", str(out), "--quiet", env=ONE_THREAD)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


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


def test_ray_cluster_run_has_the_ids_and_rows_of_a_local_run(local_run, scale_recipe, ray_cluster, tmp_path):
    address, env = ray_cluster
    out = tmp_path / "ray"
    result = synthgen_cli("run", str(scale_recipe), "--out", str(out), "--quiet", "--executor", "ray",
                          "--address", address, env={k: env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")})
    assert result.returncode == 0, result.stderr[-3000:]
    assert _ids(out / "data") == _ids(local_run / "data")
    assert _rows(out / "generated") == _rows(local_run / "generated")  # same batches, same seeds, same text
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["executor"] == "ray"
    assert manifest["counts"] == orjson.loads((local_run / "manifest.json").read_bytes())["counts"]
    assert not (out / ".ray-work").exists()


def test_shard_runs_merged_equal_a_single_run(local_run, scale_recipe, tmp_path):
    parts = []
    for index in range(2):
        part = tmp_path / f"part-{index}"
        result = synthgen_cli("run", str(scale_recipe), "--out", str(part), "--quiet", "--shard", f"{index}/2",
                              env=ONE_THREAD)
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
    assert _ids(merged / "data") == _ids(local_run / "data")
    assert _rows(merged / "data") == _rows(local_run / "data")
    single = orjson.loads((local_run / "manifest.json").read_bytes())
    joined = orjson.loads((merged / "manifest.json").read_bytes())
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


def _ids(folder: Path) -> list[str]:
    return sorted(i for path in folder.glob("*.parquet") for i in pq.read_table(path).column("id").to_pylist())


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
