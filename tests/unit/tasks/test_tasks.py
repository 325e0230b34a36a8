"""Task types: planning, prompt rendering, and parsing of good and malformed model output.

Each task's stages run through `run_stage` with a scripted generator (the real engine is
exercised in tests/e2e/test_tasks.py): a valid answer becomes a row of the contract;
invalid JSON, missing keys, wrong types, truncated output and task-specific degenerate
answers are rejected with their reason, never raised.
"""

from __future__ import annotations

import random

import orjson
import pytest

from synthgen.corpus.readers import Document
from synthgen.engines.base import GenerationOutput, Generator
from synthgen.generation.stages import build_requests, run_stage
from synthgen.personas.library import Persona
from synthgen.generation.prompts import PromptLibrary
from synthgen.config.loader import build_recipe
from synthgen.generation.rows import rows_to_table
from synthgen.tasks import TASK_TYPES, WorkItem, build_tasks
from synthgen.tasks.bitext import source_span

TEXT = Document("man:ls", "List information about the FILEs. Sort entries alphabetically if none of -cftuvSUX "
                "nor --sort is specified. Mandatory arguments to long options are mandatory for short "
                "options too.", "en")
CODE = Document("json/decoder.py::py_scanstring", 'def py_scanstring(s, end):\n    """Scan the string s."""\n'
                "    return s[end:], end + 1\n", "python")
TASK_TABLES = {
    "retrieval": {"type_and_difficulty": "sample"},
    "bitext": {"pairs": {"en-de": 1.0}},
    "sts": {},
    "classification": {"label_sets": [{"instruction": "Classify the sentiment", "labels": ["good", "bad"]}]},
    "matching": {},
    "code_retrieval": {},
    "corpus_free": {},
}


class Scripted(Generator):
    """A generator that answers with the given texts, in order (finish_reason per text)."""

    model_id = "scripted"

    def __init__(self, answers: list[tuple[str, str]]):
        self.answers = answers
        self.requests = []

    def generate(self, requests):
        self.requests += list(requests)
        return [GenerationOutput(text, reason, 10, 5) for text, reason in self.answers[:len(requests)]]


def recipe_for(task: str):
    corpus = [] if task == "corpus_free" else [{"path": "x.jsonl"}]
    return build_recipe({"name": "t", "corpus": corpus, "tasks": {task: TASK_TABLES[task]}})


def items_for(task_name: str, n: int):
    task = build_tasks(recipe_for(task_name))[task_name]
    if task_name == "corpus_free":
        task.definitions = ["Retrieve manual pages that explain a given shell command"]
        task.config = task.config.__class__(examples_per_task=n)
        return task, task.standalone_items()
    document = CODE if task.takes_code else TEXT
    items = []
    for variant in range(n):
        item = WorkItem(document, variant, task_name, 1000 + variant, [Persona("p1", "a Linux system administrator")])
        task.plan(item)
        items.append(item)
    return task, items


def run_last_stage(task, items, answers):
    """Run all but the last stage with valid canned answers, then the last with `answers`."""
    prompts = PromptLibrary()
    for stage in task.stages[:-1]:  # retrieval's configure stage: the sampled choices
        canned = [(orjson.dumps({"Character": "a Linux system administrator", "Question_Type": i.fields["query_type"],
                                 "Difficulty": i.fields["difficulty"]}).decode(), "stop") for i in items]
        items, _, _ = run_stage(stage, task.name, items, Scripted(canned), prompts, task.recipe.generator)
    generator = Scripted(answers)
    kept, rejects, stats = run_stage(task.stages[-1], task.name, items, generator, prompts, task.recipe.generator)
    return kept, rejects, generator


VALID = {
    "retrieval": {"Query": "how to sort directory listings by size"},
    "bitext": {"translation": "Informationen über die Dateien auflisten.",
               "wrong_translation": "Informationen über die Ordner auflisten."},
    "sts": {"S1": "The ls command lists files.", "S2": "Files are listed by ls.", "S3": "Cats sleep a lot."},
    "classification": {"input_text": "This tool works great and is fast.", "label": "good",
                       "misleading_label": "bad"},
    "matching": {"input": "Sorting files with ls", "positive_document": "How ls orders directory entries"},
    "code_retrieval": {"Query": "parse a JSON string literal"},
    "corpus_free": {"user_query": "chmod recursive", "positive_document": "Use chmod -R to change modes.",
                    "hard_negative_document": "chown changes the owner of files."},
}
DEGENERATE = {  # a well-formed answer the task must still refuse, with its reason
    "bitext": ({"translation": TEXT.text, "wrong_translation": "x y z"}, "untranslated"),
    "sts": ({"S1": "Same sentence here.", "S2": "same sentence here", "S3": "Other one."}, "identical_sentences"),
    "matching": ({"input": "Sorting files", "positive_document": "sorting files!"}, "identical_pair"),
    "corpus_free": ({"user_query": "chmod", "positive_document": "Same document text.",
                     "hard_negative_document": "same document text"}, "identical_negative"),
    "classification": ({"input_text": "Nice.", "label": "good", "misleading_label": "good"}, "schema_mismatch"),
}


