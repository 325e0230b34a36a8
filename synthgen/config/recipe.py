"""The recipe: a TOML file validated into typed, frozen dataclasses.

A recipe names the corpus, the task mix, the query languages, the generator and embedder,
and the output. Every key is checked against its type and rule; a mistake becomes one
`RecipeError` line naming the key, the rule and the value (`recipe: generator.top_p: must
be in (0, 1], got 1.5`), never a secret (`synthgen/config/redaction.py`). `--set key=value`
overrides any key before validation.
"""

from __future__ import annotations

import dataclasses
import sysconfig
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from synthgen.errors import RecipeError
from synthgen.mining.hard_negatives import MiningConfig
from synthgen.config.redaction import REDACTED, looks_like_key, redact_url

BUILTIN_GENERATOR = "builtin:smollm2-135m-instruct"
BUILTIN_EMBEDDER = "builtin:all-minilm-l6-v2"
BUILTIN_USE_MULTILINGUAL = "builtin:use-multilingual"  # the translation gate's default judge
RECIPE_EMBEDDER = "embedder"  # a judge that is the recipe's own [embedder]
BUILTIN_PERSONAS = "builtin:core"  # personas/core.jsonl of this project
CODE_LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp")
STDLIB_PREFIX = "builtin:python-stdlib/"
SAME_LANGUAGE = "same"  # a query-language weight key meaning "the document's language"


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
        _one_of("corpus.format", self.format, ("auto", "jsonl", "parquet", "text_dir", "hf_dataset", "code"))
        for language in self.code_languages:
            _one_of("corpus.code_languages", language, CODE_LANGUAGES)
        _check("corpus.min_chars", self.min_chars >= 1, "must be >= 1", self.min_chars)
        _check("corpus.max_chars", self.max_chars >= self.min_chars, "must be >= corpus.min_chars", self.max_chars)
        _check("corpus.text_column", bool(self.text_column), "must not be empty", self.text_column)
        _check("corpus.max_tokens", self.max_tokens >= 0, "must be >= 0 (0: fit the generator's context)",
               self.max_tokens)


@dataclass(frozen=True)
class GeneratorConfig:
    """The LLM that writes the data, how it samples, and which engine runs it.

    `engine = "vllm"` (default) runs the model in-process with vLLM: `model` is a hub id or
    local path handed to vLLM unchanged (e.g. "Qwen/Qwen3-32B"), or
    `builtin:smollm2-135m-instruct`, the small model shipped on PyPI for CPU demos and tests;
    `engine_kwargs` go to `vllm.LLM(...)` as they are (tensor_parallel_size, max_model_len...).
    `engine = "openai"` sends chat completions to an OpenAI-compatible server at `base_url`
    (vLLM, SGLang, llama.cpp, hosted APIs): `model` is the name the server serves (vLLM's
    `--served-model-name`; a `builtin:` name is sent as its hub id, e.g.
    "HuggingFaceTB/SmolLM2-135M-Instruct"), the key is read from the environment variable
    named `api_key_env` (unset: no Authorization header), at most `concurrency` requests are
    in flight, and a failed request is retried up to `max_retries` times; `request_timeout`
    (seconds) bounds each attempt. `engine_kwargs` do not apply to it.
    Secrets stay out of what synthgen writes and prints (`synthgen/config/redaction.py`):
    `api_key_env` must be a variable's NAME, and a value that looks like a key itself
    (`hf_...`, `sk-...`, a long random string) is refused without being echoed; credentials
    in `base_url` (`user:password@`, query parameters such as `?api_key=`) are used for the
    requests but written and printed as `***` (`Recipe.to_dict`).
    `structured_outputs` makes the engine enforce each template's JSON schema while decoding
    (vLLM's structured outputs; `response_format` json_schema on a server).
    """

    model: str = BUILTIN_GENERATOR
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 256
    structured_outputs: bool = True
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    engine: str = "vllm"
    base_url: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    max_retries: int = 6
    request_timeout: float = 120.0

    def __post_init__(self) -> None:
        _check("generator.model", bool(self.model), "must name a model", self.model)
        _check("generator.temperature", 0 <= self.temperature <= 2, "must be in [0, 2]", self.temperature)
        _check("generator.top_p", 0 < self.top_p <= 1, "must be in (0, 1]", self.top_p)
        _check("generator.max_tokens", self.max_tokens >= 8, "must be >= 8", self.max_tokens)
        _one_of("generator.engine", self.engine, ("vllm", "openai"))
        if self.engine == "openai":
            _check("generator.base_url", bool(self.base_url),
                   "is required when generator.engine = 'openai' (e.g. \"http://127.0.0.1:8000/v1\")", self.base_url)
        if self.base_url:
            _check("generator.base_url", self.base_url.startswith(("http://", "https://")),
                   "must start with http:// or https://", self.base_url)
            _check("generator.base_url", _has_host(self.base_url), "must be a URL like http://HOST:PORT/v1",
                   self.base_url)
        # The value is never echoed: a key pasted here by mistake must not reach the terminal.
        _check("generator.api_key_env", not looks_like_key(self.api_key_env),
               "looks like a key itself (value not shown): name the environment variable that holds it, "
               "e.g. OPENAI_API_KEY", None)
        name_ok = self.api_key_env == "" or (self.api_key_env.isidentifier() and self.api_key_env.isascii())
        _check("generator.api_key_env", name_ok,
               "must be the NAME of an environment variable holding the key (letters, digits, _), "
               "never the key itself (value not shown)", None)
        _check("generator.concurrency", self.concurrency >= 1, "must be >= 1", self.concurrency)
        _check("generator.max_retries", self.max_retries >= 0, "must be >= 0", self.max_retries)
        _check("generator.request_timeout", self.request_timeout > 0, "must be > 0 seconds", self.request_timeout)


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


