"""Inverse cloze pairs: a document's first sentence as a pseudo-query, the rest as its positive.

The inverse cloze task (Lee et al. 2019, "Latent Retrieval for Weakly Supervised Open
Domain Question Answering", ORQA) makes (query, positive) pairs from documents alone. Two
parts of synthgen use them: the no-LLM baseline of `synthgen eval`
(synthgen/evaluation/baselines.py) and the known-good pairs the cosine gate is
calibrated on (synthgen/gates/calibration.py).

What counts as the first sentence: the text up to the first `.`, `!` or `?` followed by
a space, a CJK full stop (`。！？`), or a blank line (a heading, a man page's NAME line),
whichever comes first; whitespace is collapsed. A document gives no pair (the reason
says why) when that leaves too little text:

| reason | rule |
| --- | --- |
| `no_sentence_break` | the whole document is one sentence |
| `short_query` / `long_query` | the first sentence has < MIN_QUERY_CHARS or > MAX_QUERY_CHARS characters |
| `short_positive` | the rest has < MIN_POSITIVE_CHARS characters |

Code units (documents whose language is a programming language) follow CodeSearchNet
(Husain et al. 2019) instead: the query is the first sentence of the unit's docstring
(Python) or of the comment block right above its definition (other languages), and the
positive is the code with that docstring or comment removed (at least MIN_CODE_CHARS
characters); a unit without one is skipped as `code_without_docstring`.
"""

from __future__ import annotations

import ast
import re

from synthgen.config.languages import is_code_language

MIN_QUERY_CHARS = 16
MAX_QUERY_CHARS = 300
MIN_POSITIVE_CHARS = 100
MIN_CODE_CHARS = 50  # a code positive: a few lines (CodeSearchNet dropped functions under 3 lines)

_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s|[。！？]|\n\s*\n")
_COMMENT = re.compile(r"^\s*(///?|/\*+|\*/|\*)")  # //, ///, /*, /**, the * lines and */ of the C family


def inverse_cloze_pair(text: str, language: str = "") -> tuple[str, str] | str:
    """(query, positive) cut from one document, or the reason it is skipped."""
    if is_code_language(language):
        return _code_pair(text, language)
    return _checked(*first_sentence(text))


def first_sentence(text: str) -> tuple[str, str]:
    """(first sentence, rest), each with whitespace collapsed; rest is "" without a break."""
    text = text.strip()
    found = _SENTENCE_END.search(text)
    if found is None:
        return " ".join(text.split()), ""
    return " ".join(text[:found.end()].split()), " ".join(text[found.end():].split())


def _checked(query: str, positive: str) -> tuple[str, str] | str:
    if not positive:
        return "no_sentence_break"
    if len(query) < MIN_QUERY_CHARS:
        return "short_query"
    if len(query) > MAX_QUERY_CHARS:
        return "long_query"
    if len(positive) < MIN_POSITIVE_CHARS:
        return "short_positive"
    return query, positive


def _code_pair(code: str, language: str) -> tuple[str, str] | str:
    """The docstring's (or leading comment's) first sentence, and the code without it."""
    lines = code.splitlines()
    doc, first, last = _python_docstring(code) if language == "python" else _leading_comment(lines)
    if not doc:
        return "code_without_docstring"
    query, _ = first_sentence(doc)
    positive = "\n".join(lines[:first] + lines[last:]).strip()
    if len(query) < MIN_QUERY_CHARS:
        return "short_query"
    if len(query) > MAX_QUERY_CHARS:
        return "long_query"
    return (query, positive) if len(positive) >= MIN_CODE_CHARS else "short_positive"


def _python_docstring(code: str) -> tuple[str, int, int]:
    """(docstring, first line index, end line index) of the unit's definition; ("", 0, 0) if none."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "", 0, 0
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node)
            if doc and node.body:
                expr = node.body[0]
                return doc, expr.lineno - 1, expr.end_lineno or expr.lineno
            return "", 0, 0
    return "", 0, 0


def _leading_comment(lines: list[str]) -> tuple[str, int, int]:
    """The comment block the unit starts with (its markers stripped), as in `_python_docstring`."""
    end = 0
    while end < len(lines) and _COMMENT.match(lines[end]):
        end += 1
    text = " ".join(_COMMENT.sub("", line).strip().rstrip("*/").strip() for line in lines[:end])
    return " ".join(text.split()), 0, end
