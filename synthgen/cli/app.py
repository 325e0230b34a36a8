"""The typer apps and the one rule every command follows: a user's mistake is one line
(rule, value, fix) and exit code 2, Ctrl-C one line and exit code 130."""

from __future__ import annotations

import functools
from typing import Callable

import typer

from synthgen.errors import UserError

app = typer.Typer(
    help="Synthetic training data for embedding and reranking models (Qwen3 Embedding recipe).\n\n"
         "Example: synthgen run recipes/demo.toml --out outputs/demo\n\n"
         "Then: synthgen inspect outputs/demo; synthgen report outputs/demo; "
         "synthgen publish outputs/demo --repo-id ORG/NAME",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
personas_app = typer.Typer(help="Persona libraries. Example: synthgen personas search 'chmod permissions'",
                           no_args_is_help=True)
models_app = typer.Typer(help="Built-in models. Example: synthgen models prepare", no_args_is_help=True)
app.add_typer(personas_app, name="personas")
app.add_typer(models_app, name="models")


INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, as shells report a Ctrl-C


def user_errors(func: Callable) -> Callable:
    """Turn a `UserError` into one line on stderr and exit code 2, and Ctrl-C into one line
    and exit code 130 (what a run committed stays, and the same command resumes it)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: what was committed is kept; run the same command again to resume", err=True)
            raise typer.Exit(INTERRUPTED_EXIT_CODE) from None

    return wrapper
