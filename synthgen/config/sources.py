"""Where a run's inputs come from: the corpus (`[corpus]`, or several `[[corpus]]`
tables) and the persona libraries (`[personas]`)."""

from __future__ import annotations

import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from synthgen.config.languages import CODE_LANGUAGES
from synthgen.config.rules import check, one_of

BUILTIN_PERSONAS = "builtin:core"  # personas/core.jsonl of this project
STDLIB_PREFIX = "builtin:python-stdlib/"


@dataclass(frozen=True)
class CorpusConfig:
    """Where the documents come from and which columns hold what.

    `format` is one of jsonl, parquet, text_dir, hf_dataset, code or auto (guessed from the
    path). `code` reads a source tree and makes one document per definition (function,
    class) in the `code_languages` listed; such documents are what `code_retrieval` uses.
    Documents longer than `max_tokens` generator tokens are cut to it and flagged
    (`truncated` in the run's documents, `documents_truncated` in the manifest); 0 fits
    them to the generator's context (max_model_len - max_tokens - a reserve for the prompt).
    `language_column = ""` means: detect each document's language. Documents longer than
    `max_chars` or shorter than `min_chars` are rejected with their reason.
    """

    path: str
    format: str = "auto"
    id_column: str = "id"
    text_column: str = "text"
    language_column: str = "language"
    min_chars: int = 1
    max_chars: int = 20_000
    max_tokens: int = 0
    code_languages: list[str] = field(default_factory=lambda: ["python"])

    def resolved_path(self) -> Path:
        """The corpus path; `builtin:python-stdlib/SUB` is SUB in this Python's standard
        library (real code with docstrings, for code retrieval demos and tests)."""
        if self.path.startswith(STDLIB_PREFIX):
            return Path(sysconfig.get_paths()["stdlib"]) / self.path.removeprefix(STDLIB_PREFIX)
        return Path(self.path).expanduser()

    def __post_init__(self) -> None:
        one_of("corpus.format", self.format, ("auto", "jsonl", "parquet", "text_dir", "hf_dataset", "code"))
        for language in self.code_languages:
            one_of("corpus.code_languages", language, CODE_LANGUAGES)
        check("corpus.min_chars", self.min_chars >= 1, "must be >= 1", self.min_chars)
        check("corpus.max_chars", self.max_chars >= self.min_chars, "must be >= corpus.min_chars", self.max_chars)
        check("corpus.text_column", bool(self.text_column), "must not be empty", self.text_column)
        check("corpus.max_tokens", self.max_tokens >= 0, "must be >= 0 (0: fit the generator's context)",
              self.max_tokens)


@dataclass(frozen=True)
class PersonaConfig:
    """Persona libraries (JSONL files, or `builtin:NAME` for `personas/NAME.jsonl` of
    synthgen) and how many candidates each document gets.

    The report retrieves the top-5 personas per document; stage 1 picks one of them.
    """

    libraries: list[str] = field(default_factory=lambda: [BUILTIN_PERSONAS])
    candidates: int = 5

    def __post_init__(self) -> None:
        check("personas.libraries", len(self.libraries) > 0, "must list at least one file", self.libraries)
        check("personas.candidates", 1 <= self.candidates <= 20, "must be in [1, 20]", self.candidates)
