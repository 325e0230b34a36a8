"""The task mix (`[tasks.<name>]`): one config per task type, what every task has
(`TaskConfig`), and `TasksConfig`, the tables a recipe turns on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from synthgen.config.languages import is_language_code
from synthgen.config.quality import ROW_GATES
from synthgen.config.rules import check, check_range, one_of

CODE_INTENTS = ("what_it_does", "how_to", "error_to_fix", "api_usage", "code_to_code")


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
        check(f"tasks.{name}.weight", self.weight >= 0, "must be >= 0", self.weight)
        for gate in self.gates:
            one_of(f"tasks.{name}.gates", gate, ROW_GATES)
        if self.min_cosine is not None:
            check(f"tasks.{name}.min_cosine", -1 <= self.min_cosine <= 1, "must be in [-1, 1]", self.min_cosine)
        if self.max_tokens is not None:
            check(f"tasks.{name}.max_tokens", self.max_tokens >= 8, "must be >= 8", self.max_tokens)


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
        one_of("tasks.retrieval.type_and_difficulty", self.type_and_difficulty, ("model", "sample"))
        check_range("tasks.retrieval.query_length", self.query_length, "words")


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
        one_of("tasks.bitext.unit", self.unit, ("sentence", "passage"))
        check("tasks.bitext.max_source_chars", self.max_source_chars >= 20, "must be >= 20", self.max_source_chars)
        check("tasks.bitext.pairs", bool(self.pairs), "must list at least one language pair", self.pairs)
        for pair, weight in self.pairs.items():
            src, _, tgt = pair.partition("-")
            check(f"tasks.bitext.pairs.{pair}", is_language_code(src) and is_language_code(tgt) and src != tgt,
                  "must be 'src-tgt' with two different ISO 639-1 codes", pair)
            check(f"tasks.bitext.pairs.{pair}", weight >= 0, "weight must be >= 0", weight)


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
            check(f"tasks.sts.{key}", bool(scores) and all(1 <= s <= 5 for s in scores),
                  "must list scores in [1, 5]", scores)
        check("tasks.sts.low_scores", max(self.low_scores) < min(self.high_scores),
              "must all be below tasks.sts.high_scores", self.low_scores)


@dataclass(frozen=True)
class LabelSet:
    """A classification task: its instruction and its labels (at least two)."""

    instruction: str
    labels: list[str]

    def __post_init__(self) -> None:
        check("tasks.classification.label_sets.labels", len(set(self.labels)) >= 2,
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
        check("tasks.classification.brainstorm", self.brainstorm >= 1 or bool(self.label_sets),
              "must be >= 1 when label_sets is empty", self.brainstorm)
        check_range("tasks.classification.text_length", self.text_length, "words")


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
            one_of("tasks.matching.kinds", kind, ("short_short", "long_long"))
            check(f"tasks.matching.kinds.{kind}", weight >= 0, "weight must be >= 0", weight)
        check("tasks.matching.kinds", sum(self.kinds.values()) > 0, "weights must not all be 0", self.kinds)


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
            one_of("tasks.code_retrieval.intents", intent, CODE_INTENTS)
            check(f"tasks.code_retrieval.intents.{intent}", weight >= 0, "weight must be >= 0", weight)
        check("tasks.code_retrieval.intents", sum(self.intents.values()) > 0, "weights must not all be 0",
              self.intents)
        check_range("tasks.code_retrieval.query_length", self.query_length, "words")


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
        check("tasks.corpus_free.num_words", bool(self.num_words) and all(n >= 5 for n in self.num_words),
              "must list document lengths >= 5 words", self.num_words)
        check("tasks.corpus_free.brainstorm", self.brainstorm >= 1, "must be >= 1", self.brainstorm)
        check("tasks.corpus_free.examples_per_task", self.examples_per_task >= 1, "must be >= 1",
              self.examples_per_task)


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
        check("tasks", bool(enabled), "needs at least one task with weight > 0", list(enabled))

    def enabled(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None and getattr(self, f.name).weight > 0}
