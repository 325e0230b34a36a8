"""The `synthgen` command line (typer): `app.py` holds the apps and the error rule, the
other modules the commands, each a thin wrapper over the library.

May import: every package of synthgen (the top layer; nothing imports it).
"""

from synthgen.cli import commands, models, personas  # noqa: F401  (importing them registers the commands)
from synthgen.cli.app import app

__all__ = ["app"]
