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
import bisect
import io
import os
import re
import tokenize
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

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
    found = _python_units(source) if language == "python" else _brace_units(source, language)
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


# --- shared helpers -----------------------------------------------------------------

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # lines as Python counts them


def _split_lines(source: str) -> list[str]:
    """Lines with their endings, split only on \\r\\n, \\r and \\n (as `ast` counts)."""
    return _LINE.findall(source)


def _dedent(text: str) -> str:
    """Remove the first line's indentation from every line that starts with it."""
    lines = _split_lines(text)
    first = lines[0] if lines else ""
    indent = first[: len(first) - len(first.lstrip(" \t"))]
    if indent:
        lines = [line[len(indent):] if line.startswith(indent) else line for line in lines]
    return "".join(lines).rstrip()


# --- python -------------------------------------------------------------------------

def _python_units(source: str) -> list[tuple[str, int, str]]:
    with warnings.catch_warnings():  # invalid escape sequences and the like
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    lines = _split_lines(source)
    units = []
    for name, node in _python_definitions(tree.body, ""):
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        units.append((name, first, _dedent("".join(lines[first - 1:node.end_lineno]))))
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


# --- brace languages: lexing ------------------------------------------------------

_COMMENTS = [r"//[^\n]*", r"/\*.*?(?:\*/|\Z)"]
_DQ = r'"(?:\\.|[^"\\\n])*"'
_SQ = r"'(?:\\.|[^'\\\n])*'"
_JS_TEMPLATE = r"`(?:\\.|[^`\\])*`"
_JS_REGEX = (r"(?:(?<=[(,=:\[!&|?{};\n])|(?<=\breturn))[ \t]*/(?![/*])"
             r"(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n\[])+/")
_C_DIRECTIVE = r"(?m:^[ \t]*#(?:\\\r?\n|[^\n])*)"
_LEXERS = {
    "javascript": [*_COMMENTS, _DQ, _SQ, _JS_TEMPLATE, _JS_REGEX],
    "go": [*_COMMENTS, _DQ, _SQ, r"`[^`]*`"],
    "rust": [*_COMMENTS, r'(?<!\w)b?r(?P<hashes>#*)".*?"(?P=hashes)', r'b?"(?:\\.|[^"\\])*"',
             r"b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^\\'\n])'"],
    "java": [*_COMMENTS, r'"""(?:\\.|[^\\])*?"""', _DQ, _SQ],
    "c": [*_COMMENTS, _DQ, _SQ, _C_DIRECTIVE],
    "cpp": [*_COMMENTS, r'R"(?P<delim>[^()\\\s]{0,16})\(.*?\)(?P=delim)"', _DQ, _SQ, _C_DIRECTIVE],
}
_LEXERS["typescript"] = _LEXERS["javascript"]
_LEXER = {language: re.compile("|".join(parts), re.S) for language, parts in _LEXERS.items()}
_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank(source: str, language: str) -> str:
    """`source` with comments and string literals turned into spaces (newlines kept),
    so that offsets stay the same and braces inside them do not count."""
    return _LEXER[language].sub(lambda m: _NOT_NEWLINE.sub(" ", m.group()), source)


# --- brace languages: definition headers --------------------------------------------

@dataclass(frozen=True)
class _Kind:
    """A definition header; `members` are the kinds looked for directly in its body."""

    pattern: re.Pattern[str]
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Syntax:
    kinds: dict[str, _Kind]
    top: tuple[str, ...]
    transparent: re.Pattern[str] | None = None  # blocks whose braces are not nesting
    type_lines: bool = False  # C/C++: return-type and template lines above the name
    literals: bool = False  # Go: struct{...} and interface{...} in a signature


def _kind(pattern: str, *members: str) -> _Kind:
    return _Kind(re.compile(pattern, re.M), members)


