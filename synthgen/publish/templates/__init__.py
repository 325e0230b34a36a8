"""Templates of the files synthgen writes for people to read: the run report
(`report.html.j2`) and the dataset card (`dataset_card.md.j2`).

Like the prompts, they render in Jinja's sandbox with `StrictUndefined`, and everything a
run produced (model output above all) is passed as a variable, never as template source.
HTML templates autoescape; Markdown has no escaping of its own, so model text goes through
`md_cell` (a table cell: pipes, markup and line breaks escaped) or `code_block` (a fenced
block whose fence is longer than any run of backticks in the text).

May import: nothing of synthgen; jinja2 only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES_DIR = Path(__file__).resolve().parent

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def md_cell(value: Any) -> str:
    """`value` as literal text inside a Markdown table cell: one line, pipes, brackets,
    emphasis and HTML markers escaped, so model text can neither end the cell nor render."""
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text.replace("&", "&amp;"))


def code_block(text: Any, language: str = "") -> str:
    """`text` in a fenced code block that nothing inside it can close (CommonMark: a fence
    ends only at a run of backticks at least as long as the opening one)."""
    text = str(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip(chr(10))}\n{fence}"


_ENV = ImmutableSandboxedEnvironment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    undefined=jinja2.StrictUndefined,
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(md_cell=md_cell, code_block=code_block)


def render(name: str, **variables: Any) -> str:
    """Render the template `name` (a file in this folder) with `variables`."""
    return _ENV.get_template(name).render(**variables)