NAMED_THRESHOLDS = {"qwen3-report": 0.7}  # gates.cosine.min_score by name: the Qwen3 Embedding report's cut
ROW_GATES = ("leakage", "language", "cosine", "consistency", "margin",
             "generic", "instruction", "positive_length", "translation", "topic")


@dataclass(frozen=True)
class TaskConfig:
    """What every task type has.

    `weight`: a document's work items sample their task among the tasks that can use the
    document (code tasks take code units, the others take text), in proportion to weight.
    `instruction`: what an instruction-aware embedder trains with (`Instruct: ...\nQuery: `).
    `gates`: the per-row gates applied to this task's rows (names from leakage, language,
    cosine, consistency, margin, generic, instruction, positive_length, translation,
    topic); empty uses the task's defaults. `min_cosine` overrides
    `gates.cosine.min_score` for this task; `max_tokens` overrides `generator.max_tokens`.
    """

    weight: float = 1.0
    instruction: str = ""
    gates: list[str] = field(default_factory=list)
    min_cosine: float | None = None
    max_tokens: int | None = None

    def _check_common(self, name: str) -> None:
        _check(f"tasks.{name}.weight", self.weight >= 0, "must be >= 0", self.weight)
        for gate in self.gates:
            _one_of(f"tasks.{name}.gates", gate, ROW_GATES)
        if self.min_cosine is not None:
            _check(f"tasks.{name}.min_cosine", -1 <= self.min_cosine <= 1, "must be in [-1, 1]", self.min_cosine)
        if self.max_tokens is not None:
            _check(f"tasks.{name}.max_tokens", self.max_tokens >= 8, "must be >= 8", self.max_tokens)


def _check_range(key: str, lo_hi: list[int], unit: str) -> None:
    _check(key, len(lo_hi) == 2 and 1 <= lo_hi[0] <= lo_hi[1], f"must be [min, max] {unit} with 1 <= min <= max",
           lo_hi)


@dataclass(frozen=True)
class RetrievalTaskConfig(TaskConfig):
    """The retrieval task of the report: persona -> configuration -> query.

    `query_length` is the [min, max] number of words asked of each query, sampled uniformly.
    `type_and_difficulty`: "model" lets stage 1 choose Question_Type and Difficulty, as in
    the report; "sample" draws them uniformly per item (E5-style placeholders) and stage 1
    only chooses the Character. Small generators collapse onto one choice under "model".
    """

    instruction: str = "Given a web search query, retrieve relevant passages that answer the query"
    query_length: list[int] = field(default_factory=lambda: [4, 20])
    type_and_difficulty: str = "model"

    def __post_init__(self) -> None:
        self._check_common("retrieval")
        _one_of("tasks.retrieval.type_and_difficulty", self.type_and_difficulty, ("model", "sample"))
        _check_range("tasks.retrieval.query_length", self.query_length, "words")


