"""Language codes, names and offline identification (lingua-language-detector).

Codes are ISO 639-1 ("en", "de"). Identification runs offline; lingua loads a language's
model the first time it is needed, so start-up stays cheap.
"""

from __future__ import annotations

import re
from functools import lru_cache

from synthgen.config.languages import UNDETERMINED


@lru_cache(maxsize=None)
def language_name(code: str) -> str:
    """The English name of an ISO 639-1 code, as prompts use it ("de" -> "German")."""
    from lingua import IsoCode639_1, Language

    try:
        language = Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except (AttributeError, ValueError):
        return code
    return language.name.title()


@lru_cache(maxsize=None)
def _detector(languages: frozenset[str] | None = None):
    """lingua's detector over all its languages (None), or over `languages` (ISO 639-1 codes
    lingua knows, at least two: with one, lingua answers in its single-language mode)."""
    from lingua import LanguageDetectorBuilder

    if languages is None:
        return LanguageDetectorBuilder.from_all_languages().build()
    known = _lingua_languages()
    return LanguageDetectorBuilder.from_languages(*(known[code] for code in sorted(languages))).build()


@lru_cache(maxsize=1)
def _lingua_languages() -> dict:
    """{ISO 639-1 code: lingua Language} for the 75 languages lingua knows."""
    from lingua import Language

    return {language.iso_code_639_1.name.lower(): language for language in Language.all()}


@lru_cache(maxsize=1)
def _codes() -> dict:
    """{lingua Language: ISO 639-1 code}, to name results without attribute lookups per value."""
    return {language: code for code, language in _lingua_languages().items()}


def known_language(code: str) -> bool:
    """Whether lingua identifies the language with this ISO 639-1 code."""
    return code in _lingua_languages()


@lru_cache(maxsize=1)
def latin_script_languages() -> frozenset[str]:
    """The ISO 639-1 codes of the languages lingua knows in Latin script."""
    from lingua import Language

    return frozenset(language.iso_code_639_1.name.lower() for language in Language.all_with_latin_script())


def latin_script_only(text: str) -> bool:
    """Whether every letter of `text` is in Latin script (ASCII text, say). Letters up to U+024F
    are all Latin but the micro sign (Common script); past it, any letter counts as another script
    (Vietnamese's Latin Extended Additional too: a safe no)."""
    return text.isascii() or not _NOT_LATIN.search(text)


_NOT_LATIN = re.compile(r"[^\W\d_\u0000-\u024f]|\u00b5")  # a letter past U+024F, or the micro sign


def detect_language(text: str) -> str:
    """ISO 639-1 code of the most likely language of `text`, or "und" when unsure."""
    language = _detector().detect_language_of(text[:2000])
    if language is None:
        return UNDETERMINED
    return language.iso_code_639_1.name.lower()


def language_confidences(text: str) -> dict[str, float]:
    """{ISO 639-1 code: confidence} over the languages lingua finds plausible for `text`."""
    values = _detector().compute_language_confidence_values(text[:2000])
    return {v.language.iso_code_639_1.name.lower(): float(v.value) for v in values if v.value > 0}


def ranked_confidences(texts: list[str], languages: frozenset[str] | None = None) -> list[list[tuple[str, float]]]:
    """Per text, [(ISO 639-1 code, confidence)], best first as lingua ranks them, over the languages
    it finds plausible for the text among `languages` (codes lingua knows, at least two; None: all
    75). One call for all the texts (lingua spreads them over its threads).

    lingua's confidence of a language is exp(score) / sum of exp(score) over the candidates, and a
    language's score does not depend on which other languages are candidates: restricted to a set
    that holds the full detector's first choice, the ranking and the ratio of any two confidences
    are those of the full detector (only their scale changes)."""
    codes = _codes()
    found = _detector(languages).compute_language_confidence_values_in_parallel([text[:2000] for text in texts])
    return [[(codes[v.language], v.value) for v in values if v.value > 0] for values in found]
