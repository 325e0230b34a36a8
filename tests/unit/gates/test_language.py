"""The language gate's candidate restriction decides as lingua over all 75 languages does.

The gate weighs a text against the candidate languages only (the row's, the recipe's, the most
written ones). A language's score in lingua does not depend on the other candidates, so the
decisions must be those of the full detector wherever its first choice is a candidate, and
elsewhere the restriction may only keep what the full detector rejects.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from synthgen.config.quality import LanguageGateConfig
from synthgen.corpus.language_id import latin_script_only
from synthgen.gates.base import GateContext
from synthgen.gates.language import COMMON_LANGUAGES, LanguageFilter

CORPUS = Path(__file__).resolve().parents[3] / "corpora" / "sample-multilingual.jsonl"
# Article 1 of the Universal Declaration of Human Rights, in scripts and languages the corpus lacks.
OTHER_SCRIPTS = {
    "ru": "Все люди рождаются свободными и равными в своем достоинстве и правах.",
    "uk": "Всі люди народжуються вільними і рівними у своїй гідності та правах.",
    "zh": "人人生而自由，在尊严和权利上一律平等。",
    "ja": "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。",
    "ko": "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다.",
    "ar": "يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق.",
    "el": "Όλοι οι άνθρωποι γεννιούνται ελεύθεροι και ίσοι στην αξιοπρέπεια και τα δικαιώματα.",
    "hi": "सभी मनुष्य जन्म से स्वतंत्र तथा मर्यादा और अधिकारों में समान होते हैं।",
    "nl": "Alle mensen worden vrij en gelijk in waardigheid en rechten geboren.",
    "pl": "Wszyscy ludzie rodzą się wolni i równi pod względem swej godności i swych praw.",
    "sv": "Alla människor är födda fria och lika i värde och rättigheter.",
    "tr": "Bütün insanlar hür, haysiyet ve haklar bakımından eşit doğarlar.",
}


def sample() -> list[tuple[str, str]]:
    """(text, language): from each corpus document its first sentence and a five-word snippet of
    its second (short queries are the ambiguous ones), then the texts in other scripts."""
    texts = []
    for line in CORPUS.read_bytes().splitlines():
        record = orjson.loads(line)
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", record["text"]) if s]
        texts.append((sentences[0], record["language"]))
        if len(sentences) > 1:
            texts.append((" ".join(sentences[1].split()[:5]), record["language"]))
    return texts + [(text, language) for language, text in OTHER_SCRIPTS.items()]


@pytest.fixture(scope="module")
def verdicts():
    texts = sample()
    languages = sorted({language for _, language in texts})
    # each text asked in its own language and in the next one of the sample (a wrong ask)
    asked = [(text, own) for text, own in texts]
    asked += [(text, languages[(languages.index(own) + 1) % len(languages)]) for text, own in texts]
    rows = [{"query": text, "query_language": language, "positive": text, "document_language": language}
            for text, language in asked]
    config = LanguageGateConfig()
    gate = LanguageFilter(config, languages=languages)  # a recipe that names every language of the sample
    fast = gate.check(rows, GateContext())
    slow = LanguageFilter(config, all_languages=True).check(rows, GateContext())
    candidates = [gate.candidates(row["query_language"], row["document_language"],
                                  latin=latin_script_only(row["query"])) for row in rows]
    return rows, fast, slow, candidates


def test_sample_covers_scripts_keeps_and_rejects(verdicts):
    rows, _, slow, candidates = verdicts
    assert len(rows) > 200 and len({row["query_language"] for row in rows}) >= 15
    assert 0.2 < sum(bool(reason) for reason in slow.reasons) / len(rows) < 0.8
    latin = [c for c, row in zip(candidates, rows) if latin_script_only(row["query"])]
    assert latin and all("ru" not in c and "en" in c for c in latin)  # Latin text: Latin-script candidates only
    assert all("ru" in c for c, row in zip(candidates, rows) if not latin_script_only(row["query"]))


def test_restricted_gate_decides_as_the_full_detector(verdicts):
    rows, fast, slow, candidates = verdicts
    fast_top, slow_top = fast.scores["detected_language"], slow.scores["detected_language"]
    inside = [i for i in range(len(rows)) if slow_top[i] in candidates[i]]
    assert len(inside) >= 0.98 * len(rows)
    for i in inside:  # the full detector's first choice is a candidate: the same decision and language
        assert (fast.reasons[i], fast_top[i]) == (slow.reasons[i], slow_top[i]), rows[i]
    for i in set(range(len(rows))) - set(inside):  # elsewhere a reject may become a keep, never the reverse
        assert slow.reasons[i] or not fast.reasons[i], rows[i]
    agreement = sum(a == b for a, b in zip(fast.reasons, slow.reasons)) / len(rows)
    assert agreement >= 0.99  # 407 of 408 rows: "Am 31." asked in German reads as Swahili over all 75


def test_restriction_only_turns_rejects_into_keeps_outside_the_candidates():
    """A mixed query the full detector gives to a language outside the candidates (Latin here):
    the restricted gate may keep it; one it gives to a candidate is decided alike."""
    config = LanguageGateConfig()
    rows = [{"query": query, "query_language": language} for query, language in (
        ("photosynthesis. for molecules in In some the", "en"),
        ("Wie funktioniert eine Wärmepumpe im Winter bei sehr tiefen Temperaturen?", "fr"),
        ("How does a heat pump work in winter at very low temperatures?", "en"))]
    fast = LanguageFilter(config).check(rows, GateContext())
    slow = LanguageFilter(config, all_languages=True).check(rows, GateContext())
    assert slow.reasons == ["wrong_language", "wrong_language", ""]
    assert slow.scores["detected_language"][0] not in COMMON_LANGUAGES
    assert fast.reasons == ["", "wrong_language", ""]
    assert fast.scores["detected_language"][1:] == slow.scores["detected_language"][1:] == ["de", "en"]


def test_candidates_hold_the_row_and_recipe_languages():
    gate = LanguageFilter(LanguageGateConfig(), languages=["nl", "xx", "python"])
    assert gate.candidates("sv", "el") == {"nl", "sv", "el"} | set(COMMON_LANGUAGES)  # unknown codes left out
    assert gate.candidates("sv", "el", latin=True) == {"nl", "sv", "en", "es", "de", "fr"}
    assert LanguageFilter(LanguageGateConfig(), all_languages=True).candidates("sv") is None
    assert latin_script_only("Ça coûte 5 €, señor") and not latin_script_only("5 µm") and latin_script_only("")
    assert not latin_script_only("Все люди") and not latin_script_only("café 東京")