@dataclass(frozen=True)
class BitextTaskConfig(TaskConfig):
    """Bitext mining: a source text -> its translation (positive) and a fluent translation
    with keyword or number errors (hard negative), as in E5-mistral (arXiv 2401.00368).

    `pairs` weighs language pairs "src-tgt" (ISO 639-1); a document is a source for the
    pairs whose src is its language. `unit = "sentence"` translates a span of whole
    sentences of at most `max_source_chars` from the document; "passage" its start.
    """

    instruction: str = "Retrieve parallel sentences"
    pairs: dict[str, float] = field(default_factory=lambda: {"en-de": 1.0, "de-en": 1.0})
    unit: str = "sentence"
    max_source_chars: int = 240

    def __post_init__(self) -> None:
        self._check_common("bitext")
        _one_of("tasks.bitext.unit", self.unit, ("sentence", "passage"))
        _check("tasks.bitext.max_source_chars", self.max_source_chars >= 20, "must be >= 20", self.max_source_chars)
        _check("tasks.bitext.pairs", bool(self.pairs), "must list at least one language pair", self.pairs)
        for pair, weight in self.pairs.items():
            src, _, tgt = pair.partition("-")
            _check(f"tasks.bitext.pairs.{pair}", _is_language(src) and _is_language(tgt) and src != tgt,
                   "must be 'src-tgt' with two different ISO 639-1 codes", pair)
            _check(f"tasks.bitext.pairs.{pair}", weight >= 0, "weight must be >= 0", weight)


@dataclass(frozen=True)
class StsTaskConfig(TaskConfig):
    """Semantic textual similarity (E5-mistral): S1; S2 with a high similarity score to S1;
    S3 with a low one. Scores are sampled per item from `high_scores` and `low_scores`
    (E5: {4, 4.5, 5} and {2.5, 3, 3.5} on a 1-5 scale) and stored with the row."""

    instruction: str = "Retrieve semantically similar text"
    high_scores: list[float] = field(default_factory=lambda: [4.0, 4.5, 5.0])
    low_scores: list[float] = field(default_factory=lambda: [2.5, 3.0, 3.5])

    def __post_init__(self) -> None:
        self._check_common("sts")
        for key, scores in (("high_scores", self.high_scores), ("low_scores", self.low_scores)):
            _check(f"tasks.sts.{key}", bool(scores) and all(1 <= s <= 5 for s in scores),
                   "must list scores in [1, 5]", scores)
        _check("tasks.sts.low_scores", max(self.low_scores) < min(self.high_scores),
               "must all be below tasks.sts.high_scores", self.low_scores)


@dataclass(frozen=True)
class LabelSet:
    """A classification task: its instruction and its labels (at least two)."""

    instruction: str
    labels: list[str]

    def __post_init__(self) -> None:
        _check("tasks.classification.label_sets.labels", len(set(self.labels)) >= 2,
               "must list at least two different labels", self.labels)


@dataclass(frozen=True)
class ClassificationTaskConfig(TaskConfig):
    """Classification (E5-mistral): input text, its label, a misleading label.

    Label sets come from `label_sets`; when it is empty, `brainstorm` requests ask the
    model for label sets first, and they are deduplicated (exact and near). The label of
    each item is sampled uniformly from its set, so classes stay balanced.
    """

    label_sets: list[LabelSet] = field(default_factory=list)
    brainstorm: int = 8
    text_length: list[int] = field(default_factory=lambda: [10, 40])

    def __post_init__(self) -> None:
        self._check_common("classification")
        _check("tasks.classification.brainstorm", self.brainstorm >= 1 or bool(self.label_sets),
               "must be >= 1 when label_sets is empty", self.brainstorm)
        _check_range("tasks.classification.text_length", self.text_length, "words")


@dataclass(frozen=True)
class MatchingTaskConfig(TaskConfig):
    """Matching (E5-mistral): short-short (a title -> a related title, a question -> its
    duplicate) and long-long (a text -> a text on the same matter), `kinds` weighed.
    Both sides are written by the model, inspired by a corpus passage."""

    instruction: str = "Retrieve semantically matching text"
    kinds: dict[str, float] = field(default_factory=lambda: {"short_short": 1.0, "long_long": 1.0})

    def __post_init__(self) -> None:
        self._check_common("matching")
        for kind, weight in self.kinds.items():
            _one_of("tasks.matching.kinds", kind, ("short_short", "long_long"))
            _check(f"tasks.matching.kinds.{kind}", weight >= 0, "weight must be >= 0", weight)
        _check("tasks.matching.kinds", sum(self.kinds.values()) > 0, "weights must not all be 0", self.kinds)


