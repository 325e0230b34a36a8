"""The one way the bench scripts take options from `python -m bench` instead of a command line."""

from __future__ import annotations

import argparse
from typing import Any


def defaults_with(parser: argparse.ArgumentParser, options: dict[str, Any]) -> argparse.Namespace:
    """The parser's defaults, with `options` set by name; an unknown name is a TypeError."""
    args = parser.parse_args([])
    for name, value in options.items():
        if not hasattr(args, name):
            raise TypeError(f"unknown option {name!r}")
        setattr(args, name, value)
    return args
