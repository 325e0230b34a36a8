"""Prompt templates: Jinja files under `prompts/<task>/<stage>.j2`, rendered safely.

The templates ship inside the package (`synthgen.config.package_data`); `PromptLibrary(root)` loads
another folder of the same layout.

A template defines three blocks:

- `system`: the system message,
- `user`: the user message; put the passage first so both stages of a document share a
  prompt prefix that vLLM's prefix cache computes once,
- `output_schema`: the JSON schema of the model's answer (plain JSON, no variables).

Templates render in a sandboxed environment with `StrictUndefined`: a misspelled variable
is an error, not an empty string. Document and persona text are passed as variables and
never become template source, so a document containing `{{ 7*7 }}` stays literal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
import orjson
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from synthgen.errors import UserError
from synthgen.config.package_data import package_data_dir

DEFAULT_PROMPTS_DIR = package_data_dir("_prompts")


@dataclass(frozen=True)
class PromptTemplate:
    """One stage's template: renders chat messages and declares its output schema."""

    name: str
    template: jinja2.Template
    source: str

    @cached_property
    def output_schema(self) -> dict[str, Any]:
        text = self._block("output_schema", {}).strip()
        try:
            schema = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise UserError(f"template {self.name}: block output_schema must be JSON ({exc})") from None
        if schema.get("type") != "object":
            raise UserError(f"template {self.name}: output_schema must describe a JSON object")
        return schema

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()

    def messages(self, variables: dict[str, Any]) -> list[dict[str, str]]:
        """The chat messages for one request: a system and a user message."""
        return [
            {"role": "system", "content": self._block("system", variables).strip()},
            {"role": "user", "content": self._block("user", variables).strip()},
        ]

    def _block(self, block: str, variables: dict[str, Any]) -> str:
        if block not in self.template.blocks:
            raise UserError(f"template {self.name}: missing block '{block}'")
        context = self.template.new_context(dict(variables))
        try:
            return "".join(self.template.blocks[block](context))
        except jinja2.UndefinedError as exc:
            raise UserError(f"template {self.name}: {exc.message} (pass it or fix the template)") from None
        except jinja2.exceptions.SecurityError as exc:
            raise UserError(f"template {self.name}: unsafe template code ({exc})") from None


class PromptLibrary:
    """Loads templates by name (`retrieval/configure`) from a prompts folder."""

    def __init__(self, root: str | Path = DEFAULT_PROMPTS_DIR):
        self.root = Path(root)
        self._env = ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader(self.root),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
        )
        self._cache: dict[str, PromptTemplate] = {}

    def get(self, name: str) -> PromptTemplate:
        if name not in self._cache:
            path = self.root / f"{name}.j2"
            if not path.is_file():
                raise UserError(f"prompt template {name!r} not found: expected {path}")
            try:
                template = self._env.get_template(f"{name}.j2")
            except jinja2.TemplateSyntaxError as exc:
                raise UserError(f"template {name}: line {exc.lineno}: {exc.message}") from None
            self._cache[name] = PromptTemplate(name, template, self._source_with_includes(f"{name}.j2"))
        return self._cache[name]

    def _source_with_includes(self, filename: str, seen: frozenset[str] = frozenset()) -> str:
        """The template's text followed by the text of every template it includes, imports or
        extends, recursively (shared partials such as `_json_system.j2` too): what its hash,
        and a run's resume fingerprint, must change with."""
        source = self._env.loader.get_source(self._env, filename)[0]
        parts = [source]
        for referenced in sorted(set(meta.find_referenced_templates(self._env.parse(source))) - seen - {None}):
            parts.append(self._source_with_includes(referenced, seen | {filename, referenced}))
        return "\n".join(parts)
