"""Language codes, names and offline identification (lingua-language-detector).

Codes are ISO 639-1 ("en", "de"). Identification runs offline; lingua loads a language's
model the first time it is needed, so start-up stays cheap.
"""

from __future__ import annotations

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


@lru_cache(maxsize=1)
def _detector():
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().build()


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
