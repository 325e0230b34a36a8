"""The gates that judge meaning: generic, instruction, positive_length, translation, topic.

The README's junk rows (as the built-in 135M model wrote them) are each removed by a named
gate with its reason in rejects/; realistic rows are kept; the built-in multilingual judge
(`builtin:use-multilingual`) ranks real human translations (this machine's gettext
catalogs, the Universal Declaration of Human Rights) above wrong ones; the configs
validate with one-line errors. Documents are the project's sample corpus; the embedder is
the built-in multilingual one, loaded once per session.
"""

from __future__ import annotations

import copy
import os
import struct
from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest

from synthgen.corpus.readers import Document
from synthgen.engines.embedders import load_judge
from synthgen.errors import RecipeError
from synthgen.run.finalize import Finalizer, task_gates
from synthgen.gates.base import GateContext
from synthgen.gates.generic import generic_rule, is_generic_text
from synthgen.corpus.text import is_sentence
from synthgen.gates.translation import TranslationFilter, length_ratio
from synthgen.run.output import RunFolder, documents_table, write_parquet
from synthgen.generation.parsing import parse_json_output
from synthgen.generation.prompts import PromptLibrary
from synthgen.config.loader import build_recipe
from synthgen.config.quality import ROW_GATES, TranslationGateConfig
from synthgen.generation.rows import rows_to_table
from synthgen.tasks import build_tasks

REPO = Path(__file__).resolve().parents[3]
NEW_GATES = ("generic", "instruction", "positive_length", "translation", "topic")
LABELS = ["positive", "negative", "neutral"]
RECIPE = {
    "name": "semantic", "corpus": [{"path": "corpora/sample-multilingual.jsonl"}],
    "embedder": {"model": "builtin:use-multilingual"},
    "tasks": {"retrieval": {}, "bitext": {"pairs": {"en-de": 1.0, "en-fr": 1.0, "en-es": 1.0}}, "sts": {},
              "classification": {"label_sets": [{"instruction": "Classify the sentiment of a traveller's review",
                                                 "labels": LABELS}]},
              "matching": {}, "corpus_free": {}, "code_retrieval": {}},
    "gates": {"near_dup": {"enabled": False}},
    "mining": {"min_negatives": 0},
}
RECIPE_OBJECT = build_recipe(RECIPE)
TASKS = build_tasks(RECIPE_OBJECT)


def _corpus() -> list[Document]:
    lines = (REPO / "corpora" / "sample-multilingual.jsonl").read_bytes().splitlines()
    return [Document(d["id"], d["text"], d["language"]) for d in map(orjson.loads, lines)]


DOCS = _corpus()
BY_ID = {d.id: d for d in DOCS}


class _Item:
    def __init__(self, document, variant):
        self.document, self.variant = document, variant


def row(task, query, positive=None, negatives=(), languages=("en", "en"), source="en-001", n=0, **columns):
    doc = BY_ID.get(source, Document(source, "a brainstormed task definition", "en"))
    return TASKS[task].row(_Item(doc, n), query=query, positive=positive if positive is not None else doc.text,
                           negatives=list(negatives), query_language=languages[0], document_language=languages[1],
                           **columns)


# The README's junk rows ("## Tasks": rows from recipes/mixed.toml on the built-in 135M model),
# with the gate and reason that remove each.
README_JUNK = {
    "sts": (row("sts", "one sentence", "two sentences", ["three sentences"], similarity_positive=5.0,
                similarity_negative=3.0), "generic", "generic_text"),
    "bitext": (row("bitext", "The first ascent without supplemental oxygen came much later, in 1978, by Reinhold "
                   "Messner and Peter Habeler.", "Aufgabe", ["Fühlere"], ("en", "de"), "en-035"),
               "translation", "translation_length"),
    "classification": (row("classification", "Por una manera más feliz en el proceso de la descubración", "neutral",
                           ["negative"], ("es", "es"), "es-001", instruction="classify_sentiment_of_product_reviews",
                           label="neutral", misleading_label="negative"),
                       "instruction", "instruction_not_a_sentence"),
    "corpus_free": (row("corpus_free", "This is a list of all website services that support this product, ...",
                        "This is a document that answers the user's query ...",
                        ["This is a document that only shows the negative results ..."], source="task-0c1f",
                        instruction="List all the website services that support this product. List and retrieve "
                                    "the business plan of XYZ Inc.", query_type="extremely long-tail",
                        difficulty="high school"),
                    "generic", "generic_text"),
}

