"""The recipe: a TOML file validated into typed, frozen dataclasses.

A recipe names the corpus, the task mix, the query languages, the generator and embedder,
and the output. Every key is checked against its type and rule; a mistake becomes one
`RecipeError` line naming the key, the rule and the value (`recipe: generator.top_p: must
be in (0, 1], got 1.5`). `--set key=value` overrides any key before validation.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.errors import RecipeError
from synthgen.mining import MiningConfig

BUILTIN_GENERATOR = "builtin:smollm2-135m-instruct"
BUILTIN_EMBEDDER = "builtin:all-minilm-l6-v2"
BUILTIN_PERSONAS = "builtin:core"  # personas/core.jsonl of this project
CODE_LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp")
SAME_LANGUAGE = "same"  # a query-language weight key meaning "the document's language"


@dataclass(frozen=True)
class CorpusConfig:
    """Where the documents come from and which columns hold what.

    `format` is one of jsonl, parquet, text_dir, hf_dataset, code or auto (guessed from the
    path). `code` reads a source tree and makes one document per definition (function,
    class) in the `code_languages` listed; such documents are what `code_retrieval` uses.
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
    code_languages: list[str] = field(default_factory=lambda: ["python"])

    def __post_init__(self) -> None:
        _one_of("corpus.format", self.format, ("auto", "jsonl", "parquet", "text_dir", "hf_dataset", "code"))
        for language in self.code_languages:
            _one_of("corpus.code_languages", language, CODE_LANGUAGES)
        _check("corpus.min_chars", self.min_chars >= 1, "must be >= 1", self.min_chars)
        _check("corpus.max_chars", self.max_chars >= self.min_chars, "must be >= corpus.min_chars", self.max_chars)
        _check("corpus.text_column", bool(self.text_column), "must not be empty", self.text_column)


@dataclass(frozen=True)
class GeneratorConfig:
    """The LLM that writes the data and how it samples.

    `model` is a hub id or local path handed to vLLM unchanged (e.g. "Qwen/Qwen3-32B"), or
    `builtin:smollm2-135m-instruct`, the small model shipped on PyPI for CPU demos and tests.
    `structured_outputs` makes vLLM enforce each template's JSON schema while decoding.
    `engine_kwargs` go to `vllm.LLM(...)` as they are (tensor_parallel_size, max_model_len...).
    """

    model: str = BUILTIN_GENERATOR
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 256
    structured_outputs: bool = True
    engine_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check("generator.model", bool(self.model), "must name a model", self.model)
        _check("generator.temperature", 0 <= self.temperature <= 2, "must be in [0, 2]", self.temperature)
        _check("generator.top_p", 0 < self.top_p <= 1, "must be in (0, 1]", self.top_p)
        _check("generator.max_tokens", self.max_tokens >= 8, "must be >= 8", self.max_tokens)


@dataclass(frozen=True)
class EmbedderConfig:
    """The embedding model used for persona retrieval (and, later, filtering and mining).

    `backend` is "sentence-transformers" (default) or "vllm" (a pooling runner).
    `query_prompt` is prepended to queries for instruction-aware embedders
    (Qwen3-Embedding: "Instruct: ...\\nQuery: "); empty for symmetric models.
    """

    model: str = BUILTIN_EMBEDDER
    backend: str = "sentence-transformers"
    batch_size: int = 64
    query_prompt: str = ""

    def __post_init__(self) -> None:
        _one_of("embedder.backend", self.backend, ("sentence-transformers", "vllm"))
        _check("embedder.batch_size", self.batch_size >= 1, "must be >= 1", self.batch_size)


@dataclass(frozen=True)
class PersonaConfig:
    """Persona libraries (JSONL files, or `builtin:NAME` for `personas/NAME.jsonl` of
    synthgen) and how many candidates each document gets.

    The report retrieves the top-5 personas per document; stage 1 picks one of them.
    """

    libraries: list[str] = field(default_factory=lambda: [BUILTIN_PERSONAS])
    candidates: int = 5

    def __post_init__(self) -> None:
        _check("personas.libraries", len(self.libraries) > 0, "must list at least one file", self.libraries)
        _check("personas.candidates", 1 <= self.candidates <= 20, "must be in [1, 20]", self.candidates)


