"""The row gates: exact dedup, leakage, language and the embedding gates, one behaviour each."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.gates.base import GateContext
from synthgen.corpus.text import normalize_text
from synthgen.gates.cosine import ConsistencyFilter, CosineFilter, positive_ranks
from synthgen.gates.exact import find_exact_duplicates
from synthgen.gates.language import LanguageFilter
from synthgen.gates.leakage import LeakageFilter
from synthgen.config.quality import ConsistencyGateConfig, CosineGateConfig, LanguageGateConfig, LeakageGateConfig

PASSAGE = ("The chmod command changes the file mode bits of each given file according to mode, "
           "which can be either a symbolic representation of changes to make, or an octal number.")


def row(query, positive=PASSAGE, language="en", source="d0", rid="r"):
    return {"id": rid, "query": query, "positive": positive, "query_language": language, "source_id": source}


def test_normalize_text_folds_case_width_punctuation_and_space():
    assert normalize_text("What's  ＮＦＫＣ?\t") == normalize_text("what s nfkc") == "what s nfkc"


@pytest.mark.parametrize("variant", ["compound_interest", "Compound Interest", "compound-interest",
                                     "COMPOUND__INTEREST!", "compound.interest", " compound / interest "])
def test_underscores_hyphens_case_and_punctuation_do_not_make_two_queries_distinct(variant):
    assert normalize_text(variant) == "compound interest"
    found = find_exact_duplicates(["a", "b"], ["compound interest", variant], ["doc", "doc"])
    assert list(found) == [1]


def test_normalize_text_ascii_fast_path_matches_the_regex():
    import random
    import re
    import unicodedata

    def by_regex(text):
        text = unicodedata.normalize("NFKC", text).casefold()
        return " ".join(re.sub(r"[^\w\s]|_", " ", text).split())

    rng = random.Random(0)
    alphabet = [chr(c) for c in range(128)] + list("éßİﬁ＂—’")
    texts = ["".join(chr(c) for c in range(128))]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    assert [normalize_text(t) for t in texts] == [by_regex(t) for t in texts]


def test_exact_dedup_keeps_smallest_id_and_names_pair_or_query():
    ids = ["c", "a", "b", "d"]
    queries = ["How does chmod work?", "how does CHMOD work", "How does chmod work?!", "unrelated"]
    positives = ["p1", "p1", "p2", "p1"]
    dropped = find_exact_duplicates(ids, queries, positives)
    assert dropped == {0: ("duplicate_pair", 1), 2: ("duplicate_query", 1)}


def test_exact_dedup_is_order_independent():
    ids, queries, positives = ["x2", "x1"], ["Same query", "same query."], ["p", "q"]
    forward = find_exact_duplicates(ids, queries, positives)
    backward = find_exact_duplicates(ids[::-1], queries[::-1], positives[::-1])
    assert forward == {0: ("duplicate_query", 1)} and backward == {1: ("duplicate_query", 0)}


def test_leakage_drops_copied_sentences_and_keeps_questions():
    gate = LeakageFilter(LeakageGateConfig())
    rows = [row("The chmod command changes the file mode bits of each given file"),
            row("how do I make a script executable for everyone"),
            row("chmod file mode")]  # short keyword query: exempt
    verdict = gate.check(rows, GateContext())
    assert verdict.reasons == ["leakage", "", ""]
    assert verdict.scores["partial_ratio"][0] == 100.0


def test_leakage_threshold_is_configurable():
    loose = LeakageFilter(LeakageGateConfig(max_partial_ratio=100.0, max_copied_words=99, max_copied_fraction=1.0,
                                            min_query_chars=0, min_query_words=0))
    verdict = loose.check([row("chmod command changes the file mode bitz")], GateContext())
    assert verdict.reasons == [""]


def test_language_gate_rejects_a_query_in_the_wrong_language():
    gate = LanguageFilter(LanguageGateConfig())
    rows = [row("Wie funktioniert eine Wärmepumpe im Winter bei sehr tiefen Temperaturen?", language="de"),
            row("Wie funktioniert eine Wärmepumpe im Winter bei sehr tiefen Temperaturen?", language="fr"),
            row("How does a heat pump work in winter at very low temperatures?", language="en")]
    verdict = gate.check(rows, GateContext())
    assert verdict.reasons == ["", "wrong_language", ""]
    assert verdict.scores["detected_language"][1] == "de"


def test_cosine_gate_uses_threshold_inclusively():
    gate = CosineFilter(CosineGateConfig(min_score=0.7))
    context = GateContext(positive_scores=np.array([0.7, 0.69, 0.95], dtype=np.float32))
    verdict = gate.check([row("a"), row("b"), row("c")], context)
    assert verdict.reasons == ["", "low_cosine", ""]


def _unit(vectors):
    v = np.asarray(vectors, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_consistency_gate_checks_the_rank_of_the_positive():
    corpus = _unit([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0]])
    queries = _unit([[1, 0.05, 0], [0, 1, 0.1]])
    context = GateContext(query_embeddings=queries, corpus_embeddings=corpus, corpus_ids=["a", "b", "c"],
                          corpus_index={"a": 0, "b": 1, "c": 2})
    rows = [row("q1", source="b"), row("q2", source="c")]
    assert positive_ranks(rows, context).tolist() == [1, 0]
    assert ConsistencyFilter(ConsistencyGateConfig(enabled=True, top_k=1)).check(rows, context).reasons == [
        "positive_not_in_top_k", ""]
    assert ConsistencyFilter(ConsistencyGateConfig(enabled=True, top_k=2)).check(rows, context).reasons == ["", ""]


@pytest.mark.parametrize("key,value", [("gates.cosine.min_score", 1.5), ("gates.near_dup.threshold", 0.0),
                                       ("gates.leakage.max_partial_ratio", 101), ("mining.sampling_strategy", "x"),
                                       ("mining.min_negatives", 9)])
def test_gate_and_mining_settings_are_validated(key, value):
    from synthgen.errors import RecipeError
    from synthgen.config.loader import apply_override, build_recipe

    data = {"name": "t", "corpus": {"path": "c.jsonl"}}
    apply_override(data, f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}")
    with pytest.raises(RecipeError, match=key.replace(".", r"\.")):
        build_recipe(data)


def test_leakage_catches_a_pasted_phrase_inside_a_longer_query():
    gate = LeakageFilter(LeakageGateConfig())
    query = ("the chmod command changes the file mode bits of each given file, "
             "and what about ownership and groups")
    verdict = gate.check([row(query)], GateContext())
    assert verdict.reasons == ["leakage"]
    assert verdict.scores["copied_words"][0] == 12
    assert verdict.scores["partial_ratio"][0] < 90


def test_leakage_catches_a_long_pasted_run_in_a_long_query():
    gate = LeakageFilter(LeakageGateConfig())
    query = ("tell me: the chmod command changes the file mode bits of each given file according to, "
             "because I keep wondering what happens to ownership, groups, sticky bits, setuid flags and umask")
    verdict = gate.check([row(query)], GateContext())
    assert verdict.reasons == ["leakage"] and verdict.scores["copied_words"][0] == 14


def test_leakage_keeps_a_query_that_shares_a_short_phrase():
    gate = LeakageFilter(LeakageGateConfig())
    verdict = gate.check([row("why would the file mode bits of a script stop it from running on my server")],
                         GateContext())
    assert verdict.reasons == [""]


def test_longest_copied_run_counts_consecutive_words():
    from synthgen.gates.leakage import longest_copied_run

    assert longest_copied_run("a b c x d e".split(), "z a b c d e".split()) == 3
    assert longest_copied_run([], "a b".split()) == 0


def test_a_query_equal_to_its_positive_is_leakage_at_any_length():
    from synthgen.gates.leakage import LeakageFilter
    from synthgen.config.quality import LeakageGateConfig

    rows = [{"query": "Millionaire", "positive": "millionaire!"}, {"query": "Millionaire", "positive": "A rich man."}]
    verdict = LeakageFilter(LeakageGateConfig()).check(rows, None)
    assert verdict.reasons == ["leakage", ""]


def test_leakage_exempts_a_title_that_opens_its_description():
    """A real (title, description) pair from Debian: 3 of the title's 5 words open the text."""
    gate = LeakageFilter(LeakageGateConfig())
    rows = [{"query": "Development files for Tux Paint",
             "positive": "Tux Paint is a drawing program for children. This package contains the development "
                         "files for Tux Paint plugins (magic tools)."}]
    assert gate.check(rows, GateContext()).reasons == [""]
    strict = LeakageFilter(LeakageGateConfig(min_query_words=0))
    assert strict.check(rows, GateContext()).reasons == ["leakage"]