# Realistic rows of every task that the new gates must keep.
GOOD = {
    "sts": row("sts", "A sourdough starter must be fed with flour and water every day.",
               "Bakers feed their sourdough starter daily with equal weights of flour and water.",
               ["Rye bread is denser than wheat bread."]),
    "bitext": row("bitext", "All human beings are born free and equal in dignity and rights.",
                  "Alle Menschen sind frei und gleich an Würde und Rechten geboren.",
                  ["Alle Menschen sind frei und gleich an Würde und Pflichten geboren."], ("en", "de")),
    "classification": row("classification", "Hice el Camino de Santiago desde Sarria y llegar a la catedral fue "
                          "emocionante; los albergues estaban limpios y los peregrinos fueron muy amables.",
                          "positive", ["neutral"], ("es", "es"), "es-001",
                          instruction="Classify the sentiment of a traveller's review", label="positive",
                          misleading_label="neutral"),
    "matching": row("matching", "How do I change the permissions of a file on Linux?",
                    "Which command sets read, write and execute rights on a Linux file?", query_type="short_short"),
    "corpus_free": row("corpus_free", "how often to feed a sourdough starter",
                       "A sourdough starter kept at room temperature needs feeding once or twice a day: discard "
                       "most of it, then add equal weights of flour and water. Kept in the fridge, a weekly "
                       "feeding is enough.", ["Sourdough bread keeps for four days in a paper bag."],
                       source="task-9a2b", instruction="Retrieve baking advice that answers a home baker's question"),
    "retrieval": row("retrieval", "how to keep a sourdough starter active", source="en-001"),
    "code_retrieval": row("code_retrieval", "def head(x): return x[...]", source="c1", languages=("python", "python")),
}


@pytest.fixture(scope="session")
def judge():
    return load_judge("builtin:use-multilingual", "gates.translation.judge")


@pytest.fixture(scope="session")
def corpus_vectors(judge):
    return judge.embed([d.text for d in DOCS], kind="document")


def context_for(rows, embedder, corpus_vectors) -> GateContext:
    queries = embedder.embed([r["query"] for r in rows], kind="query")
    return GateContext(query_embeddings=queries, corpus_embeddings=corpus_vectors, corpus_ids=[d.id for d in DOCS],
                       corpus_index={d.id: i for i, d in enumerate(DOCS)}, embedder=embedder)


def new_gates(task_name, recipe=RECIPE_OBJECT):
    return [g for g in task_gates(recipe, build_tasks(recipe)[task_name]) if g.name in NEW_GATES]


# The README's junk --------------------------------------------------------------------

def test_readme_junk_rows_are_each_removed_by_a_named_gate_with_its_reason_in_rejects(tmp_path, judge):
    folder = RunFolder(tmp_path / "run")
    folder.generated.mkdir(parents=True)
    folder.rejects.mkdir()
    junk = [r for r, _, _ in README_JUNK.values()]
    write_parquet(folder.document_part_path(0), documents_table(DOCS))
    write_parquet(folder.part_path(0), rows_to_table(junk))
    report = Finalizer(folder, RECIPE_OBJECT, judge).run()
    rejects = {r["query"]: (r["step"], r["reason"])
               for path in folder.rejects.glob("gates-*.jsonl") for r in map(orjson.loads, path.read_bytes().splitlines())}
    assert report.rows_out == 0 and pq.read_table(folder.data).num_rows == 0
    for task, (junk_row, gate, reason) in README_JUNK.items():
        assert rejects[junk_row["query"]] == (f"gates/{gate}", reason), task


