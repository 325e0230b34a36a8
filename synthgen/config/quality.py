"""What a generated row must pass to be kept, and how its hard negatives are mined:
the quality gates (`[gates.<name>]`), their registry, and `[mining]`.

`GATES` is the one list of the gates: each one's name (its `[gates.<name>]` table and the
`gates/<name>` of its rejects), its settings class, and whether it checks the rows of the
tasks that list it (`tasks.<name>.gates`) or every row at once. It is read off
`GatesConfig`; `synthgen/gates/registry.py` maps each name to the code that runs it, in the
order the gates apply.
"""

from __future__ import annotations

import math
import numbers
import typing
from dataclasses import dataclass, field, fields

from synthgen.config.rules import check, one_of
from synthgen.config.run import BUILTIN_EMBEDDER

BUILTIN_USE_MULTILINGUAL = "builtin:use-multilingual"  # the translation gate's default judge
RECIPE_EMBEDDER = "embedder"  # a judge that is the recipe's own [embedder]
NAMED_THRESHOLDS = {"qwen3-report": 0.7}  # gates.cosine.min_score by name: the Qwen3 Embedding report's cut
MINING_RULES = ("absolute_margin", "relative_margin", "max_score", "min_score")  # score rules, in the order applied


@dataclass(frozen=True)
class NearDupGateConfig:
    """Near-duplicate queries: MinHash + LSH over character n-grams, verified by true
    Jaccard; in each cluster the row with the smallest id survives."""

    enabled: bool = True
    threshold: float = 0.8
    ngram: int = 5

    def __post_init__(self) -> None:
        check("gates.near_dup.threshold", 0 < self.threshold <= 1, "must be in (0, 1]", self.threshold)
        check("gates.near_dup.ngram", 1 <= self.ngram <= 16, "must be in [1, 16]", self.ngram)


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
        check("gates.leakage.max_partial_ratio", 0 < self.max_partial_ratio <= 100, "must be in (0, 100]",
              self.max_partial_ratio)
        check("gates.leakage.min_query_chars", self.min_query_chars >= 0, "must be >= 0", self.min_query_chars)
        check("gates.leakage.min_query_words", self.min_query_words >= 0, "must be >= 0", self.min_query_words)
        check("gates.leakage.max_copied_words", self.max_copied_words >= 1, "must be >= 1", self.max_copied_words)
        check("gates.leakage.max_copied_fraction", 0 < self.max_copied_fraction <= 1, "must be in (0, 1]",
              self.max_copied_fraction)