_JS_NAME = r"[A-Za-z_$][\w$]*"
_JS_EXPORT = r"^[ \t]*(?:export[ \t]+(?:default[ \t]+)?)?(?:declare[ \t]+)?"
_JS = _Syntax(
    kinds={
        "function": _kind(_JS_EXPORT + rf"(?:async[ \t]+)?function\b[ \t]*\*?[ \t]*(?P<name>{_JS_NAME})"),
        "class": _kind(_JS_EXPORT + rf"(?:abstract[ \t]+)?class[ \t]+(?P<name>{_JS_NAME})", "method"),
        "arrow": _kind(rf"^[ \t]*(?:export[ \t]+)?(?:const|let|var)[ \t]+(?P<name>{_JS_NAME})[^=\n]*="
                       rf"[ \t]*(?:async[ \t]+)?(?:function\b|(?:\([^()\n]*\)|{_JS_NAME})"
                       r"[^=\n{;]*=>[ \t]*(?=\{))"),
        "method": _kind(r"^[ \t]*(?:(?:static|async|get|set|public|private|protected|readonly|"
                        r"override|abstract|declare)[ \t]+)*\*?[ \t]*"
                        rf"(?P<name>#?{_JS_NAME})[ \t]*(?:<[^>\n]*>)?[ \t]*(?=\()"),
    },
    top=("function", "class", "arrow"),
)
_GO = _Syntax(
    kinds={
        "func": _kind(r"^func[ \t]*(?:\([ \t]*(?:\w+[ \t]+)?\*?[ \t]*(?P<owner>\w+)"
                      r"(?:\[[^\]\n]*\])?[ \t]*\)[ \t]*)?(?P<name>\w+)"),
        "type": _kind(r"^type[ \t]+(?P<name>\w+)(?:\[[^\]\n]*\])?[ \t]+(?:struct|interface)\b"),
    },
    top=("func", "type"),
    literals=True,
)
_RUST_PUB = r"^[ \t]*(?:pub(?:\([^)\n]*\))?[ \t]+)?"
_RUST = _Syntax(
    kinds={
        "fn": _kind(_RUST_PUB + r"(?:(?:const|async|unsafe|extern|default)[ \t]+)*fn[ \t]+(?P<name>\w+)"),
        "type": _kind(_RUST_PUB + r"(?:struct|enum|union)[ \t]+(?P<name>\w+)"),
        "trait": _kind(_RUST_PUB + r"(?:unsafe[ \t]+)?(?:auto[ \t]+)?trait[ \t]+(?P<name>\w+)", "fn"),
        "impl": _kind(r"^[ \t]*(?:unsafe[ \t]+)?(?P<impl>impl)\b(?:[ \t]*<.*?>)?[ \t]+"
                      r"(?:(?P<trait>!?[\w:]+)(?:<.*?>)?[ \t]+for[ \t]+)?(?:dyn[ \t]+)?(?P<name>[\w:]+)",
                      "fn"),
    },
    top=("fn", "type", "trait", "impl"),
)
_JAVA_PREFIX = (r"^[ \t]*(?:@[\w.]+(?:\([^)\n]*\))?[ \t]+)*(?:(?:public|protected|private|static|"
                r"final|abstract|sealed|non-sealed|strictfp|synchronized|native|default)[ \t]+)*")
_JAVA = _Syntax(
    kinds={
        "class": _kind(_JAVA_PREFIX + r"(?:class|interface|enum|record|@interface)[ \t]+(?P<name>\w+)",
                       "method", "class"),
        "method": _kind(_JAVA_PREFIX + r"(?:<[^>\n]*>[ \t]+)?(?:[\w.$]+(?:<[^\n(]*?>)?(?:\[\])*[ \t]+)?"
                        r"(?P<name>\w+)[ \t]*(?=\()"),
    },
    top=("class",),
)
_C_FUNCTION = (r"^(?=[^\n(]*\()[ \t]*+(?:[\w*&<>,~ \t:]*[ \t*&])?"
               r"(?P<name>(?<![\w~])(?:[A-Za-z_]\w*(?:<[^<>()\n]*>)?::)*~?[A-Za-z_]\w*)[ \t]*(?=\()")
_C_TRANSPARENT = re.compile(r"^[ \t]*(?:(?:inline[ \t]+)?namespace\b[\w: \t]*|extern[ \t]+)\{", re.M)
_C = _Syntax(kinds={"function": _kind(_C_FUNCTION)}, top=("function",),
             transparent=_C_TRANSPARENT, type_lines=True)
_CPP = _Syntax(
    kinds={
        "function": _kind(_C_FUNCTION),
        "class": _kind(r"^[ \t]*(?:class|struct)[ \t]+(?:alignas\([^)\n]*\)[ \t]+)?(?P<name>[A-Za-z_]\w*)",
                       "function", "class"),
    },
    top=("class", "function"),
    transparent=_C_TRANSPARENT,
    type_lines=True,
)
_SYNTAX = {"javascript": _JS, "typescript": _JS, "go": _GO, "rust": _RUST, "java": _JAVA,
           "c": _C, "cpp": _CPP}
_KEYWORDS = frozenset({"if", "else", "for", "while", "do", "switch", "case", "catch", "try",
                       "return", "throw", "sizeof", "typeof", "function", "with",
                       "synchronized", "defined", "await", "yield"})
_SIGNATURE = re.compile(r"[()\[\]{;]|\n[ \t]*\n")
_TYPE_LITERAL = re.compile(r"\b(?:struct|interface)[ \t]*\Z")
_TYPE_LINE = re.compile(r"[ \t]*(?:template[ \t]*<.*>|[A-Za-z_](?:[\w \t*&<>,]|::)*)[ \t]*\r?\n?\Z")
_BRACE = re.compile(r"[{}]")
_TEMPLATE_ARGS = re.compile(r"<[^<>]*>")


# --- brace languages: splitting -----------------------------------------------------

class _Source:
    """A file's source, its blanked copy, and the brace depth at each line start."""

    def __init__(self, source: str, syntax: _Syntax, language: str):
        self.source = source
        self.syntax = syntax
        self.blanked = _open_transparent(_blank(source, language), syntax.transparent)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.depths, depth = [0], 0  # depths[i]: open braces before line i
        for m in re.finditer(r"[{}\n]", self.blanked):
            if m.group() == "\n":
                self.depths.append(depth)
            else:
                depth += 1 if m.group() == "{" else -1

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset) - 1

    def line(self, index: int, blanked: bool = False) -> str:
        text = self.blanked if blanked else self.source
        end = self.line_starts[index + 1] if index + 1 < len(self.line_starts) else len(text)
        return text[self.line_starts[index]:end]