@dataclass(frozen=True)
class CodeRetrievalTaskConfig(TaskConfig):
    """Code retrieval: documents are code units (corpus.format = "code"); queries are
    natural-language intents (what_it_does, how_to, error_to_fix, api_usage) or code
    (code_to_code), `intents` weighed. Natural-language queries follow `languages`;
    "same" means English for code."""

    instruction: str = "Given a question about code, retrieve the code that answers it"
    intents: dict[str, float] = field(default_factory=lambda: {
        "what_it_does": 1.0, "how_to": 1.0, "error_to_fix": 1.0, "api_usage": 1.0, "code_to_code": 1.0})
    query_length: list[int] = field(default_factory=lambda: [4, 20])

    def __post_init__(self) -> None:
        self._check_common("code_retrieval")
        for intent, weight in self.intents.items():
            _one_of("tasks.code_retrieval.intents", intent, CODE_INTENTS)
            _check(f"tasks.code_retrieval.intents.{intent}", weight >= 0, "weight must be >= 0", weight)
        _check("tasks.code_retrieval.intents", sum(self.intents.values()) > 0, "weights must not all be 0",
               self.intents)
        _check_range("tasks.code_retrieval.query_length", self.query_length, "words")


@dataclass(frozen=True)
class CorpusFreeTaskConfig(TaskConfig):
    """Corpus-free retrieval (E5-mistral): `brainstorm` requests each ask for retrieval task
    definitions; they are deduplicated (exact and near) and each gets `examples_per_task`
    (user_query, positive_document, hard_negative_document) examples with sampled
    placeholders (query_type, query_length, clarity, num_words, difficulty, language).
    The task definition is the row's instruction. `weight` does not apply (no documents)."""

    brainstorm: int = 8
    examples_per_task: int = 4
    num_words: list[int] = field(default_factory=lambda: [50, 100, 200])

    def __post_init__(self) -> None:
        self._check_common("corpus_free")
        _check("tasks.corpus_free.num_words", bool(self.num_words) and all(n >= 5 for n in self.num_words),
               "must list document lengths >= 5 words", self.num_words)
        _check("tasks.corpus_free.brainstorm", self.brainstorm >= 1, "must be >= 1", self.brainstorm)
        _check("tasks.corpus_free.examples_per_task", self.examples_per_task >= 1, "must be >= 1",
               self.examples_per_task)


CODE_INTENTS = ("what_it_does", "how_to", "error_to_fix", "api_usage", "code_to_code")


@dataclass(frozen=True)
class TasksConfig:
    """The task mix. A task is on when its table is present (and its weight > 0)."""

    retrieval: RetrievalTaskConfig | None = None
    bitext: BitextTaskConfig | None = None
    sts: StsTaskConfig | None = None
    classification: ClassificationTaskConfig | None = None
    matching: MatchingTaskConfig | None = None
    code_retrieval: CodeRetrievalTaskConfig | None = None
    corpus_free: CorpusFreeTaskConfig | None = None

    def __post_init__(self) -> None:
        enabled = self.enabled()
        _check("tasks", bool(enabled), "needs at least one task with weight > 0", list(enabled))

    def enabled(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None and getattr(self, f.name).weight > 0}


def _is_language(code: str) -> bool:
    return len(code) == 2 and code.isalpha() and code.islower()


