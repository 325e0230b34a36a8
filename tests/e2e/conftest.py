"""End-to-end fixtures: a small corpus of real text from this machine, and one real run.

The corpus is built from the system's man pages (English and translated sets), text that
nobody on the team wrote. Pages are rendered with `man`, and the language column is left
out so that synthgen detects each document's language itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

MAN_PAGES = [
    "man1/ls.1.gz", "man1/cp.1.gz", "man1/grep.1.gz", "man1/tar.1.gz", "man1/chmod.1.gz",
    "man1/ssh.1.gz", "de/man1/apropos.1.gz", "fr/man1/apropos.1.gz", "es/man1/apropos.1.gz",
    "pt/man1/apropos.1.gz",
]
REPO = Path(__file__).resolve().parents[2]
GENERATION_ONLY_GATES = """
# This run checks generation; the gates have their own tests. Keep the rows that the
# 135M model's weak queries would lose to the cosine and language gates.
[gates.cosine]
enabled = false

[gates.language]
enabled = false

[mining]
min_negatives = 0
"""


def render_man_page(path: Path, max_chars: int = 1200) -> str:
    """The page as plain text from its NAME section on, cut at a paragraph near max_chars."""
    env = {**os.environ, "MANWIDTH": "100", "MAN_KEEP_FORMATTING": "0"}
    text = subprocess.run(["man", "-E", "UTF-8", "-l", str(path)], capture_output=True, env=env,
                          check=True).stdout.decode("utf-8", "replace")
    text = re.sub(r".\x08", "", text)  # overstrike bold/underline
    lines = [line.strip() for line in text.splitlines()[1:-1]]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    cut = body.rfind("\n\n", 0, max_chars)
    return body[: cut if cut > 200 else max_chars]


def build_man_corpus(target: Path, pages: list[str] = MAN_PAGES) -> Path:
    """A JSONL corpus (id, text; no language) of the man pages that exist on this machine."""
    rows = []
    for page in pages:
        path = Path("/usr/share/man") / page
        if path.is_file():
            rows.append({"id": page.removesuffix(".gz"), "text": render_man_page(path)})
    if len(rows) < 6:
        message = (f"only {len(rows)} of the {len(pages)} man pages of the end-to-end corpus are installed here "
                   "(install the man-db and manpages packages with their translations)")
        if os.environ.get("CI", "").lower() == "true":  # CI must not pass by skipping every engine test
            pytest.fail(message)
        pytest.skip(message)
    target.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return target


def synthgen_cli(*args: str, cwd: Path = REPO, timeout: int = 900,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the installed `synthgen` console script of this environment (`env`: extra variables)."""
    exe = Path(sys.executable).with_name("synthgen")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def man_corpus(tmp_path_factory) -> Path:
    return build_man_corpus(tmp_path_factory.mktemp("corpus") / "man.jsonl")


@pytest.fixture(scope="session")
def man_recipe(tmp_path_factory, man_corpus) -> Path:
    """A recipe over the man-page corpus: two query languages, built-in models."""
    path = tmp_path_factory.mktemp("recipe") / "man.toml"
    path.write_text(f"""
name = "e2e-man"
seed = 7
queries_per_document = 2

[corpus]
path = "{man_corpus}"
language_column = ""

[generator]
model = "builtin:smollm2-135m-instruct"
max_tokens = 160
engine_kwargs = {{ max_model_len = 4096 }}

[tasks.retrieval]
query_length = [4, 12]

[languages]
query = {{ en = 0.5, same = 0.5 }}

{GENERATION_ONLY_GATES}

[run]
shard_size = 8
""", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def man_run(tmp_path_factory, man_recipe) -> tuple[Path, subprocess.CompletedProcess]:
    """One real `synthgen run` on the real vLLM engine with the built-in model."""
    out = tmp_path_factory.mktemp("run") / "out"
    result = synthgen_cli("run", str(man_recipe), "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result
