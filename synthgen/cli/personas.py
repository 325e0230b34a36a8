"""`synthgen personas search` and `synthgen personas expand`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from synthgen.cli.app import personas_app, user_errors


@personas_app.command("search")
@user_errors
def personas_search(
    text: str = typer.Argument(..., help="A document's text."),
    k: int = typer.Option(5, "--k", min=1, help="How many personas."),
    library: list[str] = typer.Option(["builtin:core"], "--library", help="Persona JSONL files."),
    embedder: str = typer.Option("builtin:all-minilm-l6-v2", "--embedder", help="Embedding model."),
) -> None:
    """Show the personas a document would get as stage-1 candidates.

    Example: synthgen personas search "How to set file permissions with chmod"
    """
    from synthgen.engines.embedders import load_embedder
    from synthgen.personas.library import PersonaIndex, load_personas
    from synthgen.config.run import EmbedderConfig

    index = PersonaIndex(load_personas(library), load_embedder(EmbedderConfig(model=embedder)))
    for rank, (persona, score) in enumerate(index.search([text], k)[0], start=1):
        typer.echo(f"{rank}. {score:.3f}  {persona.id}  {persona.persona}")


@personas_app.command("expand")
@user_errors
def personas_expand(
    corpus: Path = typer.Option(..., "--corpus", help="Documents: .jsonl, .parquet, a folder, a saved dataset."),
    out: Path = typer.Option(..., "--out", help="The new library, e.g. personas/NAME.jsonl (= builtin:NAME)."),
    fmt: str = typer.Option("auto", "--format", help="Corpus format: auto, jsonl, parquet, text_dir, hf_dataset, code."),
    text_column: str = typer.Option("text", "--text-column", help="Column with the document text."),
    id_column: str = typer.Option("id", "--id-column", help="Column with the document id."),
    library: list[str] = typer.Option(["builtin:core"], "--library",
                                      help="Seed persona libraries (repeatable): new personas must differ from them."),
    per_document: int = typer.Option(1, "--per-document", min=0,
                                     help="Requests per document (read, write, like, dislike)."),
    from_personas: int = typer.Option(0, "--from-personas", min=0,
                                      help="How many seed personas to expand persona-to-persona (0 = none)."),
    generator: str = typer.Option("builtin:smollm2-135m-instruct", "--generator", help="The LLM."),
    limit_docs: Optional[int] = typer.Option(None, "--limit-docs", min=1, help="Use only the first N documents."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed: the same seed gives the same library."),
    max_tokens: int = typer.Option(200, "--max-tokens", min=8, help="Generation tokens per request."),
    near_dup: float = typer.Option(0.8, "--near-dup", min=0.01, max=1.0,
                                   help="Character 5-gram Jaccard at which two personas are near duplicates."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file."),
) -> None:
    """Grow a persona library from documents (text-to-persona) and from personas
    (persona-to-persona), without exact or near duplicates of each other or of the seeds.

    Example: synthgen personas expand --corpus corpora/sample-multilingual.jsonl --out personas/sample.jsonl
    """
    from synthgen.run.persona_expansion import expand_library

    result = expand_library(corpus, out, library, generator, fmt=fmt, text_column=text_column, id_column=id_column,
                            per_document=per_document, from_personas=from_personas, limit_docs=limit_docs,
                            seed=seed, max_tokens=max_tokens, near_dup_threshold=near_dup, overwrite=overwrite)
    for line in result.stats.summary():
        typer.echo(line)
    typer.echo(f"wrote {len(result.personas)} personas to {out}")
