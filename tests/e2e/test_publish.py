"""`synthgen publish` and `synthgen report` on a real run (the shared man-page run on the real
vLLM engine), through the installed command.

The Hub cannot be reached from here: uploads go to `HubStandIn` (tests/e2e/hub_standin.py),
a stand-in for the Hub's HTTP API on 127.0.0.1, with `HF_ENDPOINT` pointed at it and a dummy
`HF_TOKEN`. It records what huggingface_hub sends, which is what these tests check.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import datasets
import orjson
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard
from PIL import Image

from synthgen.publish.report import PLOTS
from tests.e2e.conftest import synthgen_cli
from tests.e2e.hub_standin import HubStandIn

pytestmark = pytest.mark.engine

DUMMY_TOKEN = "hf_standin_dummy_token_0123456789"


@pytest.fixture
def run_copy(man_run, tmp_path) -> Path:
    """A copy of the shared run, so that publishing (RUN/hub/) and reports leave it as it was."""
    return Path(shutil.copytree(man_run[0], tmp_path / "run"))


def rows_per_task(run: Path) -> dict[str, int]:
    tasks = pq.read_table(run / "data", columns=["task"]).column("task").to_pylist()
    return {task: tasks.count(task) for task in set(tasks)}


def point_at(hub: HubStandIn, monkeypatch, home: Path) -> None:
    """The environment the `synthgen` subprocess inherits: the stand-in, a dummy token, no login cache."""
    for name in ("HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", DUMMY_TOKEN)
    monkeypatch.setenv("HF_HOME", str(home))


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_dry_run_folder_loads_every_config_of_the_card(run_copy, tmp_path):
    result = synthgen_cli("publish", str(run_copy), "--repo-id", "demo/synthgen-demo", "--dry-run",
                          str(tmp_path / "repo"))
    assert result.returncode == 0, result.stderr[-3000:]
    expected = rows_per_task(run_copy)
    assert expected, "the shared run kept no rows"
    configs = DatasetCard.load(tmp_path / "repo" / "README.md").data.configs
    assert [c["config_name"] for c in configs] == ["all", *sorted(expected)]
    staged = {p.relative_to(tmp_path / "repo").as_posix(): pq.read_metadata(p).num_rows
              for p in sorted((tmp_path / "repo" / "data").rglob("*.parquet"))}
    assert sum(staged.values()) == sum(expected.values()), (staged, expected)
    cache = str(tmp_path / "datasets-cache")  # this test's own: nothing read from an earlier load
    for config in configs:
        name = config["config_name"]
        loaded = datasets.load_dataset(str(tmp_path / "repo"), name, split="train", cache_dir=cache)
        assert loaded.num_rows == (sum(expected.values()) if name == "all" else expected[name]), (name, staged)
    default = datasets.load_dataset(str(tmp_path / "repo"), cache_dir=cache)
    assert list(default) == ["train"] and default["train"].num_rows == sum(expected.values())
    card = (tmp_path / "repo" / "README.md").read_text(encoding="utf-8")
    for heading in ("## How it was made", "## Counts", "## Plots", "## Examples", "## Usage", "## Citation"):
        assert heading in card
    assert "HuggingFaceTB/SmolLM2-135M-Instruct" in card and "arXiv:2506.05176" in card
    manifest = orjson.loads((run_copy / "manifest.json").read_bytes())
    for template, sha in manifest["prompts"].items():
        assert f"| {template} | {sha} |" in card


def test_upload_sends_the_folder_to_the_hub_stand_in(run_copy, tmp_path, monkeypatch):
    with HubStandIn() as hub:
        point_at(hub, monkeypatch, tmp_path / "hf-home")
        result = synthgen_cli("publish", str(run_copy), "--repo-id", "demo/synthgen-demo", "--private")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"uploaded {run_copy / 'hub'} to {hub.url}/datasets/demo/synthgen-demo" in result.stdout
    assert hub.unknown in ([], ["GET /api/agent-harnesses"])  # a best-effort lookup, sent without the token
    api_calls = [r for r in hub.requests if r.path != "/api/agent-harnesses"]
    assert api_calls and all(r.headers.get("authorization") == f"Bearer {DUMMY_TOKEN}" for r in api_calls)
    assert len(hub.created) == 1
    created = hub.created[0]
    assert (created["organization"], created["name"], created["type"]) == ("demo", "synthgen-demo", "dataset")
    assert created.get("private") is True or created.get("visibility") == "private"
    assert len(hub.commits) == 1 and hub.commits[0]["revision"] == "main"
    staged = folder_files(run_copy / "hub")
    assert "README.md" in hub.files and any(re.fullmatch(r"data/[^/]+/train-\d{5}-of-\d{5}\.parquet", p)
                                            for p in hub.files)
    assert hub.files == staged  # every file, byte for byte
    assert hub.validated[0]["content"] == staged["README.md"].decode("utf-8")


def test_upload_to_a_branch_deletes_stale_shards_and_repeats_identical_bytes(run_copy, tmp_path, monkeypatch):
    dry = synthgen_cli("publish", str(run_copy), "--repo-id", "demo/synthgen-demo", "--dry-run", str(tmp_path / "dry"))
    assert dry.returncode == 0, dry.stderr[-3000:]
    stale = "data/retrieval/train-00000-of-00009.parquet"
    with HubStandIn(existing=[stale, "LICENSE", ".gitattributes"]) as hub:
        point_at(hub, monkeypatch, tmp_path / "hf-home")
        result = synthgen_cli("publish", str(run_copy), "--repo-id", "demo/synthgen-demo", "--revision", "v2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert hub.branches == ["v2"] and hub.commits[0]["revision"] == "v2"
    assert hub.commits[0]["deleted"] == [stale]  # LICENSE and .gitattributes stay
    data = {p: b for p, b in hub.files.items() if p.startswith("data/")}
    assert data == {p: b for p, b in folder_files(tmp_path / "dry").items() if p.startswith("data/")}


def test_a_refused_token_is_one_line(run_copy, tmp_path, monkeypatch):
    with HubStandIn(refuse_with=401) as hub:
        point_at(hub, monkeypatch, tmp_path / "hf-home")
        result = synthgen_cli("publish", str(run_copy), "--repo-id", "demo/synthgen-demo")
    assert result.returncode == 2
    assert result.stderr == (f"error: {hub.url} refused the token (401): set HF_TOKEN to a valid token with write "
                             "access or run `hf auth login`\n")
    assert not hub.commits


def test_report_on_the_real_run(run_copy):
    result = synthgen_cli("report", str(run_copy))
    assert result.returncode == 0, result.stderr[-3000:]
    html = (run_copy / "report" / "index.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == len(PLOTS)
    for name in PLOTS:
        with Image.open(run_copy / "report" / name) as image:
            assert image.format == "PNG" and image.size == (800, 450)
