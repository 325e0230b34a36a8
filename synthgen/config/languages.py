"""Languages: the ISO 639-1 code rule, and which query languages each document gets.

Natural languages are ISO 639-1 codes, as synthgen writes them: two lowercase letters
("de"). `normalize_code` is the one rule for them: the corpus reader applies it to a
document's language column ("en-US" -> "en"), and the recipe accepts a code only when it
is already in that form (`is_language_code`). Code units carry their programming language
instead (`CODE_LANGUAGES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synthgen.config.rules import check

UNDETERMINED = "und"  # ISO 639-2 "undetermined": a language that is not known (yet)
SAME_LANGUAGE = "same"  # a query-language weight key meaning "the document's language"
CODE_LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp")


def is_code_language(language: str) -> bool:
    """Whether a `language` value names a programming language: code units carry theirs
    (`corpus.format = "code"`), and code queries are not checked as natural language."""
    return language in CODE_LANGUAGES


def normalize_code(value: str) -> str:
    """"en-US", "EN", "en_GB" -> "en"; anything else that is not two letters -> "und"."""
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if len(code) == 2 and code.isascii() and code.isalpha() else UNDETERMINED


def is_language_code(code: str) -> bool:
    """Whether `code` is an ISO 639-1 code as synthgen writes them ("de"; not "DE", "de-AT")."""
    return code != UNDETERMINED and normalize_code(code) == code


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
            check(f"languages.matrix.{document_language}", is_language_code(document_language),
                  "must be keyed by ISO 639-1 document languages", document_language)
            _check_weights(f"languages.matrix.{document_language}", weights)

    def weights_for(self, document_language: str) -> dict[str, float]:
        """The query-language weights for a document in `document_language`."""
        return self.matrix.get(document_language, self.query)


def _check_weights(key: str, weights: dict[str, float]) -> None:
    check(key, len(weights) > 0, "must give at least one language", weights)
    for code, weight in weights.items():
        check(f"{key}.{code}", code == SAME_LANGUAGE or is_language_code(code),
              "must be an ISO 639-1 code or 'same'", code)
        check(f"{key}.{code}", weight >= 0, "weight must be >= 0", weight)
    check(key, sum(weights.values()) > 0, "weights must not all be 0", weights)
