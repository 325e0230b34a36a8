"""Code units from a source tree: one unit per definition (function, class, method).

The Qwen3 Embedding report (arXiv 2506.05176) counts code among the documents it
synthesizes training data from; code search sets such as CodeSearchNet pair queries with
single functions. `read_code_units(root, languages)` cuts a source tree into such units:

- id: `relative/posix/path::QualifiedName`, e.g. `json/decoder.py::JSONDecoder.raw_decode`.
  A name defined twice in one file (a property and its setter, a function defined in both
  branches of an `if`) gets `#2`, `#3` in source order, so ids are unique.
- text: the exact source of the definition, with its decorators and docstring (Python)
  or the comments, attributes and annotations right above it (other languages), dedented
  by the indentation of its first line; trailing whitespace removed.
- language: the programming language ("python", "go", ...), as `CODE_LANGUAGES` spells it.

What becomes a unit:

- python (parsed with `ast`): functions and classes at module level (also inside module
  level `if`/`try`/`with` blocks) and, recursively, the methods and nested classes of
  classes. A class unit is the whole class, and its methods are units of their own.
  Functions nested in functions stay inside their parent. A file that does not parse is
  a `CodeReject` with reason `syntax_error`.
- the other languages, by a heuristic: comments and string literals are blanked out,
  then definition headers are matched line by line (top level, or directly inside a
  container's body) and the body is the brace block that follows, matched by counting
  braces. A header followed by `;` before any `{` is a declaration and no unit.
  javascript/typescript: `function`, `class` and its methods, `const f = (...) => {...}`;
  go: `func` (methods named `Receiver.Name`), `type T struct|interface`; rust: `fn`,
  `struct`/`enum`/`union`/`trait` with a brace body, `impl` blocks (named `impl Type` or
  `impl Trait for Type`) with their methods as `Type.method`; java: classes, interfaces,
  enums, records and their methods and nested classes; c/cpp: function definitions (the
  return-type line above a name at the start of a line belongs to it), for cpp also
  classes and structs with their inline methods, `A::f` named `A.f`; namespace and
  `extern "C"` braces do not count as nesting. Known misses: macros that unbalance braces
  (C `#if` branches that each open a block), JavaScript regular expression literals
  after `)` or `}`, definitions sharing a line with the brace of their container.

No unit is skipped for being short: `corpus.min_chars` rejects short units visibly
(`too_short`) and `corpus.max_chars` long ones. Files are read in sorted order of their
relative path; folders named `__pycache__`, `node_modules`, `site-packages`,
`dist-packages`, hidden folders and virtual environments (folders with a `pyvenv.cfg`)
are skipped, as are hidden files and TypeScript declaration files (`.d.ts`). Python files
are decoded as PEP 263 says (coding cookie, else UTF-8), the others as UTF-8; a file that
does not decode is a `CodeReject` with reason `undecodable` (`unreadable` when the file
cannot be read at all).
"""

from __future__ import annotations

import ast
import io
import os
import tokenize
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from synthgen.corpus.code_brace import brace_units
from synthgen.corpus.text import dedent_block, split_lines

EXTENSIONS: dict[str, tuple[str, ...]] = {
    "python": (".py",),
    "javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "typescript": (".ts", ".mts", ".cts", ".tsx"),
    "go": (".go",),
    "rust": (".rs",),
    "java": (".java",),
    "c": (".c", ".h"),  # .h is read as cpp when only cpp is asked for
    "cpp": (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++"),
}
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "dist-packages"})


@dataclass(frozen=True)
class CodeUnit:
    """One definition: where it is, what it is called, its source and language."""

    path: str  # relative POSIX path of the file
    name: str  # qualified name within the file, e.g. "JSONDecoder.raw_decode"
    line: int  # first line of `text` in the file, 1-based
    text: str
    language: str

    @property
    def id(self) -> str:
        return f"{self.path}::{self.name}"