@dataclass(frozen=True)
class RetrievalTaskConfig:
    """The retrieval task of the report: persona -> configuration -> query.

    `query_length` is the [min, max] number of words asked of each query, sampled uniformly.
    `type_and_difficulty`: "model" lets stage 1 choose Question_Type and Difficulty, as in
    the report; "sample" draws them uniformly per item (E5-style placeholders) and stage 1
    only chooses the Character. Small generators collapse onto one choice under "model".
    `instruction` is what an instruction-aware embedder trains with for this task.
    """

    weight: float = 1.0
    query_length: list[int] = field(default_factory=lambda: [4, 20])
    type_and_difficulty: str = "model"
    instruction: str = "Given a web search query, retrieve relevant passages that answer the query"

    def __post_init__(self) -> None:
        _check("tasks.retrieval.weight", self.weight >= 0, "must be >= 0", self.weight)
        _one_of("tasks.retrieval.type_and_difficulty", self.type_and_difficulty, ("model", "sample"))
        lo_hi = self.query_length
        _check("tasks.retrieval.query_length", len(lo_hi) == 2 and 1 <= lo_hi[0] <= lo_hi[1],
               "must be [min, max] words with 1 <= min <= max", lo_hi)


@dataclass(frozen=True)
class TasksConfig:
    """The task mix: each task has a weight; a document's variants sample tasks by weight."""

    retrieval: RetrievalTaskConfig | None = None

    def __post_init__(self) -> None:
        weights = [t.weight for t in self.enabled().values()]
        _check("tasks", sum(weights) > 0, "needs at least one task with weight > 0", list(self.enabled()))

    def enabled(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name)}


@dataclass(frozen=True)
class LanguagesConfig:
    """Query languages with sampling weights (ISO 639-1 codes, or "same" for the document's).

    A query language that differs from the document's makes a cross-lingual pair.
    """

    query: dict[str, float] = field(default_factory=lambda: {SAME_LANGUAGE: 1.0})

    def __post_init__(self) -> None:
        _check("languages.query", len(self.query) > 0, "must give at least one language", self.query)
        for code, weight in self.query.items():
            _check(f"languages.query.{code}", code == SAME_LANGUAGE or (len(code) == 2 and code.isalpha()
                   and code.islower()), "must be an ISO 639-1 code or 'same'", code)
            _check(f"languages.query.{code}", weight >= 0, "weight must be >= 0", weight)
        _check("languages.query", sum(self.query.values()) > 0, "weights must not all be 0", self.query)


@dataclass(frozen=True)
class NearDupGateConfig:
    """Near-duplicate queries: MinHash + LSH over character n-grams, verified by true
    Jaccard; in each cluster the row with the smallest id survives."""

    enabled: bool = True
    threshold: float = 0.8
    ngram: int = 5

    def __post_init__(self) -> None:
        _check("gates.near_dup.threshold", 0 < self.threshold <= 1, "must be in (0, 1]", self.threshold)
        _check("gates.near_dup.ngram", 1 <= self.ngram <= 16, "must be in [1, 16]", self.ngram)


@dataclass(frozen=True)
class LeakageGateConfig:
    """Queries that copy their positive: rapidfuzz `partial_ratio(query, positive)` (0-100,
    the best alignment of the query inside the passage) at or above `max_partial_ratio`,
    or when the longest run of passage words copied into the query is `max_copied_words`
    long or covers `max_copied_fraction` of the query's words; queries shorter
    than `min_query_chars` are exempt (a few keywords may share the passage's terms)."""

    enabled: bool = True
    max_partial_ratio: float = 90.0
    max_copied_words: int = 12
    max_copied_fraction: float = 0.6
    min_query_chars: int = 25

    def __post_init__(self) -> None:
        _check("gates.leakage.max_partial_ratio", 0 < self.max_partial_ratio <= 100, "must be in (0, 100]",
               self.max_partial_ratio)
        _check("gates.leakage.min_query_chars", self.min_query_chars >= 0, "must be >= 0", self.min_query_chars)
        _check("gates.leakage.max_copied_words", self.max_copied_words >= 1, "must be >= 1", self.max_copied_words)
        _check("gates.leakage.max_copied_fraction", 0 < self.max_copied_fraction <= 1, "must be in (0, 1]",
               self.max_copied_fraction)