@dataclass(frozen=True)
class LanguagesConfig:
    """Query languages with sampling weights (ISO 639-1 codes, or "same" for the document's).

    `query` applies to every document; `matrix` overrides it per document language
    (`matrix.de = {en = 1, de = 1}`: German documents get English and German queries
    equally). A query language that differs from the document's makes a cross-lingual
    pair; both languages are recorded in each row.
    """

    query: dict[str, float] = field(default_factory=lambda: {SAME_LANGUAGE: 1.0})
    matrix: dict[str, dict[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_weights("languages.query", self.query)
        for document_language, weights in self.matrix.items():
            _check(f"languages.matrix.{document_language}", _is_language(document_language),
                   "must be keyed by ISO 639-1 document languages", document_language)
            _check_weights(f"languages.matrix.{document_language}", weights)

    def weights_for(self, document_language: str) -> dict[str, float]:
        """The query-language weights for a document in `document_language`."""
        return self.matrix.get(document_language, self.query)


def _check_weights(key: str, weights: dict[str, float]) -> None:
    _check(key, len(weights) > 0, "must give at least one language", weights)
    for code, weight in weights.items():
        _check(f"{key}.{code}", code == SAME_LANGUAGE or _is_language(code), "must be an ISO 639-1 code or 'same'",
               code)
        _check(f"{key}.{code}", weight >= 0, "weight must be >= 0", weight)
    _check(key, sum(weights.values()) > 0, "weights must not all be 0", weights)


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
    than `min_query_chars` characters or `min_query_words` words are exempt (a few keywords,
    or a title-like query, may share the passage's terms). The 10 words are set on real
    pairs: on `make quality`'s human-written (title, description) pairs, exempting only
    under 25 characters rejected 16% of them (a 5-word title whose 3 words open the
    description); with 10 words, 2.75% (titles restated verbatim), while the pasted
    sentences a small generator writes (18-37 words in `make demo`) are still caught."""

    enabled: bool = True
    max_partial_ratio: float = 90.0
    max_copied_words: int = 12
    max_copied_fraction: float = 0.6
    min_query_chars: int = 25
    min_query_words: int = 10

    def __post_init__(self) -> None:
        _check("gates.leakage.max_partial_ratio", 0 < self.max_partial_ratio <= 100, "must be in (0, 100]",
               self.max_partial_ratio)
        _check("gates.leakage.min_query_chars", self.min_query_chars >= 0, "must be >= 0", self.min_query_chars)
        _check("gates.leakage.min_query_words", self.min_query_words >= 0, "must be >= 0", self.min_query_words)
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

    `min_score = "calibrated"` (default): per language, the `calibration_quantile` of the
    cosines of known-good pairs of the run's own documents under the same embedder
    (inverse cloze: first sentence vs the rest; synthgen/gates/calibration.py), because a
    threshold belongs to an embedder and a language. `"qwen3-report"` is the Qwen3
    Embedding report's fixed 0.7 (it kept about 12M of 150M pairs), for embedders it was
    set for; any number in [-1, 1] is a fixed threshold. `synthgen calibrate` shows what
    each setting keeps.
    """

    enabled: bool = True
    min_score: float | str = "calibrated"
    calibration_quantile: float = 0.1

    def __post_init__(self) -> None:
        if isinstance(self.min_score, str):
            _one_of("gates.cosine.min_score", self.min_score, ("calibrated", *NAMED_THRESHOLDS))
        else:
            _check("gates.cosine.min_score", -1 <= self.min_score <= 1, "must be in [-1, 1]", self.min_score)
        _check("gates.cosine.calibration_quantile", 0 <= self.calibration_quantile < 1, "must be in [0, 1)",
               self.calibration_quantile)

    @property
    def fixed_score(self) -> float | None:
        """The threshold when it is fixed (a number or a named one); None when calibrated."""
        return NAMED_THRESHOLDS.get(self.min_score, None) if isinstance(self.min_score, str) else self.min_score


@dataclass(frozen=True)
class ConsistencyGateConfig:
    """Round-trip consistency (Promptagator, KaLM): keep a pair only when its positive ranks
    within the top `top_k` documents of the whole corpus for its query. Off by default."""

    enabled: bool = False
    top_k: int = 10

    def __post_init__(self) -> None:
        _check("gates.consistency.top_k", self.top_k >= 1, "must be >= 1", self.top_k)


@dataclass(frozen=True)
class MarginGateConfig:
    """For rows with generated negatives: keep a row when cosine(query, positive) exceeds
    cosine(query, best negative) by at least `min_margin`."""

    enabled: bool = True
    min_margin: float = 0.0

    def __post_init__(self) -> None:
        _check("gates.margin.min_margin", -2 <= self.min_margin <= 2, "must be in [-2, 2]", self.min_margin)


@dataclass(frozen=True)
class GenericGateConfig:
    """`generic_text`: a text that names or describes the task instead of doing it ("one
    sentence", "a query", "S1", "<text>", "This is a document that answers the user's
    query"), by the rules of `synthgen/gates/generic.py`, checked on every text the
    generator wrote (which texts: each task's `generated_fields`). E5-mistral (arXiv
    2401.00368) defines each task by what its texts must be; Gecko (arXiv 2403.20327)
    filters an LLM's own examples before they teach. `phrases` adds whole texts to treat as
    generic (compared normalized), e.g. a placeholder your generator writes in your language."""

    enabled: bool = True
    phrases: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for phrase in self.phrases:
            _check("gates.generic.phrases", any(c.isalnum() for c in phrase), "must hold words", phrase)


@dataclass(frozen=True)
class InstructionGateConfig:
    """`instruction_not_a_sentence`: the row's instruction is what an instruction-aware
    embedder reads before the query ("Instruct: ...\nQuery: "), so it must be a sentence
    that defines the task, as E5-mistral's task definitions are ("Classify the sentiment
    of a product review"), not an identifier ("classify_sentiment_of_product_reviews",
    camelCase, dotted names). Rule: at least `min_words` space-separated words, fewer than
    half of them identifier-shaped (snake_case, camelCase, dotted)."""

    enabled: bool = True
    min_words: int = 4

    def __post_init__(self) -> None:
        _check("gates.instruction.min_words", 1 <= self.min_words <= 50, "must be in [1, 50]", self.min_words)


@dataclass(frozen=True)
class PositiveLengthGateConfig:
    """`positive_shorter_than_query`: a generated positive document must say more than its
    query: more than `min_ratio` times the query's words. E5-mistral's corpus-free task
    asks for documents of `num_words` (50-200) and queries of under 5 to 15+ words; a
    "document" shorter than its query is the generator restating the query."""

    enabled: bool = True
    min_ratio: float = 1.0

    def __post_init__(self) -> None:
        _check("gates.positive_length.min_ratio", 0 < self.min_ratio <= 20, "must be in (0, 20]", self.min_ratio)


@dataclass(frozen=True)
class TranslationGateConfig:
    """A bitext row's translation must be one, judged on meaning by a cross-lingual model.

    Three reasons, checked in order (the target language itself is the language gate's
    `wrong_positive_language`):
    - `translation_length`: characters of the translation over characters of the source,
      divided by what the language pair expects (Chinese needs about half the characters
      of English, Japanese and Korean about two thirds: `synthgen/gates/translation.py`),
      outside [`min_length_ratio`, `max_length_ratio`]. Of 9,052 human translations in
      this machine's gettext catalogs (en->de/fr/es/pt/it/ru/zh/ja/ko), 99.5% fall within
      the default 0.5-2.0; a one-word "translation" of a sentence does not.
    - `low_translation_score`: cosine(source, translation) under the judge below
      `min_score`. Under the built-in judge, 478 catalog translations (en->de/fr/es) score
      0.39 at least (median 0.73-0.77); unrelated messages of the same catalogs score a
      median 0.09 (at most 0.46, which the next rule catches). Set it for another judge
      (-1 turns it off).
    - `wrong_translation_closer`: the translation is not closer to the source than the
      wrong translation (E5-mistral's S3: fluent, with keyword or number errors) by more
      than `min_margin`: a row whose "wrong" translation is the better one teaches the
      opposite (NV-Retriever, arXiv 2407.15831, on false negatives).
    `judge` names the model: `builtin:use-multilingual` (Google's multilingual USE v3,
    numpy, 16 languages, shipped on PyPI), any sentence-transformers model by hub id or
    path (LaBSE, multilingual-e5), or "embedder" for the recipe's own [embedder] (when it
    is multilingual: no second model in memory). It is loaded only when a bitext row is
    gated.
    """

    enabled: bool = True
    judge: str = BUILTIN_USE_MULTILINGUAL
    min_length_ratio: float = 0.5
    max_length_ratio: float = 2.0
    min_score: float = 0.3
    min_margin: float = 0.0

    def __post_init__(self) -> None:
        _check("gates.translation.judge", bool(self.judge.strip()),
               f"must name a model (\"{BUILTIN_USE_MULTILINGUAL}\", a sentence-transformers model, or "
               f"\"{RECIPE_EMBEDDER}\")", self.judge)
        _check("gates.translation.judge", not self.judge.startswith("builtin:")
               or self.judge in (BUILTIN_USE_MULTILINGUAL, BUILTIN_EMBEDDER),
               f"must be a builtin embedder ({BUILTIN_USE_MULTILINGUAL}, {BUILTIN_EMBEDDER}) when it starts "
               "with builtin:", self.judge)
        _check("gates.translation.min_length_ratio", 0 < self.min_length_ratio <= 1, "must be in (0, 1]",
               self.min_length_ratio)
        _check("gates.translation.max_length_ratio", self.max_length_ratio >= 1, "must be >= 1",
               self.max_length_ratio)
        _check("gates.translation.min_score", -1 <= self.min_score <= 1, "must be in [-1, 1]", self.min_score)
        _check("gates.translation.min_margin", -2 <= self.min_margin <= 2, "must be in [-2, 2]", self.min_margin)


@dataclass(frozen=True)
class TopicGateConfig:
    """`off_topic`: a text written about a corpus document's topic (classification's input
    text) must be nearer its document than most of the corpus is. Rule: under the
    recipe's embedder, the source document ranks within the top `top_fraction` of the
    task's documents for the text (at least the top 1): the rank of Promptagator's
    round-trip filter (arXiv 2209.11755), relative to the corpus size because the text
    only has to be about the document's topic, not to retrieve it among many documents on
    that topic. A rank, not a cosine floor: it means the same under every embedder, while
    a cosine's scale belongs to one model and one language."""

    enabled: bool = True
    top_fraction: float = 0.1

    def __post_init__(self) -> None:
        _check("gates.topic.top_fraction", 0 < self.top_fraction <= 1, "must be in (0, 1]", self.top_fraction)


@dataclass(frozen=True)
class GatesConfig:
    """The quality gates between generation and the final shards, applied in this order.
    Each task applies the per-row gates that fit it (`tasks.<name>.gates`, else its defaults),
    when they are enabled here."""

    exact_dedup: bool = True
    near_dup: NearDupGateConfig = field(default_factory=NearDupGateConfig)
    leakage: LeakageGateConfig = field(default_factory=LeakageGateConfig)
    language: LanguageGateConfig = field(default_factory=LanguageGateConfig)
    cosine: CosineGateConfig = field(default_factory=CosineGateConfig)
    consistency: ConsistencyGateConfig = field(default_factory=ConsistencyGateConfig)
    margin: MarginGateConfig = field(default_factory=MarginGateConfig)
    generic: GenericGateConfig = field(default_factory=GenericGateConfig)
    instruction: InstructionGateConfig = field(default_factory=InstructionGateConfig)
    positive_length: PositiveLengthGateConfig = field(default_factory=PositiveLengthGateConfig)
    translation: TranslationGateConfig = field(default_factory=TranslationGateConfig)
    topic: TopicGateConfig = field(default_factory=TopicGateConfig)


@dataclass(frozen=True)
class MiningRecipeConfig(MiningConfig):
    """Hard negatives from the corpus, positive-aware: the knobs of `synthgen.mining.hard_negatives.MiningConfig`
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
    """How the work is cut: `shard_size` documents per engine call and per output unit.

    `deterministic` (default false) asks for bit-identical rows from a resumed, a Ray and a
    `--shard` run of the same recipe on the same hardware, at some speed: one CPU thread
    for the model math (on CPUs a matrix product rounds differently with another thread
    count), vLLM's prefix cache off (what the cache held would change which tokens a
    kernel computes, and how it rounds), one request in flight for the `openai` engine
    (a server batches concurrent requests by arrival), and vLLM's batch-invariant kernels
    (`VLLM_BATCH_INVARIANT=1`) on GPUs. Without it, every run still accounts for each
    work item exactly once, with the same ids (`synthgen/run/ledger.py`); only the text a
    model writes may differ in places.
    """

    shard_size: int = 64
    rows_per_file: int = 100_000
    deterministic: bool = False

    def __post_init__(self) -> None:
        _check("run.shard_size", self.shard_size >= 1, "must be >= 1", self.shard_size)
        _check("run.rows_per_file", self.rows_per_file >= 1, "must be >= 1", self.rows_per_file)


@dataclass(frozen=True)
class RayConfig:
    """Placement of engine actors for `synthgen run --executor ray` (ignored otherwise).

    `workers`: how many actors, each with one generator (0: as many as the cluster's GPUs,
    or CPUs, hold). `gpus_per_worker`: GPUs each actor reserves (unset: the generator's
    `engine_kwargs.tensor_parallel_size` when the cluster has GPUs, else 0).
    `cpus_per_worker`: CPUs each actor reserves. None of these change the rows, so they
    may change between a run and its resumption.
    """

    workers: int = 0
    cpus_per_worker: float = 1.0
    gpus_per_worker: float | None = None

    def __post_init__(self) -> None:
        _check("ray.workers", self.workers >= 0, "must be >= 0", self.workers)
        _check("ray.cpus_per_worker", self.cpus_per_worker > 0, "must be > 0", self.cpus_per_worker)
        _check("ray.gpus_per_worker", self.gpus_per_worker is None or self.gpus_per_worker >= 0, "must be >= 0",
               self.gpus_per_worker)


@dataclass(frozen=True)
class JudgeConfig:
    """`[judge]`: an LLM or a cross-encoder scores each (query, positive) and (query, mined
    negative) pair after mining, and relabels by what it finds (Gecko, arXiv 2403.20327).
    `synthgen judge RUN` applies it to a finished run (synthgen/judge/).

    `kind = "llm"`: `model` (default the built-in generator; any vLLM model, or the name an
    OpenAI-compatible server at `base_url` serves with `engine = "openai"`) reads the
    yes/no prompt `template` (prompts/judge/relevance.j2) and the probability of "yes"
    against "no" for its next token is the score (one forward pass, `top_logprobs` read).
    `kind = "cross-encoder"`: `model` is a sentence-transformers CrossEncoder (hub id or
    path) with one output, squashed by a sigmoid.
    A negative scoring >= `relevant_threshold` is dropped as a false negative
    (`judged_relevant`); when the best negative outscores the positive by `better_margin`
    or more, the row is relabeled (that negative becomes the positive) or dropped, as
    `on_better_negative` says. Documents are cut to `max_document_chars` for the prompt.
    Scores are cached in OUT/judge/cache.jsonl, so a rerun makes no engine requests.
    """

    enabled: bool = False
    kind: str = "llm"
    model: str = BUILTIN_GENERATOR
    engine: str = "vllm"
    base_url: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    template: str = "judge/relevance"
    relevant_threshold: float = 0.5
    better_margin: float = 0.1
    on_better_negative: str = "relabel"
    top_logprobs: int = 20
    batch_size: int = 512
    max_document_chars: int = 4000

    def __post_init__(self) -> None:
        _one_of("judge.kind", self.kind, ("llm", "cross-encoder"))
        _check("judge.model", bool(self.model.strip()), "must name a model", self.model)
        _check("judge.model", not (self.kind == "cross-encoder" and self.model.startswith("builtin:")),
               "must be a CrossEncoder hub id or path when judge.kind = 'cross-encoder'", self.model)
        _one_of("judge.engine", self.engine, ("vllm", "openai"))
        if self.engine == "openai":
            _check("judge.base_url", self.base_url.startswith(("http://", "https://")) and _has_host(self.base_url),
                   "must be a URL like http://HOST:PORT/v1 when judge.engine = 'openai'", self.base_url)
        _check("judge.api_key_env", not looks_like_key(self.api_key_env) and (self.api_key_env == "" or (
            self.api_key_env.isidentifier() and self.api_key_env.isascii())),
               "must be the NAME of an environment variable holding the key (value not shown)", None)
        _check("judge.concurrency", self.concurrency >= 1, "must be >= 1", self.concurrency)
        _check("judge.template", bool(self.template.strip()), "must name a prompt template", self.template)
        _check("judge.relevant_threshold", 0 < self.relevant_threshold <= 1, "must be in (0, 1]",
               self.relevant_threshold)
        _check("judge.better_margin", 0 <= self.better_margin <= 1, "must be in [0, 1]", self.better_margin)
        _one_of("judge.on_better_negative", self.on_better_negative, ("relabel", "drop"))
        _check("judge.top_logprobs", 2 <= self.top_logprobs <= 20, "must be in [2, 20]", self.top_logprobs)
        _check("judge.batch_size", self.batch_size >= 1, "must be >= 1", self.batch_size)
        _check("judge.max_document_chars", self.max_document_chars >= 100, "must be >= 100",
               self.max_document_chars)


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

    def __post_init__(self) -> None:
        _check("name", bool(self.name.strip()), "must not be empty", self.name)
        _check("queries_per_document", self.queries_per_document >= 1, "must be >= 1", self.queries_per_document)
        needs_corpus = set(self.tasks.enabled()) - {"corpus_free"}
        _check("corpus", bool(self.corpus) or not needs_corpus,
               f"is required by the tasks {', '.join(sorted(needs_corpus))} ([corpus] or [[corpus]] tables)", "none")
        _check("generator.engine_kwargs.enable_prefix_caching",
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
    if isinstance(data.get("corpus"), dict):  # [corpus] is one corpus, [[corpus]] several
        data = {**data, "corpus": [data["corpus"]]}
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
        if value is None:
            return None
        if len(inner) == 1:
            return _convert(inner[0], value, key)
        for candidate in inner:  # a number or a name (gates.cosine.min_score)
            try:
                return _convert(candidate, value, key)
            except RecipeError:
                continue
        raise RecipeError(key, f"must be {' or '.join(getattr(a, '__name__', str(a)) for a in inner)}", value)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    if origin is list:
        if not isinstance(value, list):
            raise RecipeError(key, "must be a list", value)
        return [_convert(args[0], v, key if len(value) == 1 else f"{key}[{i}]") for i, v in enumerate(value)]
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


def _has_host(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises
    except ValueError:
        return False
    return bool(parts.hostname)


def _check(key: str, ok: bool, rule: str, value: object) -> None:
    if not ok:
        raise RecipeError(key, rule, value)


def _one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
    _check(key, value in allowed, f"must be one of {', '.join(allowed)}", value)
