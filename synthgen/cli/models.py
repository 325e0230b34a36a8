"""`synthgen models prepare` and `synthgen models list`: the built-in models."""

from __future__ import annotations

import typer

from synthgen.cli.app import models_app, user_errors


@models_app.command("prepare")
@user_errors
def models_prepare(force: bool = typer.Option(False, "--force", help="Convert again.")) -> None:
    """Convert the built-in generator (SmolLM2-135M-Instruct GGUF from PyPI) for vLLM, once.

    Example: synthgen models prepare
    """
    from synthgen.engines.models import prepare_builtin_generator, resolve_model

    typer.echo(f"generator: {prepare_builtin_generator(force=force)}")
    typer.echo(f"embedder:  {resolve_model('builtin:all-minilm-l6-v2')}")


@models_app.command("list")
def models_list() -> None:
    """List the built-in model names a recipe can use.

    Example: synthgen models list
    """
    from synthgen.engines.models import BUILTIN_MODELS

    for name, what in BUILTIN_MODELS.items():
        typer.echo(f"{name}  {what}")
