"""Code units of the brace languages (JavaScript/TypeScript, Go, Rust, Java, C, C++), by a
heuristic: comments and string literals are blanked out, definition headers are matched
line by line (top level, or directly inside a container's body), and the body is the brace
block that follows, matched by counting braces. What each language's headers are, and the
known misses, are listed in `synthgen/corpus/code_units.py`, which calls `brace_units`.

Why not tree-sitter: see the README's "How it works".
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from synthgen.corpus.text import dedent_block

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


def brace_units(source: str, language: str) -> list[tuple[str, int, str]]:
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
        found.append((name, first + 1, dedent_block(src.source[src.line_starts[first]:stop])))
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
