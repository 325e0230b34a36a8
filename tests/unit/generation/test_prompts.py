"""synthgen.generation.prompts: the shipped retrieval templates, safe rendering, schemas and hashes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from synthgen.errors import UserError
from synthgen.generation.prompts import DEFAULT_PROMPTS_DIR, PromptLibrary
from synthgen.tasks.retrieval import DIFFICULTIES, QUESTION_TYPES

REPO = Path(__file__).resolve().parents[3]
PASSAGE = ("A sourdough starter is a mixture of flour and water that hosts wild yeasts and lactic "
           "acid bacteria. Feed it once or twice a day.\nKeep it at room temperature.")
CANDIDATES = ["A home baker in Lyon who keeps a rye starter.",
              "A microbiology student who studies lactic acid bacteria."]


def configure_vars(passage: str = PASSAGE) -> dict:
    return {"passage": passage, "passage_language": "English", "candidates": CANDIDATES}


def query_vars(passage: str = PASSAGE) -> dict:
    return {"passage": passage, "passage_language": "English", "character": CANDIDATES[0],
            "question_type": "acquire_knowledge", "difficulty": "university", "length": 7,
            "query_language": "German"}


@pytest.fixture(scope="module")
def library() -> PromptLibrary:
    return PromptLibrary()


def _write_template(root: Path, name: str, body: str) -> None:
    path = root / f"{name}.j2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


def test_default_prompts_dir_is_the_projects():
    assert DEFAULT_PROMPTS_DIR == REPO / "prompts"


@pytest.mark.parametrize("name, variables", [("retrieval/configure", configure_vars()),
                                             ("retrieval/query", query_vars())])
def test_shipped_templates_render_system_and_user(library, name, variables):
    messages = library.get(name).messages(variables)
    assert [m["role"] for m in messages] == ["system", "user"]
    system, user = messages[0]["content"], messages[1]["content"]
    assert system and user
    assert "JSON" in system
    assert PASSAGE in user
    assert "English" in user
    assert user == user.strip() and system == system.strip()


def test_configure_lists_every_candidate(library):
    user = library.get("retrieval/configure").messages(configure_vars())[1]["content"]
    for candidate in CANDIDATES:
        assert candidate in user
    for value in QUESTION_TYPES + DIFFICULTIES:
        assert value in user


def test_query_states_the_requirements(library):
    user = library.get("retrieval/query").messages(query_vars())[1]["content"]
    assert CANDIDATES[0] in user
    assert "acquire_knowledge" in user and "university" in user
    assert "about 7 words" in user
    assert "German" in user


def test_rendering_is_deterministic(library):
    template = library.get("retrieval/configure")
    assert template.messages(configure_vars()) == template.messages(configure_vars())
    assert PromptLibrary().get("retrieval/configure").messages(configure_vars()) == \
        template.messages(configure_vars())


def test_passage_comes_first_and_both_stages_share_a_prefix(library):
    configure = library.get("retrieval/configure").messages(configure_vars())
    query = library.get("retrieval/query").messages(query_vars())
    assert configure[0] == query[0]  # same system message
    c_user, q_user = configure[1]["content"], query[1]["content"]
    prefix = os.path.commonprefix([c_user, q_user])
    assert PASSAGE in prefix
    # Nothing but the passage header comes before the passage.
    for user in (c_user, q_user):
        head = user[: user.index(PASSAGE)]
        assert len(head) < 80
        assert "Task" not in head and CANDIDATES[0] not in head


def test_template_syntax_in_the_passage_stays_literal(library):
    passage = "Compute {{ 7*7 }} then {% for x in y %}loop{% endfor %} and {# note #} and {{ passage }}."
    c_user = library.get("retrieval/configure").messages(configure_vars(passage))[1]["content"]
    q_user = library.get("retrieval/query").messages(query_vars(passage))[1]["content"]
    for user in (c_user, q_user):
        assert passage in user
        assert "49" not in user


def test_template_syntax_in_persona_text_stays_literal(library):
    variables = configure_vars()
    variables["candidates"] = ["A hacker who types {{ 7*7 }} and {% raw %}"]
    user = library.get("retrieval/configure").messages(variables)[1]["content"]
    assert "A hacker who types {{ 7*7 }} and {% raw %}" in user


@pytest.mark.parametrize("name, variables, missing", [
    ("retrieval/query", {k: v for k, v in query_vars().items() if k != "character"}, "character"),
    ("retrieval/query", {k: v for k, v in query_vars().items() if k != "query_language"}, "query_language"),
    ("retrieval/configure", {k: v for k, v in configure_vars().items() if k != "candidates"}, "candidates"),
    ("retrieval/configure", {k: v for k, v in configure_vars().items() if k != "passage"}, "passage"),
])
def test_missing_variable_is_a_user_error_naming_it(library, name, variables, missing):
    with pytest.raises(UserError) as info:
        library.get(name).messages(variables)
    message = str(info.value)
    assert f"'{missing}'" in message
    assert name in message
    assert "\n" not in message


def test_configure_output_schema_has_the_reports_enums(library):
    schema = library.get("retrieval/configure").output_schema
    json.dumps(schema)  # plain JSON types only
    assert schema["type"] == "object"
    props = schema["properties"]
    assert props["Question_Type"]["enum"] == ["keywords", "acquire_knowledge", "summary", "yes_or_no",
                                              "background"]
    assert props["Difficulty"]["enum"] == ["high_school", "university", "phd"]
    assert props["Character"]["type"] == "string"
    assert sorted(schema["required"]) == ["Character", "Difficulty", "Question_Type"]
    assert schema["additionalProperties"] is False
    # The row contract's constants agree with the template.
    assert tuple(props["Question_Type"]["enum"]) == QUESTION_TYPES
    assert tuple(props["Difficulty"]["enum"]) == DIFFICULTIES


def test_query_output_schema(library):
    schema = library.get("retrieval/query").output_schema
    json.dumps(schema)
    assert schema["type"] == "object"
    assert schema["required"] == ["Query"]
    assert schema["properties"]["Query"]["type"] == "string"


def test_output_schema_validates_with_jsonschema(library):
    import jsonschema

    for name in ("retrieval/configure", "retrieval/query"):
        jsonschema.Draft202012Validator.check_schema(library.get(name).output_schema)
    validator = jsonschema.Draft202012Validator(library.get("retrieval/configure").output_schema)
    assert validator.is_valid({"Character": "x", "Question_Type": "summary", "Difficulty": "phd"})
    assert not validator.is_valid({"Character": "x", "Question_Type": "essay", "Difficulty": "phd"})


def test_unknown_template_is_a_user_error(library):
    with pytest.raises(UserError, match="not found"):
        library.get("retrieval/nope")


def test_syntax_error_is_a_user_error(tmp_path):
    _write_template(tmp_path, "t/broken", "{% block system %}{% if %}{% endblock %}")
    with pytest.raises(UserError, match="t/broken"):
        PromptLibrary(tmp_path).get("t/broken")


def test_missing_block_is_a_user_error(tmp_path):
    _write_template(tmp_path, "t/noblocks", "{% block system %}s{% endblock %}{% block user %}u{% endblock %}")
    template = PromptLibrary(tmp_path).get("t/noblocks")
    assert template.messages({}) == [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    with pytest.raises(UserError, match="output_schema"):
        _ = template.output_schema


def test_non_json_schema_is_a_user_error(tmp_path):
    _write_template(tmp_path, "t/badschema", "{% block output_schema %}{type: object}{% endblock %}")
    with pytest.raises(UserError, match="must be JSON"):
        _ = PromptLibrary(tmp_path).get("t/badschema").output_schema


@pytest.mark.parametrize("expression", [
    "''.__class__.__mro__[1].__subclasses__()",
    "''.__class__.__mro__",
    "(1).__class__.__base__.__subclasses__()",
    "cycler.__init__.__globals__.os.popen('touch MARKER').read()",
    "lipsum.__globals__['os'].popen('touch MARKER').read()",
    "self.__init__.__globals__",
    "namespace.__init__.__globals__",
    "items.append('x')",
])
def test_sandbox_escape_is_refused(tmp_path, expression):
    marker = tmp_path / "pwned"
    expression = expression.replace("MARKER", str(marker))
    _write_template(tmp_path / "prompts", "evil/stage",
                    "{% block system %}{{ " + expression + " }}{% endblock %}{% block user %}u{% endblock %}")
    template = PromptLibrary(tmp_path / "prompts").get("evil/stage")
    try:
        messages = template.messages({"items": []})
    except UserError as exc:
        assert "unsafe" in str(exc)
    else:
        rendered = messages[0]["content"]
        assert "subclasses" not in rendered and "<class" not in rendered and "__globals__" not in rendered
        assert "function" not in rendered
    assert not marker.exists()


def test_sha256_is_stable_and_changes_with_the_text(tmp_path):
    root = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, root)
    first = PromptLibrary(root)
    query_sha = first.get("retrieval/query").sha256
    configure_sha = first.get("retrieval/configure").sha256
    assert len(query_sha) == 64 and int(query_sha, 16) >= 0
    assert query_sha != configure_sha
    # Same text -> same hash, here and in the shipped folder.
    assert PromptLibrary(root).get("retrieval/query").sha256 == query_sha
    assert PromptLibrary().get("retrieval/query").sha256 == query_sha

    path = root / "retrieval" / "query.j2"
    path.write_text(path.read_text(encoding="utf-8").replace("one search query", "one short search query"),
                    encoding="utf-8")
    second = PromptLibrary(root)
    assert second.get("retrieval/query").sha256 != query_sha
    assert second.get("retrieval/configure").sha256 == configure_sha


def test_sha256_changes_when_a_partial_changes(tmp_path):
    root = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, root)
    before = {n: PromptLibrary(root).get(n).sha256 for n in ("retrieval/configure", "retrieval/query")}
    partial = root / "retrieval" / "_system.j2"
    partial.write_text(partial.read_text(encoding="utf-8") + " Be brief.", encoding="utf-8")
    library = PromptLibrary(root)
    for name, sha in before.items():
        assert library.get(name).sha256 != sha
    assert "Be brief." in library.get("retrieval/query").messages(query_vars())[0]["content"]


def test_the_shared_json_partial_counts_in_every_hash_that_includes_it(tmp_path):
    """prompts/_json_system.j2 lives outside the task folders and is included by six tasks."""
    root = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, root)
    including = ["sts/write", "bitext/translate", "matching/write", "classification/example"]
    before = {n: PromptLibrary(root).get(n).sha256 for n in [*including, "retrieval/query"]}
    shared = root / "_json_system.j2"
    shared.write_text(shared.read_text(encoding="utf-8") + " Answer in JSON only.", encoding="utf-8")
    after = {n: PromptLibrary(root).get(n).sha256 for n in before}
    assert all(after[n] != before[n] for n in including)
    assert after["retrieval/query"] == before["retrieval/query"]  # it does not include the shared partial
