"""synthgen.generation.parsing.parse_json_output: tolerant JSON extraction, key-case repair, schema checks."""

from __future__ import annotations

import pytest

from synthgen.generation.parsing import ParseResult, parse_json_output

QUERY_SCHEMA = {
    "type": "object",
    "properties": {"Query": {"type": "string", "minLength": 3, "maxLength": 300}},
    "required": ["Query"],
    "additionalProperties": False,
}

CONFIGURE_SCHEMA = {
    "type": "object",
    "properties": {
        "Character": {"type": "string"},
        "Question_Type": {"type": "string",
                          "enum": ["keywords", "acquire_knowledge", "summary", "yes_or_no", "background"]},
        "Difficulty": {"type": "string", "enum": ["high_school", "university", "phd"]},
    },
    "required": ["Character", "Question_Type", "Difficulty"],
    "additionalProperties": False,
}


def _ok(text: str, schema=QUERY_SCHEMA) -> dict:
    result = parse_json_output(text, schema)
    assert isinstance(result, ParseResult)
    assert result.ok, result.reason
    assert result.reason == ""
    return result.value


def _fail(text: str, schema=QUERY_SCHEMA) -> str:
    result = parse_json_output(text, schema)
    assert not result.ok
    assert result.value is None
    return result.reason


def test_plain_json():
    assert _ok('{"Query": "how to feed a sourdough starter"}') == {"Query": "how to feed a sourdough starter"}


def test_plain_json_with_surrounding_whitespace():
    assert _ok('\n\n  {"Query": "abc def"}  \n') == {"Query": "abc def"}


def test_json_without_schema_is_returned_as_is():
    assert parse_json_output('{"a": 1, "b": [1, 2]}').value == {"a": 1, "b": [1, 2]}


@pytest.mark.parametrize("fence", ["```json", "```JSON", "```"])
def test_json_in_code_fences(fence):
    text = f'Here you go:\n{fence}\n{{"Query": "sourdough feeding schedule"}}\n```\nEnjoy.'
    assert _ok(text) == {"Query": "sourdough feeding schedule"}


def test_json_followed_by_prose():
    assert _ok('{"Query": "rsync flags"}\nI hope this helps! Let me know {if} you need more.') == {
        "Query": "rsync flags"}


def test_prose_before_json():
    assert _ok("Sure! Here's the query you asked for: {\"Query\": \"pytest mock payment api\"}") == {
        "Query": "pytest mock payment api"}


def test_prose_with_stray_braces_before_json():
    text = 'Use {braces} carefully, or { not at all. {"Query": "go context cancellation"}'
    assert _ok(text) == {"Query": "go context cancellation"}


def test_braces_inside_strings():
    assert _ok('{"Query": "a {b} }c {"}') == {"Query": "a {b} }c {"}


def test_braces_and_escaped_quotes_inside_strings_with_trailing_prose():
    text = 'Answer: {"Query": "say \\"}\\" then {x}"} -- done }'
    assert _ok(text) == {"Query": 'say "}" then {x}'}


def test_first_object_wins():
    assert _ok('{"Query": "first one"} {"Query": "second one"}') == {"Query": "first one"}


def test_object_inside_a_list():
    assert _ok('[{"Query": "in a list"}]') == {"Query": "in a list"}


@pytest.mark.parametrize("key", ["query", "QUERY", "Query ", "qUeRy"])
def test_key_case_is_repaired(key):
    assert _ok(f'{{"{key}": "case repair"}}') == {"Query": "case repair"}


def test_key_case_and_separators_are_repaired_for_all_fields():
    text = '{"character": "A baker", "question type": "summary", "DIFFICULTY": "phd"}'
    assert _ok(text, CONFIGURE_SCHEMA) == {"Character": "A baker", "Question_Type": "summary", "Difficulty": "phd"}
    text = '{"Character": "A baker", "question-type": "keywords", "difficulty": "high_school"}'
    assert _ok(text, CONFIGURE_SCHEMA)["Question_Type"] == "keywords"


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n"])
def test_empty_output(text):
    assert _fail(text) == "empty_output"


@pytest.mark.parametrize("text", [
    "I cannot help with that.",
    '{"Query": "unterminated"',
    '{"Query": "trailing comma",}',
    "[1, 2, 3]",
    '"just a string"',
    "null",
])
def test_no_json_object(text):
    assert _fail(text) == "invalid_json"


def test_enum_violation():
    reason = _fail('{"Character": "A baker", "Question_Type": "opinion", "Difficulty": "phd"}', CONFIGURE_SCHEMA)
    assert reason.startswith("schema_mismatch")
    assert "Question_Type" in reason and "opinion" in reason


def test_missing_required_key():
    reason = _fail('{"Character": "A baker", "Question_Type": "summary"}', CONFIGURE_SCHEMA)
    assert reason.startswith("schema_mismatch")
    assert "Difficulty" in reason


def test_additional_property():
    reason = _fail('{"Query": "abc def", "Explanation": "because"}')
    assert reason.startswith("schema_mismatch") and "Explanation" in reason


def test_too_short_value():
    reason = _fail('{"Query": "ab"}')
    assert reason.startswith("schema_mismatch: Query")


def test_wrong_value_type():
    assert _fail('{"Query": 42}').startswith("schema_mismatch")


def test_schema_mismatch_reason_is_bounded():
    reason = _fail('{"Query": "' + "x" * 5000 + '"}')
    assert reason.startswith("schema_mismatch")
    assert len(reason) < 400


def test_python_code_is_not_evaluated(tmp_path):
    marker = tmp_path / "pwned"
    payloads = [
        f'__import__("os").system("touch {marker}")',
        f'{{"Query": __import__("os").system("touch {marker}")}}',
        f"```python\nimport os; os.system('touch {marker}')\n```",
        f'{{"Query": "x" + str(__import__("pathlib").Path("{marker}").touch())}}',
    ]
    for text in payloads:
        assert _fail(text) == "invalid_json", text
    assert not marker.exists()


def test_python_dict_literal_is_rejected():
    assert _fail("{'Query': 'single quoted keys'}") == "invalid_json"
    assert _fail("{'Query': 'x', 'Flag': True, 'N': None}", None) == "invalid_json"


def test_python_literals_are_not_json():
    assert _fail('{"Query": True}', None) == "invalid_json"
    assert _fail('{"Query": None}', None) == "invalid_json"


def test_cached_validators_follow_the_schema_not_the_object():
    narrowed = {**CONFIGURE_SCHEMA, "properties": {**CONFIGURE_SCHEMA["properties"],
                                                   "Character": {"type": "string", "enum": ["a baker"]}}}
    answer = '{"Character": "a nurse", "Question_Type": "summary", "Difficulty": "phd"}'
    assert _ok(answer, CONFIGURE_SCHEMA)["Character"] == "a nurse"
    assert _fail(answer, narrowed).startswith("schema_mismatch: Character")
    assert _ok(answer, dict(CONFIGURE_SCHEMA))["Character"] == "a nurse"  # an equal dict, cached
