"""Reading a recipe: TOML in, `--set key=value` overrides applied, then every table built
into its config dataclass by walking the type hints (`_build`), so that an unknown key, a
value of the wrong type and a broken rule each become one `RecipeError` line:
`recipe: <key>: <rule>, got <value>` (an unknown key lists the known ones)."""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from synthgen.config.recipe import Recipe
from synthgen.errors import RecipeError


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read a TOML recipe, apply `key=value` overrides, validate, return a `Recipe`."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError("file", "must be an existing TOML file", str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RecipeError("file", f"must be valid TOML ({exc})", str(path)) from None
    for item in overrides or []:
        apply_override(data, item)
    return build_recipe(data)


def build_recipe(data: dict[str, Any]) -> Recipe:
    """Validate a plain dict (parsed TOML) into a `Recipe`."""
    if isinstance(data.get("corpus"), dict):  # [corpus] is one corpus, [[corpus]] several
        data = {**data, "corpus": [data["corpus"]]}
    if "tasks" in data and not isinstance(data["tasks"], dict):
        raise RecipeError("tasks", "must be a table of task names", data["tasks"])
    return _build(Recipe, data, "")


def apply_override(data: dict[str, Any], item: str) -> None:
    """Apply one `--set key.path=value`; the value is read as TOML, else taken as a string."""
    key, sep, raw = item.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise RecipeError("--set", "must look like key.path=value", item)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise RecipeError(key, "cannot set a key inside a non-table value", item)
    node[parts[-1]] = value


def _build(cls: type, data: Any, key: str) -> Any:
    """Build dataclass `cls` from the table at `key`, checking unknown keys and every value."""
    if not isinstance(data, dict):
        raise RecipeError(key or "recipe", "must be a table", data)
    prefix = f"{key}." if key else ""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RecipeError(f"{prefix}{unknown[0]}", f"unknown key (known: {', '.join(sorted(known))})")
    kwargs = {name: _convert(hints[name], value, f"{prefix}{name}") for name, value in data.items()}
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in kwargs
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise RecipeError(f"{prefix}{missing[0]}", "is required")
    return cls(**kwargs)  # each config checks its own rules and raises RecipeError


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if value is None:
            return None
        if len(inner) == 1:
            return _convert(inner[0], value, key)
        for candidate in inner:  # a number or a name (gates.cosine.min_score)
            try:
                return _convert(candidate, value, key)
            except RecipeError:
                continue
        raise RecipeError(key, f"must be {' or '.join(getattr(a, '__name__', str(a)) for a in inner)}", value)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    if origin is list:
        if not isinstance(value, list):
            raise RecipeError(key, "must be a list", value)
        return [_convert(args[0], v, key if len(value) == 1 else f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise RecipeError(key, "must be a table", value)
        return {k: _convert(args[1], v, f"{key}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise RecipeError(key, f"must be {hint.__name__}", value)
    return value