def _source_of(task_name, items):
    return items[0].fields.get("source") if task_name == "bitext" else None


@pytest.mark.parametrize("task_name", sorted(TASK_TYPES))
def test_valid_answer_becomes_a_row_of_the_contract(task_name):
    task, items = items_for(task_name, 1)
    answer = dict(VALID[task_name])
    kept, rejects, _ = run_last_stage(task, items, [(orjson.dumps(answer).decode(), "stop")])
    assert not rejects, rejects
    row = task.to_row(kept[0])
    table = rows_to_table([row])
    assert table.num_rows == 1
    assert row["task"] == task_name and row["query"] and row["positive"] and row["instruction"]


@pytest.mark.parametrize("task_name", sorted(TASK_TYPES))
def test_malformed_answers_are_rejected_with_their_reason(task_name):
    task, items = items_for(task_name, 5)
    valid = orjson.dumps(VALID[task_name]).decode()
    missing = dict(VALID[task_name])
    missing.pop(sorted(missing)[0])
    wrong_type = {key: 12345 for key in VALID[task_name]}
    answers = [("I cannot help with that.", "stop"), (orjson.dumps(missing).decode(), "stop"),
               (orjson.dumps(wrong_type).decode(), "stop"), (valid[: len(valid) // 2], "length"), ("", "stop")]
    kept, rejects, _ = run_last_stage(task, items, answers)
    assert kept == []
    reasons = [r.reason for r in rejects]
    assert reasons == ["invalid_json", "schema_mismatch", "schema_mismatch", "truncated_output", "empty_output"]
    assert all(r.detail["raw"] == text for r, (text, _) in zip(rejects, answers))


@pytest.mark.parametrize("task_name", sorted(DEGENERATE))
def test_degenerate_answer_is_rejected(task_name):
    task, items = items_for(task_name, 1)
    answer, reason = DEGENERATE[task_name]
    if task_name == "bitext":
        answer = {**answer, "translation": items[0].fields["source"]}
    kept, rejects, _ = run_last_stage(task, items, [(orjson.dumps(answer).decode(), "stop")])
    assert kept == [] and rejects[0].reason == reason


def test_bitext_row_records_both_languages_and_the_wrong_translation():
    task, items = items_for("bitext", 1)
    kept, _, generator = run_last_stage(task, items, [(orjson.dumps(VALID["bitext"]).decode(), "stop")])
    row = task.to_row(kept[0])
    assert (row["query_language"], row["document_language"]) == ("en", "de")
    assert row["query"] == items[0].fields["source"] and row["query"] in " ".join(TEXT.text.split())
    assert row["negatives"] == [VALID["bitext"]["wrong_translation"]]
    assert "German" in generator.requests[0].messages[-1]["content"]


def test_bitext_takes_only_documents_whose_language_is_a_source():
    task = build_tasks(recipe_for("bitext"))["bitext"]
    assert task.accepts(TEXT)
    assert not task.accepts(Document("d", "Ein Text.", "de")) and not task.accepts(CODE)


def test_source_span_is_whole_sentences_within_the_limit():
    text = "One two three. Four five six! Seven eight nine? Ten eleven twelve."
    for seed in range(20):
        span = source_span(text, random.Random(seed), 30, "sentence")
        assert len(span) <= 30 and span[-1] in ".!?" and span in text
    assert source_span("word " * 100, random.Random(0), 42, "passage") == ("word " * 100)[:42].rsplit(" ", 1)[0]


def test_sts_stores_the_sampled_scores():
    task, items = items_for("sts", 1)
    kept, _, _ = run_last_stage(task, items, [(orjson.dumps(VALID["sts"]).decode(), "stop")])
    row = task.to_row(kept[0])
    assert row["similarity_positive"] in (4.0, 4.5, 5.0) and row["similarity_negative"] in (2.5, 3.0, 3.5)
    assert row["negatives"] == [VALID["sts"]["S3"]]


def test_classification_schema_fixes_the_label_and_excludes_it_from_misleading():
    task, items = items_for("classification", 8)
    _, _, generator = run_last_stage(task, items, [("{}", "stop")] * 8)
    labels = set()
    for item, request in zip(items, generator.requests):
        properties = request.schema["properties"]
        assert properties["label"]["enum"] == [item.fields["label"]]
        assert item.fields["label"] not in properties["misleading_label"]["enum"]
        labels.add(item.fields["label"])
    assert labels == {"good", "bad"}  # sampled uniformly: both classes appear in 8 draws


def test_classification_without_label_sets_takes_no_documents_until_brainstormed():
    recipe = build_recipe({"name": "t", "corpus": [{"path": "x"}], "tasks": {"classification": {}}})
    task = build_tasks(recipe)["classification"]
    assert not task.accepts(TEXT)


@pytest.mark.parametrize("task_name", sorted(TASK_TYPES))
def test_optional_steps_are_declared_by_every_task(task_name):
    """Brainstorm and standalone items are defaults of the base class: the run asks no task
    whether it has them."""
    task = build_tasks(recipe_for(task_name))[task_name]
    brainstorms = {"classification": False, "corpus_free": True}  # classification: the recipe gives label sets
    assert task.needs_brainstorm() is brainstorms.get(task_name, False)
    assert bool(task.brainstorm_templates) is (task_name in brainstorms)
    assert task.makes_standalone_items is (task_name == "corpus_free")
    assert task.standalone_items() == []  # corpus_free: no definitions brainstormed yet
    if task_name not in brainstorms:
        task.restore([])  # nothing to restore
        with pytest.raises(NotImplementedError):
            task.prepare(None)


def test_code_to_code_queries_keep_their_lines_and_record_the_programming_language():
    recipe = build_recipe({"name": "t", "corpus": [{"path": "x"}],
                           "tasks": {"code_retrieval": {"intents": {"code_to_code": 1.0}}}})
    task = build_tasks(recipe)["code_retrieval"]
    item = WorkItem(CODE, 0, "code_retrieval", 7)
    task.plan(item)
    snippet = "value, end = py_scanstring(s, 0)\nprint(value)"
    kept, _, _ = run_stage(task.stages[0], task.name, [item], Scripted([(orjson.dumps({"Query": snippet}).decode(),
                                                                          "stop")]), PromptLibrary(), recipe.generator)
    row = task.to_row(kept[0])
    assert row["query"] == snippet and row["query_language"] == "python" and row["query_type"] == "code_to_code"
    assert task.accepts(CODE) and not task.accepts(TEXT)


def test_language_matrix_sets_query_languages_per_document_language():
    recipe = build_recipe({"name": "t", "corpus": [{"path": "x"}], "tasks": {"retrieval": {}},
                           "languages": {"query": {"same": 1.0}, "matrix": {"en": {"de": 1.0, "fr": 1.0}}}})
    task = build_tasks(recipe)["retrieval"]
    seen = set()
    for variant in range(30):
        item = WorkItem(TEXT, variant, "retrieval", variant)
        task.plan(item)
        seen.add(item.fields["query_language"])
    assert seen == {"de", "fr"}
    item = WorkItem(Document("d", "Texte.", "fr"), 0, "retrieval", 1)
    task.plan(item)
    assert item.fields["query_language"] == "fr"  # not in the matrix: languages.query ("same")


def test_corpus_free_items_sample_e5_placeholders_and_use_the_definition_as_instruction():
    task, items = items_for("corpus_free", 4)
    assert {i.document.id for i in items} == {items[0].document.id} and items[0].document.id.startswith("task-")
    for item in items:
        assert {"query_type", "query_length", "clarity", "num_words", "difficulty", "language"} <= set(item.fields)
    kept, _, _ = run_last_stage(task, items[:1], [(orjson.dumps(VALID["corpus_free"]).decode(), "stop")])
    assert task.to_row(kept[0])["instruction"] == task.definitions[0]


@pytest.mark.parametrize("task_name", sorted(set(TASK_TYPES) - {"corpus_free"}))
def test_document_text_reaches_the_prompt_literally(task_name):
    """Model input is data: template syntax in a document is never rendered."""
    task = build_tasks(recipe_for(task_name))[task_name]
    trap = "Set {{ 7 * 7 }} and {% if true %}x{% endif %} in the config file, then restart the server"
    document = Document("trap", trap, "python" if task.takes_code else "en")
    item = WorkItem(document, 0, task_name, 5, [Persona("p1", "a Linux system administrator")])
    task.plan(item)
    item.fields.setdefault("persona", "a Linux system administrator")
    user = build_requests(task.stages[-1], [item], PromptLibrary(), task.recipe.generator)[0].messages[-1]["content"]
    assert "{{ 7 * 7 }}" in user and "49" not in user


@pytest.mark.parametrize("task_name, answer", [
    ("corpus_free", {"user_query": "chmod recursive", "positive_document": "Use chmod -R to change modes.",
                     "hard_negative_document": "hard_negative_document"}),
    ("bitext", {"translation": "a faithful, fluent translation into German.",
                "wrong_translation": "Informationen über die Ordner auflisten."}),
])
def test_answers_that_echo_the_prompt_are_rejected(task_name, answer):
    task, items = items_for(task_name, 1)
    kept, rejects, _ = run_last_stage(task, items, [(orjson.dumps(answer).decode(), "stop")])
    assert kept == [] and rejects[0].reason == "copied_prompt"


def test_words_of_the_passage_are_not_an_echo_of_the_prompt():
    task, items = items_for("matching", 1)
    answer = {"input": "List information about the FILEs", "positive_document": "What does ls print for a folder"}
    kept, rejects, _ = run_last_stage(task, items, [(orjson.dumps(answer).decode(), "stop")])
    assert len(kept) == 1, rejects


def test_short_short_matching_refuses_paragraphs():
    recipe = build_recipe({"name": "t", "corpus": [{"path": "x"}], "tasks": {"matching": {"kinds": {"short_short": 1}}}})
    task = build_tasks(recipe)["matching"]
    item = WorkItem(TEXT, 0, "matching", 3)
    task.plan(item)
    long_text = " ".join(["word"] * 45)
    answer = {"input": "Sorting files by size", "positive_document": long_text}
    kept, rejects, _ = run_stage(task.stages[0], task.name, [item],
                                 Scripted([(orjson.dumps(answer).decode(), "stop")]), PromptLibrary(), recipe.generator)
    assert kept == [] and rejects[0].reason == "too_long_for_short"


def test_brainstormed_ideas_are_cleaned_filtered_and_deduplicated():
    from synthgen.tasks.brainstorm import deduplicate
    from synthgen.tasks.classification import _label_sets_of
    from synthgen.tasks.corpus_free import _definitions_of

    sets = _label_sets_of({"tasks": [
        {"instruction": "1. Classify the sentiment of a product review", "labels": ["positive", "negative"]},
        {"instruction": "Start selling online", "labels": ["yes", "no"]},
        {"instruction": "Classify the topic", "labels": ["a", "A"]}]})
    assert [(s.instruction, s.labels) for s in sets] == [("Classify the sentiment of a product review",
                                                          ["positive", "negative"])]
    definitions = _definitions_of({"tasks": ["- Retrieve manual pages that explain a shell command",
                                             "Business and Marketing"]})
    assert definitions == ["Retrieve manual pages that explain a shell command"]
    ideas = ["Retrieve manual pages that explain a shell command", "retrieve manual pages that explain a shell command!",
             "Retrieve manual pages that explain a shell command.", "Find recipes for a list of ingredients in the fridge"]
    assert deduplicate(ideas, str) == [ideas[0], ideas[3]]


def test_server_errors_and_refusals_are_rejected_with_their_reason():
    task, items = items_for("sts", 3)
    answers = [("", "error:400"), ("I can't help with that.", "refusal"), ("", "stop")]
    kept, rejects, _ = run_last_stage(task, items, answers)
    assert kept == [] and [r.reason for r in rejects] == ["error_400", "refusal", "empty_output"]
    assert rejects[1].detail["raw"] == "I can't help with that."


def test_brainstormed_ideas_that_copy_the_prompts_examples_are_dropped():
    from synthgen.tasks.brainstorm import without_prompt_lines

    prompt = PromptLibrary().get("corpus_free/brainstorm").messages({"persona": "a nurse"})[-1]["content"]
    ideas = ["Retrieve company's financial reports for a given stock ticker symbol.",
             "Retrieve company financial reports for a given stock ticker symbol",
             "Find nursing guidelines for treating a given symptom in children"]
    assert without_prompt_lines(ideas, prompt, str) == [ideas[2]]
