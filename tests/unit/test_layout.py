"""The package's shape: stage packages, imports that point one way, modules that fit a screen or few.

synthgen is laid out as its data flows (README, "Layout"). Each package may import its own
layer and the layers below it, never one above: a gate may use a task's rules, a task may
not reach into the gates. Every import counts, also one inside a function or under
`TYPE_CHECKING`, since each one is a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "synthgen"

# Lowest first. `synthgen` itself (its __init__: the version) and `errors` sit at the bottom.
LAYERS = {
    "synthgen": 0, "errors": 0, "config": 0,
    "corpus": 1, "personas": 1,
    "generation": 2, "engines": 2,
    "tasks": 3,
    "gates": 4, "mining": 4, "judge": 4,
    "run": 5,
    "shards": 6, "publish": 6, "evaluation": 6,
    "cli": 7,
}
LOOSE_MODULES = {"__init__.py", "cli.py", "errors.py"}
MAX_LINES = 450


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_prompts" not in p.parts and "_personas" not in p.parts)


def unit(module: str) -> str:
    """The layer unit of a dotted module name: its package under synthgen, or the loose module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "synthgen"


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every synthgen import in the file, wherever it appears."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{path}:{node.lineno}: relative import; synthgen imports absolute names")
            names = [f"{node.module}.{alias.name}" for alias in node.names] if node.module == "synthgen" else [node.module]
            found += [(node.lineno, name) for name in names]
    return [(line, name) for line, name in found if name == "synthgen" or name.startswith("synthgen.")]


def own_unit(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else ("synthgen" if path.name == "__init__.py" else path.stem)


def test_every_module_is_in_a_known_layer():
    unknown = {own_unit(p) for p in modules()} - set(LAYERS)
    assert not unknown, f"add these packages to LAYERS (and README's Layout): {sorted(unknown)}"


def test_no_import_points_to_a_higher_layer():
    upward = []
    for path in modules():
        mine = LAYERS[own_unit(path)]
        for line, name in imports(path):
            target = unit(name) if unit(name) in LAYERS else "synthgen"
            if LAYERS[target] > mine:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} "
                              f"(layer {LAYERS[target]} > {mine})")
    assert not upward, "imports that point up:\n" + "\n".join(upward)


def test_the_check_catches_an_upward_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from synthgen.run.pipeline import Pipeline\n"
                      "def f():\n    import synthgen.cli\n")
    assert [unit(name) for _, name in imports(module)] == ["run", "cli"]


def test_only_cli_and_errors_are_loose_modules():
    loose = {p.name for p in PACKAGE.glob("*.py")}
    assert loose <= LOOSE_MODULES, f"move into a stage package: {sorted(loose - LOOSE_MODULES)}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_short(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines: split it by concern"


@pytest.mark.parametrize("package", sorted(p.parent for p in PACKAGE.rglob("__init__.py")
                                           if "_prompts" not in p.parts and p.parent != PACKAGE),
                         ids=lambda p: p.name)
def test_each_package_says_what_it_holds_and_may_import(package):
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    assert len(doc.split()) >= 12, f"{package.name}/__init__.py: say what the package holds"
    assert "import" in doc, f"{package.name}/__init__.py: say which packages it may import"
