"""The recipe: a TOML file validated into typed, frozen dataclasses.

A recipe names the corpus, the task mix, the query languages, the generator and embedder,
and the output. `Recipe` ties the tables together; each table's config lives with its
concern:

- `synthgen/config/sources.py`: `[corpus]` / `[[corpus]]`, `[personas]`;
- `synthgen/config/tasks.py`: `[tasks.<name>]`;
- `synthgen/config/languages.py`: `[languages]`, and the ISO 639-1 code rule;
- `synthgen/config/quality.py`: `[gates.<name>]` (and the gate registry), `[mining]`;
- `synthgen/config/run.py`: `[generator]`, `[embedder]`, `[run]`, `[ray]`;
- `synthgen/config/loader.py`: reading the TOML, `--set key=value` overrides, and checking
  every key against its type.

Every key is checked against its type and rule; a mistake becomes one `RecipeError` line
naming the key, the rule and the value (`recipe: generator.top_p: must be in (0, 1], got
1.5`), never a secret (`synthgen/config/redaction.py`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from synthgen.config.judge import JudgeConfig
from synthgen.config.languages import LanguagesConfig
from synthgen.config.quality import CollisionsConfig, ContaminationConfig, GatesConfig, MiningRecipeConfig
from synthgen.config.redaction import REDACTED, looks_like_key, redact_url
from synthgen.config.rules import check
from synthgen.config.run import EmbedderConfig, GeneratorConfig, RayConfig, RunConfig
from synthgen.config.sources import CorpusConfig, PersonaConfig
from synthgen.config.tasks import RetrievalTaskConfig, TasksConfig


@dataclass(frozen=True)
class Recipe:
    """A whole recipe. Relative paths in it are relative to the current directory.

    Each document gets `queries_per_document` work items; each item samples its task from
    the task mix by weight and its query language from `languages.query` by weight.
    """

    name: str
    corpus: list[CorpusConfig] = field(default_factory=list)
    seed: int = 0
    output: str = "outputs/run"
    queries_per_document: int = 1
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    personas: PersonaConfig = field(default_factory=PersonaConfig)
    tasks: TasksConfig = field(default_factory=lambda: TasksConfig(retrieval=RetrievalTaskConfig()))
    languages: LanguagesConfig = field(default_factory=LanguagesConfig)
    gates: GatesConfig = field(default_factory=GatesConfig)
    mining: MiningRecipeConfig = field(default_factory=MiningRecipeConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    run: RunConfig = field(default_factory=RunConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    contamination: ContaminationConfig = field(default_factory=ContaminationConfig)
    collisions: CollisionsConfig = field(default_factory=CollisionsConfig)

    def __post_init__(self) -> None:
        check("name", bool(self.name.strip()), "must not be empty", self.name)
        check("queries_per_document", self.queries_per_document >= 1, "must be >= 1", self.queries_per_document)
        needs_corpus = set(self.tasks.enabled()) - {"corpus_free"}
        check("corpus", bool(self.corpus) or not needs_corpus,
              f"is required by the tasks {', '.join(sorted(needs_corpus))} ([corpus] or [[corpus]] tables)", "none")
        check("generator.engine_kwargs.enable_prefix_caching",
              not (self.run.deterministic and self.generator.engine_kwargs.get("enable_prefix_caching")),
              "must not be true with run.deterministic = true (outputs would depend on the cache's history)",
              self.generator.engine_kwargs.get("enable_prefix_caching"))

    def to_dict(self) -> dict[str, Any]:
        """The recipe as synthgen writes it (manifest, the run fingerprint in state.json,
        the dataset card): plain data, with the credentials of `generator.base_url`
        redacted (`redact_recipe`). The recipe itself keeps the real URL for requests."""
        return redact_recipe(dataclasses.asdict(self))


def redact_recipe(data: dict[str, Any]) -> dict[str, Any]:
    """A recipe as plain data (`Recipe.to_dict`, or a manifest an older synthgen wrote)
    with `generator.base_url` redacted (`synthgen.config.redaction.redact_url`) and an
    `api_key_env` that looks like a key replaced by `***`. Deterministic and idempotent:
    the run fingerprint compares recipes in this form. `judge` gets the same treatment."""
    redacted = dict(data)
    for section in ("generator", "judge"):
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        table = dict(table)
        if isinstance(table.get("base_url"), str):
            table["base_url"] = redact_url(table["base_url"])
        if isinstance(table.get("api_key_env"), str) and looks_like_key(table["api_key_env"]):
            table["api_key_env"] = REDACTED
        redacted[section] = table
    return redacted