def _brace_units(source: str, language: str) -> list[tuple[str, int, str]]:
    src = _Source(source, _SYNTAX[language], language)
    found: list[tuple[str, int, str]] = []
    _scan(src, src.syntax.top, 0, len(source), 0, "", found)
    return found


def _scan(src: _Source, kinds: tuple[str, ...], start: int, end: int, depth: int,
          owner: str, found: list[tuple[str, int, str]]) -> None:
    """Units whose headers start a line at brace `depth` between `start` and `end`."""
    headers = _headers(src, kinds, start, end, depth)
    for index, (match, kind) in enumerate(headers):
        body = _body(src, match.end(), end)
        following = headers[index + 1][0].start() if index + 1 < len(headers) else end
        if body is None or body[0] > following:  # e.g. a macro line above a function
            continue
        name, member_owner = _names(match, owner)
        first = _preamble(src, src.line_of(match.start()))
        stop = body[1] + 2 if src.blanked.startswith(";", body[1] + 1) else body[1] + 1
        found.append((name, first + 1, _dedent(src.source[src.line_starts[first]:stop])))
        if kind.members:
            _scan(src, kind.members, body[0] + 1, body[1], depth + 1, member_owner, found)


def _headers(src: _Source, kinds: tuple[str, ...], start: int, end: int,
             depth: int) -> list[tuple[re.Match[str], _Kind]]:
    """Header matches at the start of the lines at brace `depth` that begin between
    `start` and `end`, the first kind listed winning, in order."""
    headers = []
    for line in range(src.line_of(start), src.line_of(end) + 1):
        if src.depths[line] != depth or not start <= src.line_starts[line] < end:
            continue
        for kind in (src.syntax.kinds[name] for name in kinds):
            match = kind.pattern.match(src.blanked, src.line_starts[line], end)
            if match and match.group("name") not in _KEYWORDS:
                headers.append((match, kind))
                break
    return headers


def _body(src: _Source, pos: int, limit: int) -> tuple[int, int] | None:
    """(offset of "{", offset of its "}") of the block after a header's signature, or None
    when a ";" or a blank line outside brackets comes first (a declaration)."""
    blanked, depth, signature = src.blanked, 0, pos
    while match := _SIGNATURE.search(blanked, pos, limit):
        token, pos = match.group(), match.end()
        if token in ("(", "["):
            depth += 1
        elif token in (")", "]"):
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and token == "{":
            close = _close(blanked, match.start(), limit)
            if close is None:
                return None
            if not (src.syntax.literals and _TYPE_LITERAL.search(blanked, signature, match.start())):
                return match.start(), close
            pos = close + 1  # Go: a struct{...} or interface{...} type in the signature
        elif depth == 0:
            return None
    return None


def _close(blanked: str, open_at: int, limit: int) -> int | None:
    """Offset of the "}" that closes the "{" at `open_at`."""
    depth = 0
    for match in _BRACE.finditer(blanked, open_at, limit):
        depth += 1 if match.group() == "{" else -1
        if depth == 0:
            return match.start()
    return None


def _open_transparent(blanked: str, pattern: re.Pattern[str] | None) -> str:
    """Blank the braces of namespace and extern "C" blocks, so their contents count as
    top level."""
    if pattern is None:
        return blanked
    chars = list(blanked)
    for match in pattern.finditer(blanked):
        close = _close(blanked, match.end() - 1, len(blanked))
        if close is not None:
            chars[match.end() - 1] = chars[close] = " "
    return "".join(chars)


def _names(match: re.Match[str], owner: str) -> tuple[str, str]:
    """(qualified name of the unit, qualified name its members are prefixed with)."""
    groups = match.groupdict()
    name = _TEMPLATE_ARGS.sub("", groups["name"]).replace("::", ".")
    if groups.get("impl"):  # rust: the methods of an impl belong to its type
        type_name = name.rsplit(".", 1)[-1]
        trait = groups.get("trait")
        return (f"impl {trait.rsplit('::', 1)[-1]} for {type_name}" if trait
                else f"impl {type_name}"), type_name
    if groups.get("owner"):
        name = f"{groups['owner']}.{name}"
    qualified = f"{owner}.{name}" if owner else name
    return qualified, qualified


def _preamble(src: _Source, line: int) -> int:
    """The first line of a unit whose header is on `line`: comments, attributes,
    annotations (and for C/C++ return-type lines) right above it belong to it."""
    while line > 0:
        above = src.line(line - 1).strip()
        blanked = src.line(line - 1, blanked=True)
        comment = not blanked.strip() and not above.startswith("#")  # C directives are blanked too
        if not above or not (comment or blanked.lstrip().startswith(("#[", "@"))
                             or (src.syntax.type_lines and _TYPE_LINE.match(blanked))):
            break
        line -= 1
    return line