@pytest.mark.parametrize("task", sorted(README_JUNK))
def test_readme_junk_fails_its_gate_alone(task, judge, corpus_vectors):
    junk_row, gate_name, reason = README_JUNK[task]
    gate = next(g for g in new_gates(task) if g.name == gate_name)
    verdict = gate.check([junk_row], context_for([junk_row], judge, corpus_vectors))
    assert verdict.reasons == [reason]


def test_readme_corpus_free_row_also_has_a_positive_shorter_than_its_query(judge, corpus_vectors):
    junk_row = README_JUNK["corpus_free"][0]
    gate = next(g for g in new_gates("corpus_free") if g.name == "positive_length")
    verdict = gate.check([junk_row], context_for([junk_row], judge, corpus_vectors))
    assert verdict.reasons == ["positive_shorter_than_query"]
    assert verdict.scores_of(0) == {"query_words": 13, "positive_words": 10}


def test_readme_bitext_junk_is_also_judged_wrong_on_meaning(judge, corpus_vectors):
    junk_row = README_JUNK["bitext"][0]
    gate = TranslationFilter(TranslationGateConfig(min_length_ratio=0.01))  # past the length check
    verdict = gate.check([junk_row], context_for([junk_row], judge, corpus_vectors))
    assert verdict.reasons == ["low_translation_score"]
    assert verdict.scores_of(0)["translation_score"] < 0.1


# Good rows ------------------------------------------------------------------------------

@pytest.mark.parametrize("task", sorted(GOOD))
def test_realistic_rows_pass_every_new_gate_of_their_task(task, judge, corpus_vectors):
    good = GOOD[task]
    gates = new_gates(task)
    assert "generic" in [g.name for g in gates]
    context = context_for([good], judge, corpus_vectors)
    for gate in gates:
        assert gate.check([good], context).reasons == [""], gate.name


def test_defaults_put_each_new_gate_on_its_task():
    names = {name: [g.name for g in new_gates(name)] for name in TASKS}
    assert names == {"retrieval": ["generic"], "code_retrieval": ["generic"], "matching": ["generic"],
                     "bitext": ["generic", "translation"], "sts": ["generic"],
                     "classification": ["generic", "instruction", "topic"],
                     "corpus_free": ["generic", "positive_length"]}
    assert set(NEW_GATES) <= set(ROW_GATES)


def test_tasks_gates_lists_name_the_new_gates_and_gates_tables_switch_them_off():
    recipe = build_recipe({**RECIPE, "tasks": {"sts": {"gates": ["topic", "generic"]}},
                           "gates": {"generic": {"enabled": False}}})
    assert [g.name for g in task_gates(recipe, build_tasks(recipe)["sts"])] == ["topic"]


# generic ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, rule", [
    ("one sentence", "names_a_text_unit"), ("two sentences", "names_a_text_unit"), ("a query", "names_a_text_unit"),
    ("sentence 1", "names_a_text_unit"), ("Sentence #1.", "names_a_text_unit"),
    ("the first sentence", "names_a_text_unit"), ("example text", "names_a_text_unit"), ("S1", "names_a_text_unit"),
    ("The input text", "names_a_text_unit"), ("Erster Satz", "names_a_text_unit"),
    ("la primera oración", "names_a_text_unit"), ("une phrase d'exemple", "names_a_text_unit"),
    ("<text>", "placeholder"), ("Le produit [...] est livré demain.", "placeholder"),
    ("Write about {query} here", "placeholder"), ("[insert your sentence here]", "placeholder"),
    ("Lorem ipsum dolor sit amet", "placeholder"),
    ("This is a document that answers the user's query ...", "describes_itself"),
    ("This sentence is about cats.", "describes_itself"), ("Here is the translation: Aufgabe", "describes_itself"),
    ("Ceci est un texte sur la cuisine.", "describes_itself"), ("Dies ist ein Beispielsatz.", "describes_itself"),
    ("Este es un documento de ejemplo.", "describes_itself"), ("...", "no_words"),
    # as the built-in 135M model wrote them in a run of recipes/mixed.toml
    ("A document that supports or refutes a health claim.", "describes_itself"),
    ("The doc for the document with the user query", "names_a_text_unit"),
])
def test_generic_text_is_found_with_its_rule(text, rule):
    assert generic_rule(text) == rule


