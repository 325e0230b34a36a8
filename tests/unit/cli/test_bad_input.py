"""Bad input: each case is one line (or a counted reject), and what a run already
committed stays intact and readable; after the cause is fixed the same command resumes.

Output-folder faults use a real size-limited file system (tmpfs, needs root to mount);
the engine is the deterministic stand-in of tests/unit/fakes.py (the real engine's
token-based truncation is tested in tests/e2e/test_bad_input.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fakes import WORDS, HashEmbedder, SeededEngine

from synthgen.errors import UserError
from synthgen.run.pipeline import Pipeline
from synthgen.generation.prompts import DEFAULT_PROMPTS_DIR, PromptLibrary
from synthgen.config.loader import build_recipe


def docs(n: int, start: int = 0) -> list[dict]:
    return [{"id": f"doc-{i}", "text": f"Document {i} explains {WORDS[i % 18]} and {WORDS[(i * 7) % 18]} for "
             "readers who need a plain summary of the matter.", "language": "en"} for i in range(start, start + n)]


def jsonl(path: Path, rows: list) -> Path:
    path.write_bytes(b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in rows) + b"\n")
    return path


def recipe(corpus: Path, **corpus_keys):
    return build_recipe({"name": "bad", "seed": 2, "corpus": [{"path": str(corpus), **corpus_keys}],
                         "tasks": {"retrieval": {"type_and_difficulty": "sample"}},
                         "gates": {"cosine": {"enabled": False}, "language": {"enabled": False}},
                         "mining": {"min_negatives": 0}, "run": {"shard_size": 2}})


def run(recipe_, out: Path, engine=None, **kwargs):
    return Pipeline(recipe_, out, engine or SeededEngine(), HashEmbedder(), kwargs.pop("prompts", None),
                    show_progress=False).run(**kwargs)


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def committed_parts_readable(out: Path) -> int:
    state = orjson.loads((out / "state.json").read_bytes())
    for shard in range(state["shards_done"]):
        pq.read_table(out / "generated" / f"part-{shard:05d}.parquet")
    return state["shards_done"]


def one_line(error: UserError) -> str:
    message = str(error)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture()
def tmpfs(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_output_folder_stops_with_one_line_and_resumes_when_there_is_room(tmp_path, tmpfs):
    corpus = jsonl(tmp_path / "c.jsonl", docs(40))
    clean = tmp_path / "clean"
    run(recipe(corpus), clean)
    out = tmpfs / "out"
    with pytest.raises(UserError) as info:
        run(recipe(corpus), out)
    assert "no space left" in one_line(info.value) and "rerun the same command to resume" in str(info.value)
    done = committed_parts_readable(out)
    assert 0 < done < 20  # some shards were committed before the disk filled, and they read back
    subprocess.run(["mount", "-o", "remount,size=20m", str(tmpfs)], check=True)
    run(recipe(corpus), out)
    ids = lambda folder: sorted(pq.read_table(folder / "data").column("id").to_pylist())  # noqa: E731
    assert ids(out) == ids(clean)


def test_a_read_only_output_folder_keeps_what_was_committed(tmp_path, tmpfs):
    corpus = jsonl(tmp_path / "c.jsonl", docs(8))
    out = tmpfs / "out"
    with pytest.raises(RuntimeError):
        run(recipe(corpus), out, SeededEngine(die_at_call=4))
    before = digests(out)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    with pytest.raises(UserError) as info:
        run(recipe(corpus), out)
    assert "read-only" in one_line(info.value)
    assert digests(out) == before and committed_parts_readable(out) == 1


def test_a_corrupt_parquet_corpus_is_one_line_and_committed_shards_stay(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, rows in (("a", docs(4)), ("b", docs(4, start=4))):
        pq.write_table(pa.Table.from_pylist(rows), folder / f"{name}.parquet")
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        run(recipe(folder), out, SeededEngine(die_at_call=5))
    before = digests(out)
    data = (folder / "b.parquet").read_bytes()
    (folder / "b.parquet").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(UserError) as info:
        run(recipe(folder), out)
    assert "b.parquet is not a readable Parquet file" in one_line(info.value)
    assert digests(out) == before and committed_parts_readable(out) == 2


def test_an_empty_corpus_is_one_line(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(UserError) as info:
        run(recipe(empty), tmp_path / "out")
    assert "holds no documents" in one_line(info.value)


def test_invalid_utf8_lines_are_counted_rejects_and_the_rest_runs(tmp_path):
    corpus = jsonl(tmp_path / "c.jsonl", [*docs(3), b'{"id": "bad", "text": "caf\xe9 \xff"}'])
    manifest = run(recipe(corpus), tmp_path / "out")
    assert manifest["removals"]["corpus/undecodable"] == 1 and manifest["counts"]["documents_kept"] == 3


def test_a_corpus_of_only_bad_lines_is_one_line_with_the_rejects_kept(tmp_path):
    corpus = jsonl(tmp_path / "c.jsonl", [b'{"id": "a", "text": "\xff\xfe"}', b"not json"])
    with pytest.raises(UserError) as info:
        run(recipe(corpus), tmp_path / "out")
    assert "no usable documents" in one_line(info.value) and "2 records read" in str(info.value)
    reasons = [orjson.loads(x)["reason"] for x in (tmp_path / "out/rejects/corpus.jsonl").read_bytes().splitlines()]
    assert reasons == ["undecodable", "invalid_json"]


def test_a_document_over_the_token_limit_is_cut_and_flagged(tmp_path):
    long_doc = {"id": "long", "text": " ".join(WORDS * 60), "language": "en"}
    corpus = jsonl(tmp_path / "c.jsonl", [*docs(2), long_doc])
    out = tmp_path / "out"
    manifest = run(recipe(corpus, max_tokens=40), out)
    assert manifest["counts"]["documents_truncated"] == 1
    table = [r for p in sorted((out / "generated").glob("docs-*.parquet")) for r in pq.read_table(p).to_pylist()]
    long_row = next(r for r in table if r["id"] == "long")
    assert long_row["truncated"] is True and len(long_row["text"]) <= 3 * 40
    assert long_doc["text"].startswith(long_row["text"])
    assert not any(r["truncated"] for r in table if r["id"] != "long")


def test_a_template_with_an_undefined_variable_is_one_line(tmp_path):
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, prompts)
    query = prompts / "retrieval" / "query.j2"
    query.write_text(query.read_text().replace("{{ character }}", "{{ character_name }}"))
    corpus = jsonl(tmp_path / "c.jsonl", docs(2))
    with pytest.raises(UserError) as info:
        run(recipe(corpus), tmp_path / "out", prompts=PromptLibrary(prompts))
    assert "template retrieval/query" in one_line(info.value) and "character_name" in str(info.value)


def test_export_into_a_read_only_folder_is_one_line(tmp_path, tmpfs):
    from run_folders import mixed_rows, write_finished_run
    from synthgen.shards.export import export_run

    run_dir = write_finished_run(tmp_path / "run", mixed_rows()).root
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    with pytest.raises(UserError) as info:
        export_run(run_dir, tmpfs / "st", "sentence-transformers")
    assert "Read-only file system" in one_line(info.value)


def test_ctrl_c_is_one_line_with_exit_130(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from synthgen.cli import app

    def interrupted(self, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "run", interrupted)
    recipe_path = tmp_path / "r.toml"
    recipe_path.write_text(f'name = "x"\n[corpus]\npath = "{jsonl(tmp_path / "c.jsonl", docs(2))}"\n')
    result = CliRunner().invoke(app, ["run", str(recipe_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 130
    assert result.output.strip() == "interrupted: what was committed is kept; run the same command again to resume"


def test_an_interrupted_run_resumes_to_the_clean_result(tmp_path):
    class CtrlC(SeededEngine):
        def generate(self, requests):
            if self.calls == 3:
                raise KeyboardInterrupt
            return super().generate(requests)

    corpus = jsonl(tmp_path / "c.jsonl", docs(8))
    run(recipe(corpus), tmp_path / "clean")
    with pytest.raises(KeyboardInterrupt):
        run(recipe(corpus), tmp_path / "out", CtrlC())
    assert committed_parts_readable(tmp_path / "out") >= 1
    run(recipe(corpus), tmp_path / "out")
    rows = lambda folder: pq.read_table(folder / "data").sort_by("id").to_pylist()  # noqa: E731
    assert rows(tmp_path / "out") == rows(tmp_path / "clean")


@pytest.mark.parametrize("args, key", [
    (["personas", "search", "chmod", "--embedder", "nope/no-such-model"], "embedder.model: cannot load 'nope/no-such-model'"),
    (["personas", "search", "chmod", "--embedder", "/no/such/folder"], "embedder.model: cannot load '/no/such/folder'"),
])
def test_a_model_that_does_not_exist_is_one_line(args, key):
    exe = Path(sys.executable).with_name("synthgen")
    result = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert key in result.stderr and "Traceback" not in result.stderr


def test_model_errors_name_the_engine_argument_that_vllm_does_not_know():
    from synthgen.engines.loading import model_errors

    def engine(**kwargs):
        raise TypeError("EngineArgs.__init__() got an unexpected keyword argument 'max_model_lenx'")

    with pytest.raises(UserError, match=r"^generator.engine_kwargs: 'max_model_lenx' is not an engine argument"):
        with model_errors("generator.model", "m", "generator.engine_kwargs"):
            engine(max_model_lenx=1)
    with pytest.raises(TypeError):  # any other TypeError is a bug, not the user's mistake
        with model_errors("generator.model", "m", "generator.engine_kwargs"):
            raise TypeError("unsupported operand")
