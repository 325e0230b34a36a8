"""The inverse cloze baseline: which sentence becomes the query, what is left as the
positive, and which documents are skipped and why."""

from __future__ import annotations

import pytest
from run_folders import mixed_rows, write_finished_run

from synthgen.corpus.readers import Document
from synthgen.errors import UserError
from synthgen.evaluation.baselines import inverse_cloze, run_documents
from synthgen.tasks.inverse_cloze import first_sentence, inverse_cloze_pair
from synthgen.run.output import documents_table, write_parquet

REST = ("The mode of each file is changed according to the given mode, which can be a symbolic "
        "representation of changes to make or an octal number.")


def test_prose_splits_after_the_first_sentence():
    text = f"chmod changes the file mode bits of each given file.  {REST}"
    assert inverse_cloze_pair(text, "en") == ("chmod changes the file mode bits of each given file.", REST)


def test_a_blank_line_ends_a_heading_like_a_sentence():
    query, rest = first_sentence("NAME\n  ls - list directory contents\n\nSYNOPSIS\n  ls [OPTION]... [FILE]...")
    assert (query, rest) == ("NAME ls - list directory contents", "SYNOPSIS ls [OPTION]... [FILE]...")


def test_cjk_full_stops_and_closing_quotes():
    assert first_sentence("这是第一句。这是第二句。") == ("这是第一句。", "这是第二句。")
    assert first_sentence('He said "stop." Then he left.') == ('He said "stop."', "Then he left.")


@pytest.mark.parametrize("text, reason", [
    ("One long sentence without any break at all that goes on and on", "no_sentence_break"),
    (f"Too short. {REST}", "short_query"),
    ("A first sentence " + "that rambles " * 30 + f"for far too long. {REST}", "long_query"),
    ("A first sentence of fair length. Then little.", "short_positive"),
])
def test_documents_that_leave_too_little_text_are_skipped(text, reason):
    assert inverse_cloze_pair(text, "en") == reason


PYTHON_UNIT = '''@functools.cache
def read_config(path):
    """Read the TOML configuration at path and validate it.

    Unknown keys are an error.
    """
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    return validate(data, schema=CONFIG_SCHEMA, strict=True)
'''


def test_python_units_pair_the_docstring_summary_with_the_code_without_it():
    query, positive = inverse_cloze_pair(PYTHON_UNIT, "python")
    assert query == "Read the TOML configuration at path and validate it."
    assert positive.startswith("@functools.cache\ndef read_config(path):\n    with open(path")
    assert '"""' not in positive and "Unknown keys" not in positive


def test_c_family_units_use_the_comment_above_the_definition():
    unit = ("// Clamp limits v to the closed interval [lo, hi].\n// It panics when lo > hi.\n"
            "func Clamp(v, lo, hi int) int {\n\tif lo > hi {\n\t\tpanic(\"lo > hi\")\n\t}\n"
            "\treturn max(lo, min(v, hi))\n}\n")
    query, positive = inverse_cloze_pair(unit, "go")
    assert query == "Clamp limits v to the closed interval [lo, hi]."
    assert positive.startswith("func Clamp(") and "//" not in positive


def test_code_without_a_docstring_is_skipped():
    assert inverse_cloze_pair("def f(x):\n    return x + 1\n", "python") == "code_without_docstring"
    assert inverse_cloze_pair("fn f() -> u8 {\n    1\n}\n", "rust") == "code_without_docstring"


def test_pairs_and_skips_are_counted():
    documents = [Document("a", f"A first sentence of fair length. {REST}", "en"), Document("b", "Too short.", "en"),
                 Document("c", "def f(x):\n    return x\n", "python")]
    result = inverse_cloze(documents)
    assert [r["source_id"] for r in result.rows] == ["a"]
    assert result.rows[0]["anchor"] == "A first sentence of fair length." and result.rows[0]["positive"] == REST
    assert result.skipped == {"code_without_docstring": 1, "no_sentence_break": 1}


def test_run_documents_reads_each_id_once(tmp_path):
    folder = write_finished_run(tmp_path, mixed_rows())
    with pytest.raises(UserError, match="holds no docs-\\*.parquet"):
        run_documents(tmp_path)
    write_parquet(folder.document_part_path(0), documents_table([Document("a", "x", "en"), Document("b", "y", "de")]))
    write_parquet(folder.document_part_path(1), documents_table([Document("a", "x", "en")]))
    assert [(d.id, d.language) for d in run_documents(tmp_path)] == [("a", "en"), ("b", "de")]