@pytest.mark.parametrize("text", [
    "The answer is no.", "Questions and Answers", "Input and output", "Sample size matters in statistics.",
    "An example of Gothic architecture", "The translation is widely considered faithful.",
    "This document describes how to install the ls command.", "See reference [12] for details.",
    "Use <b>bold</b> for the title", "Aufgabe", "The 1912 Alfred Wegener Hypothesis on Continental Drift",
    "Die Katze schläft auf dem Sofa.", "Le mont Blanc est le plus haut sommet des Alpes.",
    "A word of warning: the trail is steep.", "An example of Gothic architecture is Cologne Cathedral.",
    "A document signed in 1787 founded the federal government.",
])
def test_real_text_is_not_generic(text):
    assert not is_generic_text(text)


def test_generic_phrases_of_the_recipe_are_generic_too():
    assert generic_rule("Beispiel Nummer eins") == ""
    assert generic_rule("beispiel NUMMER eins!", ["Beispiel Nummer eins"]) == "extra_phrase"
    recipe = build_recipe({**RECIPE, "gates": {"generic": {"phrases": ["Hallo Welt"]}}})
    gate = new_gates("sts", recipe)[0]
    bad = row("sts", "Der Rhein fließt in die Nordsee.", "Hallo, Welt!", ["Der Main ist ein Fluss."])
    verdict = gate.check([bad], GateContext())
    assert verdict.reasons == ["generic_text"] and verdict.scores_of(0) == {"generic_field": "positive",
                                                                             "generic_rule": "extra_phrase"}


def test_generic_checks_the_texts_each_task_generated_and_names_the_field():
    check = lambda task, r: new_gates(task)[0].check([r], GateContext())  # noqa: E731
    sts = row("sts", "Rain is expected tonight.", "It will rain this evening.", ["Sentence 3"])
    assert check("sts", sts).scores_of(0) == {"generic_field": "negatives[0]", "generic_rule": "names_a_text_unit"}
    # a bitext source is the document's own text: only the translation and the wrong one are checked
    bitext = row("bitext", "Example text", "Beispieltext mit Inhalt über Katzen.", ["Katzen mit Beispieltext."],
                 ("en", "de"))
    assert check("bitext", bitext).reasons == [""]
    # a classification label is no text to judge; a code query is no text at all
    label = row("classification", "The room was clean and the staff friendly.", "positive", ["neutral"],
                instruction="Classify the sentiment of a hotel review")
    assert check("classification", label).reasons == [""]
    assert check("code_retrieval", row("code_retrieval", "S1", languages=("python", "python"))).reasons == [""]
    assert check("code_retrieval", row("code_retrieval", "S1", languages=("en", "python"))).reasons == ["generic_text"]


# instruction, positive_length, classification labels ------------------------------------

@pytest.mark.parametrize("instruction, ok", [
    ("classify_sentiment_of_product_reviews", False), ("classifySentimentOfProductReviews", False),
    ("sentiment.classify reviews", False), ("Classify reviews", False), ("classify_sentiment of_reviews now", False),
    ("Classify the sentiment of a product review", True),
    ("Classify a product_review as positive or negative", True),
    ("Klassifiziere die Stimmung einer Produktbewertung", True),
])
def test_instruction_must_be_a_sentence(instruction, ok):
    assert is_sentence(instruction, 4) is ok
    gate = next(g for g in new_gates("classification") if g.name == "instruction")
    good = {**GOOD["classification"], "instruction": instruction}
    assert gate.check([good], GateContext()).reasons == ["" if ok else "instruction_not_a_sentence"]


