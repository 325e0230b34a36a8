"""synthgen as a user installs it: a wheel in a fresh environment, run from another folder.

The wheel is built from a copy of the checkout (so the build leaves nothing in it) and
installed into a new virtual environment in tmp_path. The new environment sees the
already-installed dependencies (vLLM, torch, the built-in models) through a `.pth` file
that lists the dev environment's site-packages: Python adds a folder named in a `.pth` file
to `sys.path` but does not process that folder's own `.pth` files, so the dev environment's
editable synthgen (its `__editable__` finder) stays out, and the wheel's copy is the one that
runs. No network: `pip wheel --no-build-isolation` and `pip install --no-index`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import orjson
import pytest

from synthgen.generation.prompts import PromptLibrary
from tests.e2e.conftest import REPO

pytestmark = pytest.mark.engine

# What the checkout holds besides the source: environments, build leftovers, outputs.
NOT_SOURCE = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".cache", "outputs")


def _env() -> dict[str, str]:
    """This process's environment without anything that points Python at the checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def _run(*args: str | Path, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, env=_env())
    assert result.returncode == 0, f"{args}: {result.stderr[-3000:]}"
    return result


def build_wheel(target: Path) -> Path:
    """The wheel of a copy of the checkout (links kept as links, as git checks them out)."""
    source = target / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", target / "dist", source, cwd=target)
    (wheel,) = (target / "dist").glob("synthgen-*.whl")
    return wheel


def fresh_venv(target: Path) -> Path:
    """A new environment whose own site-packages comes first and the dev one's after it."""
    _run(sys.executable, "-m", "venv", "--without-pip", target, cwd=target.parent)
    python = target / "bin" / "python"
    own = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=target).stdout.strip()
    dev = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (Path(own) / "synthgen-test-deps.pth").write_text("".join(f"{p}\n" for p in sorted(dev)))
    return python


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the new environment's python, its work folder outside the checkout) with the wheel in."""
    root = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(root)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"synthgen/_prompts/retrieval/configure.j2", "synthgen/_personas/core.jsonl"} <= names
        for link, folder in [("_prompts", REPO / "prompts"), ("_personas", REPO / "personas")]:
            inside = f"synthgen/{link}/"  # every file of the top-level folder, byte for byte
            assert {n.removeprefix(inside): archive.read(n) for n in names if n.startswith(inside)} == {
                p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    python = fresh_venv(root / "venv")
    # --ignore-installed: pip finds the dev environment's synthgen through the .pth file and
    # would try to uninstall it first (it refuses: outside this environment); leave it alone.
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed",
         "--disable-pip-version-check", wheel, cwd=root)
    work = root / "work"
    work.mkdir()
    return python, work


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    python, work = installed
    probe = _run(python, "-c", "import sys, synthgen\n"
                 "from synthgen.personas.library import PERSONAS_DIR\nfrom synthgen.generation.prompts import DEFAULT_PROMPTS_DIR\n"
                 "print(synthgen.__file__, DEFAULT_PROMPTS_DIR, PERSONAS_DIR, sep='\\n')\n"
                 "print(sorted(m for m in sys.modules if 'editable' in m))", cwd=work).stdout.splitlines()
    venv = python.parent.parent
    for path in map(Path, probe[:3]):
        assert path.is_relative_to(venv) and not path.is_relative_to(REPO), path
    assert probe[3] == "[]"


def test_render_and_run_from_outside_the_checkout(installed, man_recipe, man_corpus):
    """The e2e man-page recipe (absolute corpus path, built-in models), one document, short answers."""
    python, work = installed
    synthgen = python.with_name("synthgen")
    small = ["--set", "queries_per_document=1", "--set", "generator.max_tokens=96"]
    rendered = orjson.loads(_run(synthgen, "render", man_recipe, "--doc", "0", "--json", *small, cwd=work).stdout)
    assert [r["stage"] for r in rendered] == ["configure", "query"]
    first_document = orjson.loads(man_corpus.read_bytes().splitlines()[0])["text"]
    assert first_document in rendered[0]["messages"][1]["content"]
    assert len(rendered[0]["schema"]["properties"]["Character"]["enum"]) == 5  # built-in personas

    out = work / "out"
    _run(synthgen, "run", man_recipe, "--out", out, "--limit-docs", "1", "--quiet", *small, cwd=work, timeout=600)
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["counts"]["documents_kept"] == 1
    assert manifest["counts"]["work_items"] == 1
    checkout = PromptLibrary()  # the wheel's templates hash like the checkout's
    assert manifest["prompts"] == {name: checkout.get(name).sha256 for name in ("retrieval/configure", "retrieval/query")}
