"""`synthgen publish`: a finished run as a Hugging Face Hub dataset repository, uploaded.

The folder is laid out the way the Hub and `datasets.load_dataset` read it:

    README.md                                   the dataset card (synthgen/publish/card.py): YAML front
                                                matter with the configs, then the card
    data/<task>/train-00000-of-00001.parquet    one config per task, split train; the row contract, zstd
    images/*.png                                the run report's plots (synthgen/publish/report.py), linked from the card
    synthgen_manifest.json                      the run's manifest, for provenance (credentials in
                                                generator.base_url redacted, as synthgen writes them)

`--dry-run DIR` writes that folder and stops: look at it, or load it with
`datasets.load_dataset(DIR)` (the `all` config) or `load_dataset(DIR, "<task>")`. Without
it the folder is staged in `RUN_DIR/hub/` and uploaded:

- the token is huggingface_hub's: `HF_TOKEN`, else the one `hf auth login` saved; the Hub
  is `HF_ENDPOINT` (default https://huggingface.co), read by huggingface_hub itself;
- `create_repo(repo_type="dataset", exist_ok=True)`: `--private` applies when the repo is
  created (an existing repo keeps its visibility); `--revision` names a branch, created
  from main when missing;
- then one `upload_folder`, which also deletes files under `data/` and `images/` that the
  new folder no longer has (a republished run with fewer shards leaves no stale shard
  for the `data/<task>/*.parquet` globs to pick up); after `upload_large_folder` (below),
  which deletes nothing, one more commit deletes them.

Large runs upload resumably. With `hf_xet` installed (pinned in requirements/), the
huggingface_hub of this project's pins uploads a folder through a streamed pipeline that
commits in batches, and running the same command again after an interruption skips
what was committed and deduplicates what was uploaded: the staged folder stays in
`RUN_DIR/hub/` for that. Older huggingface_hub releases lack that pipeline but have
`upload_large_folder` (resumable, several commits, no deletions): it is used there for
folders above `LARGE_FOLDER_BYTES`.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synthgen.publish.card import ALL_CONFIG, Config, render_card
from synthgen.errors import UserError
from synthgen.shards.finished_run import FinishedRun
from synthgen.run.output import atomic_write_bytes, output_errors
from synthgen.run.owned_folders import claim_folder
from synthgen.publish.report import PLOTS, render_plots

# The data inherits the terms of the corpus and of the generator, which synthgen cannot
# know; apache-2.0 is synthgen's own license and the built-in models'. `publish` says
# which license it declared so that a user with other terms passes `--license`.
DEFAULT_LICENSE = "apache-2.0"
ROWS_PER_FILE = 100_000  # rows per Parquet file in data/<task>/
ROW_GROUP_ROWS = 8_192  # small row groups keep the Hub's dataset viewer fast on long documents
LARGE_FOLDER_BYTES = 1 << 30  # older huggingface_hub: upload_large_folder above this size
STAGING = "hub"  # RUN_DIR/hub/: the folder an upload is staged in
MANIFEST_NAME = "synthgen_manifest.json"
NO_TOKEN = ("no Hugging Face token: set HF_TOKEN to a token with write access or run `hf auth login` "
            "(or pass --dry-run DIR to write the folder only)")
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
_LICENSE = re.compile(r"[a-z0-9][a-z0-9.+-]*")


@dataclass(frozen=True)
class Published:
    folder: Path
    configs: list[Config]
    license_id: str
    url: str = ""  # the repo's URL after an upload; empty for a dry run


def publish_run(run_dir: str | Path, repo_id: str, *, dry_run: str | Path | None = None, private: bool = False,
                revision: str | None = None, license_id: str | None = None,
                rows_per_file: int = ROWS_PER_FILE) -> Published:
    """Lay out the run as a Hub dataset repository and upload it (or only write it, `dry_run`)."""
    if not _REPO_ID.fullmatch(repo_id):
        raise UserError(f"--repo-id must look like ORG/NAME (letters, digits, -, _, .), got {repo_id!r}")
    if rows_per_file < 1:
        raise UserError(f"--rows-per-file must be >= 1, got {rows_per_file}")
    run = FinishedRun.open(run_dir)
    if not run.shards or run.rows == 0:
        raise UserError(f"{run_dir}: no rows to publish (every item was dropped: see `synthgen inspect {run_dir}`)")
    license_id = license_id or DEFAULT_LICENSE
    if not _LICENSE.fullmatch(license_id):
        raise UserError(f"--license must be a Hub license id such as apache-2.0, mit, cc-by-4.0 or other, "
                        f"got {license_id!r}")
    if dry_run is None:
        require_token()  # before any work: a missing token is the commonest first-run mistake
    folder = Path(dry_run) if dry_run is not None else run.folder.root / STAGING
    configs = build_repo_folder(run, folder, repo_id, license_id, rows_per_file)
    if dry_run is not None:
        return Published(folder, configs, license_id)
    url = upload(folder, repo_id, private=private, revision=revision,
                 commit_message=f"synthgen publish: run {run.name}, {run.rows:,} rows")
    return Published(folder, configs, license_id, url)


def build_repo_folder(run: FinishedRun, folder: Path, repo_id: str, license_id: str,
                      rows_per_file: int = ROWS_PER_FILE) -> list[Config]:
    """Write the repository folder (data, images, manifest, card); return its configs."""
    _clear_folder(folder)
    with output_errors(folder):
        written = write_task_shards(run, folder, rows_per_file)
        configs = [Config(ALL_CONFIG, sum(c.rows for c in written), "data/*/train-*.parquet",
                          min((c.min_negatives for c in written), default=0)), *written]
        render_plots(run, folder / "images")
        # The run's manifest, its recipe's credentials redacted should an older synthgen have written them.
        manifest = {**run.manifest, "recipe": run.recipe} if "recipe" in run.manifest else run.manifest
        atomic_write_bytes(folder / MANIFEST_NAME, orjson.dumps(manifest, option=orjson.OPT_INDENT_2
                                                                | orjson.OPT_SORT_KEYS))
        images = {f"images/{name}": caption for name, caption in PLOTS.items()}
        card = render_card(run, repo_id, configs, license_id, images)
        atomic_write_bytes(folder / "README.md", card.encode("utf-8"))
    return configs


def write_task_shards(run: FinishedRun, folder: Path, rows_per_file: int) -> list[Config]:
    """Split the run's final shards by task into `data/<task>/train-NNNNN-of-NNNNN.parquet`,
    streaming (one batch in memory at a time); return one `Config` per task."""
    totals = run.counted("task")  # the file names need each task's count up front
    writers = {task: _TaskWriter(folder / "data" / task, rows, rows_per_file) for task, rows in totals.items()}
    for batch in run.batches(run.columns, batch_size=ROW_GROUP_ROWS):
        tasks = batch.column("task")
        for task in pc.unique(tasks).to_pylist():
            writers[task].add(pa.Table.from_batches([batch.filter(pc.equal(tasks, task))]))
    return [Config(task, totals[task], f"data/{task}/train-*.parquet", writer.close())
            for task, writer in writers.items()]


class _TaskWriter:
    """Rows of one task into numbered Parquet files of `rows_per_file` rows, row groups of
    `ROW_GROUP_ROWS`; tracks the fewest negatives any row has."""

    def __init__(self, folder: Path, total: int, rows_per_file: int):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.rows_per_file = folder, rows_per_file
        self.files = max(1, math.ceil(total / rows_per_file))
        self.index, self.in_file = 0, 0
        self.min_negatives: int | None = None
        self._writer: pq.ParquetWriter | None = None

    def add(self, table: pa.Table) -> None:
        if "negatives" in table.column_names and table.num_rows:
            lengths = pc.fill_null(pc.list_value_length(table.column("negatives")), 0).to_numpy()
            fewest = int(np.min(lengths))
            self.min_negatives = fewest if self.min_negatives is None else min(self.min_negatives, fewest)
        while table.num_rows:
            if self._writer is None:
                path = self.folder / f"train-{self.index:05d}-of-{self.files:05d}.parquet"
                self._writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            take = min(table.num_rows, self.rows_per_file - self.in_file)
            self._writer.write_table(table.slice(0, take), row_group_size=ROW_GROUP_ROWS)
            table, self.in_file = table.slice(take), self.in_file + take
            if self.in_file == self.rows_per_file:
                self._writer.close()
                self._writer, self.index, self.in_file = None, self.index + 1, 0

    def close(self) -> int:
        if self._writer is not None:
            self._writer.close()
        return self.min_negatives or 0


def _clear_folder(folder: Path) -> None:
    """Make `folder` ready for a fresh layout: new or empty, or one that `publish` marked as
    its own before (its data/, images/, card and manifest are replaced; other files stay).
    The mark comes first, so a staging that dies half-way is rerun into the same folder."""
    claim_folder(folder, "publish", "publish folder")
    with output_errors(folder):
        for name in ("data", "images"):
            shutil.rmtree(folder / name, ignore_errors=True)
        for name in ("README.md", MANIFEST_NAME):
            (folder / name).unlink(missing_ok=True)


def upload(folder: Path, repo_id: str, *, private: bool = False, revision: str | None = None,
           commit_message: str = "synthgen publish", large_folder_bytes: int = LARGE_FOLDER_BYTES) -> str:
    """Create the dataset repo if needed and upload `folder` to it; return the repo URL.

    `large_folder_bytes`: on huggingface_hub releases that have `upload_large_folder`
    (before the streamed `upload_folder`), folders above this size go through it."""
    from huggingface_hub import HfApi

    require_token()
    api = HfApi()
    with hub_errors(api.endpoint, repo_id):
        url = api.create_repo(repo_id, repo_type="dataset", private=private or None, exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
        size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
        if hasattr(api, "upload_large_folder") and size > large_folder_bytes:
            api.upload_large_folder(repo_id=repo_id, folder_path=folder, repo_type="dataset", revision=revision,
                                    private=private or None)
            delete_stale_files(api, folder, repo_id, revision)
        else:
            api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type="dataset", revision=revision,
                              commit_message=commit_message, delete_patterns=["data/*", "images/*"])
    return str(url)


def delete_stale_files(api, folder: Path, repo_id: str, revision: str | None) -> list[str]:
    """Delete the repo's files under data/ and images/ that `folder` does not have (an
    earlier upload's shards: the `data/<task>/*` globs of the card would read them), in
    one commit; return their paths. `upload_large_folder` deletes nothing itself."""
    stale = sorted(path for path in api.list_repo_files(repo_id, repo_type="dataset", revision=revision)
                   if path.startswith(("data/", "images/")) and not (folder / path).is_file())
    if stale:
        from huggingface_hub import CommitOperationDelete

        api.create_commit(repo_id=repo_id, repo_type="dataset", revision=revision,
                          operations=[CommitOperationDelete(path_in_repo=path) for path in stale],
                          commit_message=f"synthgen publish: delete {len(stale)} stale files")
    return stale


def require_token() -> None:
    """Fail with the fix when huggingface_hub finds no token (HF_TOKEN, or `hf auth login`'s)."""
    from huggingface_hub import get_token

    if get_token() is None:
        raise UserError(NO_TOKEN)


@contextlib.contextmanager
def hub_errors(endpoint: str, repo_id: str) -> Iterator[None]:
    """The Hub's refusals and an unreachable endpoint as one line with the fix (UserError)."""
    from huggingface_hub.errors import HfHubHTTPError

    # The base error of huggingface_hub's HTTP client (httpx) also covers a refused
    # connection and a timeout.
    client_error = HfHubHTTPError.__mro__[1]
    try:
        yield
    except HfHubHTTPError as exc:
        status = exc.response.status_code if getattr(exc, "response", None) is not None else "?"
        detail = (getattr(exc, "server_message", None) or str(exc)).strip().splitlines()[0][:200]
        if status == 401:
            raise UserError(f"{endpoint} refused the token (401): set HF_TOKEN to a valid token with write access "
                            "or run `hf auth login`") from None
        if status == 403:
            raise UserError(f"{endpoint}: the token may not write {repo_id} (403: {detail}): use a token with write "
                            f"access to {repo_id.split('/')[0]}, or another --repo-id") from None
        raise UserError(f"{endpoint}: publishing {repo_id} failed with HTTP {status}: {detail}") from None
    except ValueError as exc:  # huggingface_hub's answer to the Hub's metadata check (validate-yaml)
        if not str(exc).startswith("Invalid metadata"):
            raise
        raise UserError(f"{endpoint} refused the dataset card's metadata ({' '.join(str(exc).split())}): "
                        "a --license the Hub does not list is the usual cause") from None
    except client_error as exc:
        raise UserError(f"cannot reach {endpoint} ({exc}): check the network, or HF_ENDPOINT if you set it; "
                        "rerun the same command to resume") from None