@dataclass(frozen=True)
class LanguageGateConfig:
    """The query is in the language it was asked for (lingua, offline). A query passes when
    the asked language is the detector's first choice, or its confidence is at least
    `min_relative_confidence` times the first choice's (short queries are ambiguous)."""

    enabled: bool = True
    min_relative_confidence: float = 0.5

    def __post_init__(self) -> None:
        _check("gates.language.min_relative_confidence", 0 <= self.min_relative_confidence <= 1,
               "must be in [0, 1]", self.min_relative_confidence)


@dataclass(frozen=True)
class CosineGateConfig:
    """Keep pairs with cosine(query, positive) >= `min_score` under the recipe's embedder.
    The Qwen3 Embedding report kept pairs above 0.7 (about 12M of 150M)."""

    enabled: bool = True
    min_score: float = 0.7

    def __post_init__(self) -> None:
        _check("gates.cosine.min_score", -1 <= self.min_score <= 1, "must be in [-1, 1]", self.min_score)


@dataclass(frozen=True)
class ConsistencyGateConfig:
    """Round-trip consistency (Promptagator, KaLM): keep a pair only when its positive ranks
    within the top `top_k` documents of the whole corpus for its query. Off by default."""

    enabled: bool = False
    top_k: int = 10

    def __post_init__(self) -> None:
        _check("gates.consistency.top_k", self.top_k >= 1, "must be >= 1", self.top_k)


@dataclass(frozen=True)
class GatesConfig:
    """The quality gates between generation and the final shards, applied in this order."""

    exact_dedup: bool = True
    near_dup: NearDupGateConfig = field(default_factory=NearDupGateConfig)
    leakage: LeakageGateConfig = field(default_factory=LeakageGateConfig)
    language: LanguageGateConfig = field(default_factory=LanguageGateConfig)
    cosine: CosineGateConfig = field(default_factory=CosineGateConfig)
    consistency: ConsistencyGateConfig = field(default_factory=ConsistencyGateConfig)


@dataclass(frozen=True)
class MiningRecipeConfig(MiningConfig):
    """Hard negatives from the corpus, positive-aware: the knobs of `synthgen.mining.MiningConfig`
    (named and meant as in sentence-transformers' `mine_hard_negatives`), plus `enabled`, and
    `min_negatives`: rows left with fewer negatives are dropped as `too_few_negatives`."""

    enabled: bool = True
    min_negatives: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check("mining.min_negatives", 0 <= self.min_negatives <= self.num_negatives,
               "must be in [0, mining.num_negatives]", self.min_negatives)


@dataclass(frozen=True)
class RunConfig:
    """How the work is cut: `shard_size` documents per engine call and per output unit."""

    shard_size: int = 64
    rows_per_file: int = 100_000

    def __post_init__(self) -> None:
        _check("run.shard_size", self.shard_size >= 1, "must be >= 1", self.shard_size)
        _check("run.rows_per_file", self.rows_per_file >= 1, "must be >= 1", self.rows_per_file)


@dataclass(frozen=True)
class Recipe:
    """A whole recipe. Relative paths in it are relative to the current directory.

    Each document gets `queries_per_document` work items; each item samples its task from
    the task mix by weight and its query language from `languages.query` by weight.
    """

    name: str
    corpus: CorpusConfig
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
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        _check("name", bool(self.name.strip()), "must not be empty", self.name)
        _check("queries_per_document", self.queries_per_document >= 1, "must be >= 1", self.queries_per_document)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
    try:
        return cls(**kwargs)
    except RecipeError:
        raise
    except ValueError as exc:  # MiningConfig validates with "rule, got name=value"
        rule, _, got = str(exc).partition(", got ")
        name = got.split("=")[0]
        if name in kwargs:
            raise RecipeError(f"{prefix}{name}", rule.removeprefix(f"{name} "), kwargs[name]) from None
        raise RecipeError(key or "recipe", str(exc)) from None


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return None if value is None else _convert(inner[0], value, key)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    if origin is list:
        if not isinstance(value, list):
            raise RecipeError(key, "must be a list", value)
        return [_convert(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
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


def _check(key: str, ok: bool, rule: str, value: object) -> None:
    if not ok:
        raise RecipeError(key, rule, value)


def _one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
    _check(key, value in allowed, f"must be one of {', '.join(allowed)}", value)