def test_brainstormed_label_sets_must_have_a_sentence_for_instruction():
    from synthgen.tasks.classification import _label_sets_of

    answer = {"tasks": [{"instruction": "classify_sentiment_of_product_reviews", "labels": LABELS},
                        {"instruction": "Classify the sentiment of a product review", "labels": LABELS}]}
    assert [s.instruction for s in _label_sets_of(answer)] == ["Classify the sentiment of a product review"]


@pytest.mark.parametrize("positive_words, min_ratio, kept", [(6, 1.0, True), (5, 1.0, False), (3, 1.0, False),
                                                              (11, 2.0, True), (10, 2.0, False)])
def test_a_generated_positive_must_be_longer_than_its_query(positive_words, min_ratio, kept):
    recipe = build_recipe({**RECIPE, "gates": {"positive_length": {"min_ratio": min_ratio}}})
    gate = next(g for g in new_gates("corpus_free", recipe) if g.name == "positive_length")
    r = row("corpus_free", "one two three four five", " ".join(["word"] * positive_words), source="task-1")
    assert gate.check([r], GateContext()).reasons == ["" if kept else "positive_shorter_than_query"]


def test_the_classification_schema_holds_the_label_and_the_misleading_label_to_the_set():
    task = TASKS["classification"]
    stage = task.stages[0]
    item = type("Item", (), {"fields": {"label_set": 0, "label": "positive"}})()
    schema = stage.schema(item, PromptLibrary().get(stage.template).output_schema)
    text = "Hice el Camino de Santiago y fue precioso."
    ok = {"input_text": text, "label": "positive", "misleading_label": "neutral"}
    assert parse_json_output(orjson.dumps(ok).decode(), schema).ok
    for bad in ({**ok, "label": "great"}, {**ok, "misleading_label": "positive"}, {**ok, "misleading_label": "joy"}):
        assert parse_json_output(orjson.dumps(bad).decode(), schema).reason.startswith("schema_mismatch")


def test_sts_order_is_the_margin_gate_of_sts_rows():
    """cosine(S1, S2) must beat cosine(S1, S3): sts rows carry S2 as positive, S3 as the negative."""
    margin = next(g for g in task_gates(RECIPE_OBJECT, TASKS["sts"]) if g.name == "margin")
    rows = [{**GOOD["sts"], "negative_scores": [0.4]}, {**GOOD["sts"], "negative_scores": [0.9]}]
    verdict = margin.check(rows, GateContext(positive_scores=np.array([0.8, 0.8], dtype=np.float32)))
    assert verdict.reasons == ["", "negative_above_positive"]


# topic -------------------------------------------------------------------------------

def test_a_classification_text_about_another_topic_is_off_topic(judge, corpus_vectors):
    gate = next(g for g in new_gates("classification") if g.name == "topic")
    about_camino = GOOD["classification"]
    about_laptops = {**about_camino, "query": "La batería de este portátil dura apenas dos horas y el cargador "
                                              "se calienta demasiado."}
    verdict = gate.check([about_camino, about_laptops], context_for([about_camino, about_laptops], judge,
                                                                    corpus_vectors))
    assert verdict.reasons == ["", "off_topic"]
    assert verdict.scores_of(0)["max_rank"] == 10  # the top 10% of 96 documents
    assert verdict.scores_of(0)["source_rank"] < 10 <= verdict.scores_of(1)["source_rank"]


@pytest.mark.parametrize("documents, fraction, limit", [(96, 0.1, 10), (12, 0.1, 2), (3, 0.1, 1), (100, 0.1, 10),
                                                         (5, 1.0, 5)])
def test_topic_rank_limit_is_a_fraction_of_the_corpus(documents, fraction, limit):
    recipe = build_recipe({**RECIPE, "gates": {"topic": {"top_fraction": fraction}}})
    gate = next(g for g in new_gates("classification", recipe) if g.name == "topic")
    assert gate.max_rank(documents) == limit


# translation -------------------------------------------------------------------------