@dataclass(frozen=True)
class CodeReject:
    """A file that gave no units: syntax_error, undecodable or unreadable."""

    path: str
    reason: str
    detail: str = ""

    @property
    def id(self) -> str:
        return self.path


def read_code_units(root: Path, languages: Sequence[str]) -> Iterator[CodeUnit | CodeReject]:
    """The code units of the files under `root` (a folder or one file) written in
    `languages`, file by file in sorted path order, each file's units in source order."""
    for rel_path, file, language in source_files(root, languages):
        try:
            data = file.read_bytes()
        except OSError as exc:
            yield CodeReject(rel_path, "unreadable", str(exc)[:200])
            continue
        try:
            source = _decode(data, language)
        except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
            yield CodeReject(rel_path, "undecodable", str(exc)[:200])
            continue
        try:
            yield from split_source(source, rel_path, language)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            yield CodeReject(rel_path, "syntax_error", _syntax_detail(exc))


def split_source(source: str, path: str, language: str) -> list[CodeUnit]:
    """The units of one file's source; raises SyntaxError (or ValueError) for Python
    that does not parse."""
    found = _python_units(source) if language == "python" else brace_units(source, language)
    counts: Counter[str] = Counter()
    units = []
    for name, line, text in found:
        counts[name] += 1
        unique = name if counts[name] == 1 else f"{name}#{counts[name]}"
        units.append(CodeUnit(path, unique, line, text, language))
    return units


def source_files(root: Path, languages: Sequence[str]) -> list[tuple[str, Path, str]]:
    """(relative POSIX path, file, language) of the source files under `root`, sorted."""
    suffixes = _suffix_map(languages)
    if root.is_file():
        language = _language_of(root.name, suffixes)
        return [(root.name, root, language)] if language else []
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        folder = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not _skipped_dir(folder / d)]
        for name in filenames:
            language = _language_of(name, suffixes)
            if language and not name.startswith("."):
                found.append(((folder / name).relative_to(root).as_posix(), folder / name, language))
    return sorted(found, key=lambda item: item[0])


def _suffix_map(languages: Sequence[str]) -> dict[str, str]:
    suffixes = {ext: language for language in languages for ext in EXTENSIONS[language]}
    if "cpp" in languages and "c" not in languages:
        suffixes[".h"] = "cpp"
    return suffixes


def _language_of(name: str, suffixes: dict[str, str]) -> str | None:
    if name.endswith(".d.ts"):
        return None
    return suffixes.get(os.path.splitext(name)[1].lower())


def _skipped_dir(folder: Path) -> bool:
    return (folder.name.startswith(".") or folder.name in _SKIP_DIRS
            or (folder / "pyvenv.cfg").is_file())


def _decode(data: bytes, language: str) -> str:
    if language == "python":  # PEP 263: a coding cookie, a BOM, else UTF-8
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    return data.decode("utf-8-sig")


def _syntax_detail(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"line {exc.lineno}: {exc.msg}"
    return f"{type(exc).__name__}: {exc}"[:200]


# --- python -------------------------------------------------------------------------

def _python_units(source: str) -> list[tuple[str, int, str]]:
    with warnings.catch_warnings():  # invalid escape sequences and the like
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    lines = split_lines(source)
    units = []
    for name, node in _python_definitions(tree.body, ""):
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        units.append((name, first, dedent_block("".join(lines[first - 1:node.end_lineno]))))
    return units


_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _python_definitions(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, _Definition]]:
    """Definitions in `body` and in the classes among them, not inside functions."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
        elif isinstance(node, ast.ClassDef):
            yield prefix + node.name, node
            yield from _python_definitions(node.body, f"{prefix}{node.name}.")
        else:
            yield from _python_definitions(_blocks(node), prefix)


def _blocks(node: ast.AST) -> list[ast.stmt]:
    """Statements in the blocks of an if/try/with/for/while/match statement."""
    inner: list[ast.stmt] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt):
            inner.append(child)
        elif isinstance(child, (ast.excepthandler, ast.match_case)):
            inner.extend(child.body)
    return inner
