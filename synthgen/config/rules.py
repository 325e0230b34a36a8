"""The checks every recipe config runs in `__post_init__`: a broken rule raises one
`RecipeError` naming the key, the rule and the value (`recipe: <key>: <rule>, got <value>`;
the value is shown as `synthgen.config.redaction.shown_value` allows)."""

from __future__ import annotations

from synthgen.errors import RecipeError


def check(key: str, ok: bool, rule: str, value: object) -> None:
    """Raise `RecipeError(key, rule, value)` unless `ok`."""
    if not ok:
        raise RecipeError(key, rule, value)


def one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
    check(key, value in allowed, f"must be one of {', '.join(allowed)}", value)


def check_range(key: str, lo_hi: list[int], unit: str) -> None:
    """A [min, max] pair of positive integers, min <= max."""
    check(key, len(lo_hi) == 2 and 1 <= lo_hi[0] <= lo_hi[1], f"must be [min, max] {unit} with 1 <= min <= max",
          lo_hi)