def test_length_ratio_expects_fewer_characters_in_chinese_japanese_and_korean():
    english = "All human beings are born free and equal in dignity and rights."
    chinese = "人人生而自由，在尊严和权利上一律平等。"
    assert len(chinese) / len(english) < 0.5  # outside the band without the language's factor
    assert 0.5 <= length_ratio(english, chinese, "en", "zh") <= 2.0
    assert 0.5 <= length_ratio(chinese, english, "zh", "en") <= 2.0
    assert length_ratio("x" * 100, "y" * 50, "en", "de") == 0.5


def test_a_wrong_translation_closer_than_the_translation_is_rejected(judge):
    good = GOOD["bitext"]
    swapped = {**good, "positive": good["negatives"][0], "negatives": [good["positive"]]}
    verdict = TranslationFilter(TranslationGateConfig(), judge).check([good, swapped], GateContext())
    assert verdict.reasons == ["", "wrong_translation_closer"]
    assert verdict.scores_of(0)["translation_score"] > verdict.scores_of(0)["wrong_translation_score"]


def test_the_judge_loads_only_when_a_row_reaches_it(monkeypatch):
    def refuse(*args):
        raise AssertionError("the judge was loaded")

    monkeypatch.setattr("synthgen.engines.embedders.load_judge", refuse)
    gate = TranslationFilter(TranslationGateConfig())
    assert gate.check([README_JUNK["bitext"][0]], GateContext()).reasons == ["translation_length"]
    assert gate.check([], GateContext()).reasons == []


def test_judge_embedder_is_the_recipes_own(judge):
    calls = []

    class Recording:
        model_id = "recording"

        def embed(self, texts, kind):
            calls.append(kind)
            return judge.embed(texts, kind)

    gate = TranslationFilter(TranslationGateConfig(judge="embedder"))
    assert gate.check([GOOD["bitext"]], GateContext(embedder=Recording())).reasons == [""]
    assert calls == ["query", "document", "document"]


# Well-known sentences: article 1 of the Universal Declaration of Human Rights and two facts,
# with E5-mistral-style wrong translations (a keyword or a number changed).
KNOWN = {
    "de": [("All human beings are born free and equal in dignity and rights.",
            "Alle Menschen sind frei und gleich an Würde und Rechten geboren.",
            "Alle Menschen sind frei und gleich an Würde und Pflichten geboren."),
           ("The Berlin Wall fell on 9 November 1989.", "Die Berliner Mauer fiel am 9. November 1989.",
            "Die Berliner Mauer fiel am 3. Oktober 1990.")],
    "fr": [("All human beings are born free and equal in dignity and rights.",
            "Tous les êtres humains naissent libres et égaux en dignité et en droits.",
            "Tous les êtres humains naissent libres et égaux en richesse et en devoirs."),
           ("The Eiffel Tower was built for the 1889 World's Fair.",
            "La tour Eiffel a été construite pour l'Exposition universelle de 1889.",
            "La tour Eiffel a été détruite pour l'Exposition universelle de 1937.")],
    "es": [("All human beings are born free and equal in dignity and rights.",
            "Todos los seres humanos nacen libres e iguales en dignidad y derechos.",
            "Todos los seres humanos nacen esclavos e iguales en dignidad y deberes."),
           ("Machu Picchu is an Inca citadel built in the 15th century.",
            "Machu Picchu es una ciudadela inca construida en el siglo XV.",
            "Machu Picchu es una catedral española construida en el siglo XVIII.")],
}


@pytest.mark.parametrize("language", ["de", "fr", "es"])
def test_builtin_judge_keeps_known_translations_and_ranks_them_above_wrong_ones(language, judge):
    rows = [row("bitext", s, t, [w], ("en", language), n=i) for i, (s, t, w) in enumerate(KNOWN[language])]
    verdict = TranslationFilter(TranslationGateConfig(), judge).check(rows, GateContext())
    assert verdict.reasons == [""] * len(rows)
    for i in range(len(rows)):
        scores = verdict.scores_of(i)
        assert scores["translation_score"] > scores["wrong_translation_score"]


