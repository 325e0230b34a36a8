"""`python -m synthgen.cli ...`, as the `synthgen` script."""

from synthgen.cli import app

app()