@dataclass(frozen=True)
class LanguageGateConfig:
    """The query is in the language it was asked for (lingua, offline). A query passes when
    the asked language is the detector's first choice, or its confidence is at least
    `min_relative_confidence` times the first choice's (short queries are ambiguous)."""

    enabled: bool = True
    min_relative_confidence: float = 0.5

    def __post_init__(self) -> None:
        check("gates.language.min_relative_confidence", 0 <= self.min_relative_confidence <= 1,
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
            one_of("gates.cosine.min_score", self.min_score, ("calibrated", *NAMED_THRESHOLDS))
        else:
            check("gates.cosine.min_score", -1 <= self.min_score <= 1, "must be in [-1, 1]", self.min_score)
        check("gates.cosine.calibration_quantile", 0 <= self.calibration_quantile < 1, "must be in [0, 1)",
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
        check("gates.consistency.top_k", self.top_k >= 1, "must be >= 1", self.top_k)


@dataclass(frozen=True)
class MarginGateConfig:
    """For rows with generated negatives: keep a row when cosine(query, positive) exceeds
    cosine(query, best negative) by at least `min_margin`."""

    enabled: bool = True
    min_margin: float = 0.0

    def __post_init__(self) -> None:
        check("gates.margin.min_margin", -2 <= self.min_margin <= 2, "must be in [-2, 2]", self.min_margin)


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
            check("gates.generic.phrases", any(c.isalnum() for c in phrase), "must hold words", phrase)


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
        check("gates.instruction.min_words", 1 <= self.min_words <= 50, "must be in [1, 50]", self.min_words)


@dataclass(frozen=True)
class PositiveLengthGateConfig:
    """`positive_shorter_than_query`: a generated positive document must say more than its
    query: more than `min_ratio` times the query's words. E5-mistral's corpus-free task
    asks for documents of `num_words` (50-200) and queries of under 5 to 15+ words; a
    "document" shorter than its query is the generator restating the query."""

    enabled: bool = True
    min_ratio: float = 1.0

    def __post_init__(self) -> None:
        check("gates.positive_length.min_ratio", 0 < self.min_ratio <= 20, "must be in (0, 20]", self.min_ratio)


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
        check("gates.translation.judge", bool(self.judge.strip()),
              f"must name a model (\"{BUILTIN_USE_MULTILINGUAL}\", a sentence-transformers model, or "
              f"\"{RECIPE_EMBEDDER}\")", self.judge)
        check("gates.translation.judge", not self.judge.startswith("builtin:")
              or self.judge in (BUILTIN_USE_MULTILINGUAL, BUILTIN_EMBEDDER),
              f"must be a builtin embedder ({BUILTIN_USE_MULTILINGUAL}, {BUILTIN_EMBEDDER}) when it starts "
              "with builtin:", self.judge)
        check("gates.translation.min_length_ratio", 0 < self.min_length_ratio <= 1, "must be in (0, 1]",
              self.min_length_ratio)
        check("gates.translation.max_length_ratio", self.max_length_ratio >= 1, "must be >= 1",
              self.max_length_ratio)
        check("gates.translation.min_score", -1 <= self.min_score <= 1, "must be in [-1, 1]", self.min_score)
        check("gates.translation.min_margin", -2 <= self.min_margin <= 2, "must be in [-2, 2]", self.min_margin)


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
        check("gates.topic.top_fraction", 0 < self.top_fraction <= 1, "must be in (0, 1]", self.top_fraction)


_ALL_ROWS = {"per_row": False}  # a gate that checks every row at once, by query, before the per-row gates


@dataclass(frozen=True)
class GatesConfig:
    """The quality gates between generation and the final shards, in the order of their
    tables (the manifest, the dataset card). The gates over all rows (exact_dedup,
    near_dup) run first, then each task applies the per-row gates that fit it
    (`tasks.<name>.gates`, else its defaults), when they are enabled here, in the order of
    `synthgen/gates/registry.py`."""

    exact_dedup: bool = field(default=True, metadata=_ALL_ROWS)
    near_dup: NearDupGateConfig = field(default_factory=NearDupGateConfig, metadata=_ALL_ROWS)
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

    def is_on(self, name: str) -> bool:
        """Whether gate `name` is enabled (its `enabled`, or its bare bool)."""
        settings = getattr(self, name)
        return settings if isinstance(settings, bool) else settings.enabled


@dataclass(frozen=True)
class GateSpec:
    """One quality gate: its name, the class of its `[gates.<name>]` table (`bool`: a gate
    only switched on or off), and whether it checks the rows of the tasks that list it
    (else every row at once)."""

    name: str
    config: type
    per_row: bool


_GATE_TYPES = typing.get_type_hints(GatesConfig)
GATES: tuple[GateSpec, ...] = tuple(GateSpec(f.name, _GATE_TYPES[f.name], f.metadata.get("per_row", True))
                                    for f in fields(GatesConfig))
ROW_GATES = tuple(gate.name for gate in GATES if gate.per_row)  # what `tasks.<name>.gates` may list


@dataclass(frozen=True)
class MiningConfig:
    """What counts as a hard negative (`synthgen.mining.hard_negatives.mine_negatives`;
    its module docstring explains each knob, named and meant as in sentence-transformers'
    `mine_hard_negatives`).

    num_negatives: negatives per query. range_min / range_max: rank window over the surviving
    candidates (range_max None: derived as in sentence-transformers). max_score / min_score:
    absolute score bounds. absolute_margin / relative_margin: how far below the positive's score a
    negative must stay. sampling_strategy: "top" or "random" (seeded by `seed`). use_faiss: search
    with faiss' exact IndexFlatIP instead of numpy. A bad value raises `RecipeError` naming its
    `mining.<knob>` key.
    """

    num_negatives: int = 3
    range_min: int = 0
    range_max: int | None = None
    max_score: float | None = None
    min_score: float | None = None
    absolute_margin: float | None = None
    relative_margin: float | None = 0.05
    sampling_strategy: str = "top"
    seed: int = 0
    use_faiss: bool = False

    def __post_init__(self) -> None:
        for name in ("num_negatives", "range_min", "seed"):
            check(f"mining.{name}", _is_int(getattr(self, name)), "must be an integer", getattr(self, name))
        check("mining.num_negatives", self.num_negatives >= 1, "must be at least 1", self.num_negatives)
        check("mining.range_min", self.range_min >= 0, "must be non-negative", self.range_min)
        if self.range_max is not None:
            check("mining.range_max", _is_int(self.range_max), "must be an integer or None", self.range_max)
            check("mining.range_max", self.range_max > self.range_min, "must be larger than mining.range_min",
                  self.range_max)
            least = self.range_min + self.num_negatives
            check("mining.range_max", self.range_max >= least,
                  f"must be at least mining.range_min + mining.num_negatives ({least})", self.range_max)
        for name in MINING_RULES:
            value = getattr(self, name)
            finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            check(f"mining.{name}", value is None or finite, "must be a finite number or None", value)
        if self.max_score is not None and self.min_score is not None:
            check("mining.min_score", self.min_score <= self.max_score,
                  f"must not exceed mining.max_score={self.max_score}", self.min_score)
        one_of("mining.sampling_strategy", self.sampling_strategy, ("top", "random"))
        check("mining.use_faiss", isinstance(self.use_faiss, bool), "must be a bool", self.use_faiss)

    def resolved_range_max(self, max_blocked: int = 1) -> int:
        """range_max, or sentence-transformers' default for it; `max_blocked` plays the role of its
        `max_positives` (the most corpus entries any one query must skip as non-negatives)."""
        if self.range_max is not None:
            return self.range_max
        filtered = any(v is not None for v in (self.absolute_margin, self.relative_margin, self.max_score))
        return self.range_min + self.num_negatives * (10 if filtered else 1) + max_blocked


@dataclass(frozen=True)
class MiningRecipeConfig(MiningConfig):
    """Hard negatives from the corpus, positive-aware (`[mining]`): the knobs of `MiningConfig`,
    plus `enabled`, and `min_negatives`: rows left with fewer negatives are dropped as
    `too_few_negatives`."""

    enabled: bool = True
    min_negatives: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        check("mining.min_negatives", 0 <= self.min_negatives <= self.num_negatives,
              "must be in [0, mining.num_negatives]", self.min_negatives)


def _is_int(value: object) -> bool:
    """An integer, numpy's included, and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class ContaminationConfig:
    """Test sets the training rows must not overlap (`synthgen/gates/contamination.py`).

    `against`: paths of test sets (a JSONL file of queries and documents, a folder in BEIR
    or JSONL layout with `corpus.jsonl`/`queries.jsonl`, or a `datasets` save_to_disk folder).
    A row whose query or positive matches a test query or document is removed as
    `contaminated`: the same normalized text, a MinHash near duplicate (character
    `near_dup_ngram`-grams, Jaccard >= `near_dup_threshold`), or a shared run of `ngram`
    normalized words (13, as GPT-3's contamination check; 0 turns that test off)."""

    against: list[str] = field(default_factory=list)
    ngram: int = 13
    near_dup_threshold: float = 0.8
    near_dup_ngram: int = 5

    def __post_init__(self) -> None:
        check("contamination.ngram", self.ngram == 0 or 4 <= self.ngram <= 64, "must be 0 (off) or in [4, 64]",
              self.ngram)
        check("contamination.near_dup_threshold", 0 < self.near_dup_threshold <= 1, "must be in (0, 1]",
              self.near_dup_threshold)
        check("contamination.near_dup_ngram", 1 <= self.near_dup_ngram <= 16, "must be in [1, 16]",
              self.near_dup_ngram)


@dataclass(frozen=True)
class CollisionsConfig:
    """Cross-row collisions (`synthgen/mining/collisions.py`): a mined negative that is an
    exact or near duplicate (the `gates.near_dup` settings) of any row's positive.
    `action = "flag"` keeps it and names the positive's group in `negative_groups`, so a
    trainer can mask it in-batch; `"drop"` removes it from the row's negatives (counted as
    `collides_with_positive`). Rows whose positives are duplicates share a `group` id."""

    enabled: bool = True
    action: str = "flag"

    def __post_init__(self) -> None:
        one_of("collisions.action", self.action, ("flag", "drop"))