def read_mo(path: Path) -> dict[str, str]:
    """A gettext .mo catalog as {message: translation} (GNU format, either byte order)."""
    data = path.read_bytes()
    order = "<" if data[:4] == b"\xde\x12\x04\x95" else ">"
    count, originals, translations = struct.unpack(f"{order}3I", data[8:20])

    def string(table: int, i: int) -> str:
        length, offset = struct.unpack(f"{order}2I", data[table + 8 * i: table + 8 * i + 8])
        return data[offset: offset + length].decode("utf-8", "replace")

    return {string(originals, i): string(translations, i) for i in range(count)}


def catalog_pairs(language: str, limit: int = 80) -> list[tuple[str, str]]:
    """Real human translations: coreutils' messages that are plain sentences of 6+ words."""
    path = Path(f"/usr/share/locale/{language}/LC_MESSAGES/coreutils.mo")
    if not path.is_file():
        message = f"{path} is not installed (the coreutils message catalogs: package coreutils with its locales)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    pairs = []
    for source, target in sorted(read_mo(path).items()):
        source, target = " ".join(source.split()), " ".join(target.split())
        if "%" not in source and "\x00" not in source and source.endswith(".") and len(source.split()) >= 6 \
                and target and target != source:
            pairs.append((source, target))
    return pairs[:limit]


@pytest.mark.parametrize("language", ["de", "fr", "es"])
def test_builtin_judge_ranks_catalog_translations_above_other_messages(language, judge):
    pairs = catalog_pairs(language)
    assert len(pairs) >= 40
    # the wrong translation: the next message's, a real sentence of the same program
    rows = [row("bitext", s, t, [pairs[(i + 1) % len(pairs)][1]], ("en", language), n=i)
            for i, (s, t) in enumerate(pairs)]
    verdict = TranslationFilter(TranslationGateConfig(), judge).check(rows, GateContext())
    kept = verdict.reasons.count("") / len(rows)
    assert kept >= 0.95, [(r["query"], reason) for r, reason in zip(rows, verdict.reasons) if reason]


# configuration -----------------------------------------------------------------------

@pytest.mark.parametrize("gates, key, fragment", [
    ({"translation": {"judge": ""}}, "gates.translation.judge", "must name a model"),
    ({"translation": {"judge": "builtin:labse"}}, "gates.translation.judge", "must be a builtin embedder"),
    ({"translation": {"min_length_ratio": 0.0}}, "gates.translation.min_length_ratio", "must be in (0, 1]"),
    ({"translation": {"max_length_ratio": 0.9}}, "gates.translation.max_length_ratio", "must be >= 1"),
    ({"translation": {"min_score": 1.5}}, "gates.translation.min_score", "must be in [-1, 1]"),
    ({"translation": {"min_margin": -3}}, "gates.translation.min_margin", "must be in [-2, 2]"),
    ({"topic": {"top_fraction": 0}}, "gates.topic.top_fraction", "must be in (0, 1]"),
    ({"topic": {"top_fraction": 1.5}}, "gates.topic.top_fraction", "must be in (0, 1]"),
    ({"instruction": {"min_words": 0}}, "gates.instruction.min_words", "must be in [1, 50]"),
    ({"positive_length": {"min_ratio": 0}}, "gates.positive_length.min_ratio", "must be in (0, 20]"),
    ({"generic": {"phrases": ["  ", "x"]}}, "gates.generic.phrases", "must hold words"),
    ({"generic": {"phrases": "one sentence"}}, "gates.generic.phrases", "must be a list"),
    ({"translation": {"judges": "x"}}, "gates.translation.judges", "unknown key"),
])
def test_gate_configs_are_validated_in_one_line(gates, key, fragment):
    data = copy.deepcopy(RECIPE)
    data["gates"] = gates
    with pytest.raises(RecipeError) as info:
        build_recipe(data)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"recipe: {key}: ") and fragment in message


def test_judge_names_any_model_or_the_recipes_embedder():
    for judge in ("builtin:use-multilingual", "builtin:all-minilm-l6-v2", "sentence-transformers/LaBSE",
                  "/models/labse", "embedder"):
        assert build_recipe({**RECIPE, "gates": {"translation": {"judge": judge}}}).gates.translation.judge == judge
