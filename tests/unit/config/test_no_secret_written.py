"""No secret is ever written, echoed or published.

A sentinel key sits in the environment variable `generator.api_key_env` names and in the
credentials of `generator.base_url` (`http://user:KEY@127.0.0.1:PORT/v1?api_key=KEY`).
It goes through the real CLI (typer's CliRunner): `synthgen run` against the scripted
stand-in server of test_openai_engine.py (which quotes the key and the URL back in some
errors), two failed runs (retries exhausted; the key with a trailing carriage return),
`synthgen inspect`, `synthgen report` and `synthgen publish --dry-run`. No file any of them
writes (Parquet read back as text), no line they print and no log record holds the key
raw, `repr`- or JSON-escaped, or URL-encoded. The embedder is the hash stand-in
(tests/unit/fakes.py): the run needs no model.

And the issue's "done when": `synthgen run ... --set generator.api_key_env=hf_...` exits 2
with one line, and no file under the output folder holds that string.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import orjson
import pyarrow.parquet as pq
import pytest
from fakes import HashEmbedder, fake_value
from run_folders import mixed_rows, write_finished_run
from scripted_server import Reply, ScriptedServer, completion
from typer.testing import CliRunner

from synthgen.cli import app

SENTINEL = "sk-SENTINEL+7f3a/9c2e=Q0"  # made up; '+', '/', '=' make its encoded forms differ
KEY_ENV = "SYNTHGEN_SENTINEL_KEY"
# The hash embedder's scores and the made-up words mean nothing to the cosine and language gates.
KEEP_HASHED_ROWS = ["--set", "gates.cosine.enabled=false", "--set", "gates.language.enabled=false",
                    "--set", "mining.min_negatives=0"]
REPO = Path(__file__).resolve().parents[3]


def forms(secret: str) -> set[str]:
    """Every way a secret can be written: raw, repr- and JSON-escaped, URL-encoded, and the
    Basic auth header of `user:secret`."""
    return {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret), quote(secret, safe=""),
            quote_plus(secret), base64.b64encode(f"user:{secret}".encode()).decode()}


FORMS = forms(SENTINEL) | forms(SENTINEL + "\r")


def leaks(text: str) -> list[str]:
    return sorted(form for form in FORMS if form in text)


def file_texts(root: Path) -> dict[Path, str]:
    """Every file under `root` as text; Parquet files (compressed) as their rows in JSON."""
    texts = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", "replace")
        if path.suffix == ".parquet":
            text += orjson.dumps(pq.read_table(path).to_pylist(), default=str).decode()
        texts[path] = text
    return texts


def answer(index: int, body: dict) -> Reply:
    """A completion that fits the request's schema; the 1st chat request gets a 503 and the
    4th a 400, both quoting the key and the URL back, as a careless server or proxy might
    (request 0 is the engine's GET /v1/models)."""
    quoted = f"you sent Bearer {SENTINEL} to /v1/chat/completions?api_key={quote_plus(SENTINEL)}"
    if index in (1, 4):
        return Reply(503 if index == 1 else 400, {"error": {"message": quoted}})
    schema = body["response_format"]["json_schema"]["schema"]
    return Reply(body=completion(json.dumps(fake_value(schema, body["seed"] % 100_000))))


def always_busy(index: int, body: dict) -> Reply:
    return Reply(503, {"error": {"message": f"overloaded; Bearer {SENTINEL}"}})


def write_recipe(path: Path, corpus: Path, base_url: str) -> Path:
    path.write_text(f"""
name = "no-secret"
seed = 3

[corpus]
path = "{corpus}"

[generator]
engine = "openai"
base_url = "{base_url}"
api_key_env = "{KEY_ENV}"
concurrency = 2
max_retries = 2

[tasks.retrieval]
type_and_difficulty = "sample"
""", encoding="utf-8")
    return path


class Lines(logging.Handler):
    """Every log record of every logger, formatted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The commands, run once: {name: CliRunner result}, the output folders, the log, and
    what the servers received."""
    root = tmp_path_factory.mktemp("no-secret")
    corpus = root / "corpus.jsonl"
    corpus.write_bytes(b"".join(orjson.dumps({"id": f"doc-{i}", "language": "en",
                                              "text": f"Document {i} explains how tool {i} copies files between "
                                                      "folders and keeps their permissions."}) + b"\n"
                                for i in range(6)))
    out = root / "outputs"
    runner, lines = CliRunner(), Lines()
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.addHandler(lines)
    root_logger.setLevel(logging.DEBUG)
    results, received = {}, {}
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("synthgen.run.pipeline.load_embedder", lambda config: HashEmbedder())
            env = {KEY_ENV: SENTINEL}
            for name, script, key in (("run", answer, SENTINEL), ("failed", always_busy, SENTINEL),
                                      ("crlf", answer, SENTINEL + "\r")):
                with ScriptedServer(script) as server:
                    base_url = (server.base_url.replace("http://", f"http://user:{quote(SENTINEL, safe='')}@")
                                + f"?api_key={quote_plus(SENTINEL)}")
                    recipe = write_recipe(root / f"{name}.toml", corpus, base_url)
                    results[name] = runner.invoke(app, ["run", str(recipe), "--out", str(out / name), "--quiet",
                                                        *KEEP_HASHED_ROWS], env={**env, KEY_ENV: key})
                    received[name] = list(server.received)
            results["inspect"] = runner.invoke(app, ["inspect", str(out / "run")])
            results["report"] = runner.invoke(app, ["report", str(out / "run")])
            results["publish"] = runner.invoke(app, ["publish", str(out / "run"), "--repo-id", "o/n", "--dry-run",
                                                     str(out / "hub")])
    finally:
        root_logger.removeHandler(lines)
        root_logger.setLevel(level)
    return results, out, lines.lines, received


def test_the_commands_ran_and_used_the_credentials(runs):
    results, out, lines, received = runs
    assert results["run"].exit_code == 0, results["run"].output
    for name in ("inspect", "report", "publish"):
        assert results[name].exit_code == 0, results[name].output
    assert pq.read_table(out / "run" / "data").num_rows > 0
    assert (out / "run" / "report" / "index.html").is_file() and (out / "hub" / "README.md").is_file()
    models, first = received["run"][:2]
    assert models["path"] == f"/v1/models?api_key={quote_plus(SENTINEL)}"
    assert first["path"] == f"/v1/chat/completions?api_key={quote_plus(SENTINEL)}"  # the URL as configured
    # user:password@ goes as Basic auth (httpx), in place of the Bearer key
    assert first["headers"]["Authorization"] == "Basic " + base64.b64encode(f"user:{SENTINEL}".encode()).decode()
    assert any("retry 1 of 2" in line for line in lines) and any("the item is rejected" in line for line in lines)
    assert received["crlf"] == []  # refused before any request


def test_failed_runs_stop_with_one_line(runs):
    results = runs[0]
    for name, expected in (("failed", "failed after 3 attempts"),
                           ("crlf", f"strip the trailing carriage return / newline from {KEY_ENV}")):
        result = results[name]
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr


def test_what_is_written_holds_the_urls_redacted(runs):
    _, out, _, _ = runs
    manifest = orjson.loads((out / "run" / "manifest.json").read_bytes())
    state = orjson.loads((out / "failed" / "state.json").read_bytes())  # the failed run's fingerprint
    for recipe in (manifest["recipe"], state["fingerprint"]["recipe"]):
        assert recipe["generator"]["base_url"].startswith("http://***@127.0.0.1:")
        assert recipe["generator"]["base_url"].endswith("/v1?api_key=***")
        assert recipe["generator"]["api_key_env"] == KEY_ENV
    card = (out / "hub" / "README.md").read_text(encoding="utf-8")
    assert '"base_url": "http://***@127.0.0.1:' in card


def test_no_file_holds_the_key(runs):
    _, out, _, _ = runs
    texts = file_texts(out)
    assert {"manifest.json", "state.json", "README.md", "synthgen_manifest.json", "index.html"} <= \
        {path.name for path in texts}
    assert any(path.parent.name == "rejects" for path in texts)
    found = {str(path.relative_to(out)): leaks(text) for path, text in texts.items() if leaks(text)}
    assert found == {}


def test_no_output_or_log_line_holds_the_key(runs):
    results, _, lines, _ = runs
    assert lines  # the engine and httpx logged
    for name, result in results.items():
        assert leaks(result.stdout) == [] and leaks(result.stderr) == [], name
        assert result.exception is None or isinstance(result.exception, SystemExit), name
    assert [line for line in lines if leaks(line)] == []


# The "done when" -----------------------------------------------------------------------

def test_a_key_as_api_key_env_exits_2_with_one_line_and_is_written_nowhere(tmp_path):
    """Through the console entry point in a subprocess, on an output folder that holds a
    finished run: the command changes nothing there."""
    key = "hf_AbCdEf0123456789AbCdEf0123456789"  # the example; not a real key
    out = tmp_path / "out"
    write_finished_run(out, mixed_rows())
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f'name = "t"\n[corpus]\npath = "{tmp_path / "corpus.jsonl"}"\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "synthgen.cli", "run", str(recipe), "--out", str(out),
                             "--set", f"generator.api_key_env={key}"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 2
    assert result.stderr == ("error: recipe: generator.api_key_env: looks like a key itself (value not shown): "
                             "name the environment variable that holds it, e.g. OPENAI_API_KEY\n")
    assert result.stdout == ""
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before
    assert not any(key.encode() in path.read_bytes() for path in tmp_path.rglob("*")
                   if path.is_file() and path != recipe)
