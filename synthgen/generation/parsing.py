"""Turning model output into data: a tolerant JSON parser and schema validation.

With structured outputs the engine already enforces the schema. Engines without it (or a
run with `structured_outputs = false`) produce code fences, prose around the JSON, or
keys in the wrong case; `parse_json_output` handles those. It never `eval`s anything:
model output is data. A failure returns the reason, and the caller rejects the row with
its raw text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import jsonschema
import orjson

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class ParseResult:
    """Either `value` (a dict that matches the schema) or `reason` (why it failed)."""

    value: dict[str, Any] | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None


def parse_json_output(text: str, schema: dict[str, Any] | None = None) -> ParseResult:
    """Find the first JSON object in `text`, fix key case against `schema`, validate it."""
    if not text or not text.strip():
        return ParseResult(None, "empty_output")
    obj = None
    for candidate in _candidates(text):
        try:
            value = orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            obj = value
            break
    if obj is None:
        return ParseResult(None, "invalid_json")
    if schema is None:
        return ParseResult(obj)
    validator, wanted = _compiled(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    obj = _match_key_case(obj, wanted)
    if validator.is_valid(obj):  # the common case; the slower search for the best error only on failure
        return ParseResult(obj)
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "root"
        return ParseResult(None, f"schema_mismatch: {where}: {error.message[:200]}")
    return ParseResult(obj)


def _candidates(text: str):
    """Strings that may hold the JSON object, most likely first."""
    yield text.strip()
    for match in _FENCE.finditer(text):
        yield match.group(1).strip()
    start = text.find("{")
    while start != -1:
        end = _matching_brace(text, start)
        if end is not None:
            yield text[start:end + 1]
        start = text.find("{", start + 1)


def _matching_brace(text: str, start: int) -> int | None:
    """Index of the brace closing the one at `start`, skipping braces inside strings."""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
    return None


@functools.lru_cache(maxsize=256)
def _compiled(schema_json: bytes) -> tuple[jsonschema.Draft202012Validator, dict[str, str]]:
    """A schema's validator and {squashed key: key}, built once per distinct schema (by its
    sorted JSON: per-item schemas, such as a narrowed enum, are equal dicts, not one object)."""
    schema = orjson.loads(schema_json)
    return jsonschema.Draft202012Validator(schema), {_squash(k): k for k in schema.get("properties", {})}


def _match_key_case(obj: dict[str, Any], wanted: dict[str, str]) -> dict[str, Any]:
    """Rename keys that differ from the schema's properties only in case or separators
    (`wanted`: {squashed key: the schema's key})."""
    if all(key in wanted.values() for key in obj):
        return obj
    fixed = {}
    for key, value in obj.items():
        fixed[wanted.get(_squash(key), key)] = value
    return fixed


def _squash(key: str) -> str:
    return re.sub(r"[\s_\-]", "", key).lower()
