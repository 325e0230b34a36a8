"""The rules that keep secrets out of what synthgen writes and prints (synthgen/config/redaction.py):
which values look like keys, how a URL's credentials are redacted, and where both apply
(the recipe's checks and persisted form, error messages, the `openai` engine's key).

Every key and password here is made up.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote, quote_plus

import pytest
from scripted_server import FAST, Reply, ScriptedServer, completion, generator, request

from synthgen.engines.openai_engine import EngineError, OpenAIGenerator
from synthgen.errors import RecipeError, UserError
from synthgen.run.pipeline import _fingerprint_recipe
from synthgen.config.loader import build_recipe, load_recipe
from synthgen.config.recipe import redact_recipe
from synthgen.config.run import GeneratorConfig
from synthgen.config.redaction import REDACTED, Scrubber, holds_key, looks_like_key, redact_url, url_secrets

FAKE_KEY = "hf_AbCdEf0123456789AbCdEf0123456789"  # the example; no real key


def forms(secret: str) -> set[str]:
    """The ways a secret can be written: raw, repr- and JSON-escaped, URL-encoded."""
    return {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret), quote(secret, safe=""),
            quote_plus(secret)}


# Which values look like keys ------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "OPENAI_API_KEY", "TOGETHER_API_KEY", "MY_SERVICE_TOKEN_2", "HF_TOKEN", "GROQ_API_KEY", "AZURE_OPENAI_API_KEY",
    "AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY_2024_10_01", "hf_token", "sk_live", "MyServiceToken2024ProdAccount",
    "ThisIsMyVeryLongVariableName2", "myServiceTokenForProduction2024", "SmolLM2-135M-Instruct", "v1", "",
])
def test_variable_names_are_not_keys(name):
    assert not looks_like_key(name)


@pytest.mark.parametrize("key", [
    FAKE_KEY, "sk-proj-Zz9yXx8wVv7uUt6sSr5q", "sk_live_0000111122223333aaaa", "gsk_abcdefghijklmnop1234",
    "fw_3ZabcdefGHIJklmnOPQR", "xai-aaaabbbbccccddddeeee", "AKIAIOSFODNN7EXAMPLE", "ghp_" + "x" * 36,
    "github_pat_11AAAAAAA0bbbbbbbbbbbb", "glpat-aaaaBBBBccccDDDDeeee", "AIzaSyA-0123456789abcdefghijkl",
    "r8_0123456789abcdefABCDEF", "pplx-0123456789abcdef0123", "nvapi-0123456789abcdefghijk",
    "Zq8vK2mXr7TbW4nLp9sYd3Fh",  # no prefix: letters and digits switching like a random string
    "0f3a9c1e5b7d2a4c6e8f0a1b3c5d7e9f",  # 32 hex digits
    "MY_KEY_Zq8vK2mXr7TbW4nLp9sYd3Fh",  # a random run inside a name-like value
])
def test_keys_look_like_keys(key):
    assert looks_like_key(key)


def test_holds_key_finds_a_key_among_words():
    assert holds_key(f"['{FAKE_KEY}']") and holds_key(f"generator.api_key_env {FAKE_KEY}")
    assert not holds_key("corpus/man-pages.jsonl") and not holds_key("['en', 'de']")


# Refusing a key where a name belongs ----------------------------------------------------------

def test_a_key_as_api_key_env_is_refused_with_one_line_that_does_not_show_it():
    with pytest.raises(RecipeError) as info:
        GeneratorConfig(api_key_env=FAKE_KEY)
    message = str(info.value)
    assert message == ("recipe: generator.api_key_env: looks like a key itself (value not shown): name the "
                       "environment variable that holds it, e.g. OPENAI_API_KEY")
    assert info.value.value is None


def test_the_refusal_through_set(tmp_path):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('name = "t"\n[corpus]\npath = "x.jsonl"\n', encoding="utf-8")
    for value in (FAKE_KEY, f'"{FAKE_KEY}"', "sk-proj-Zz9yXx8wVv7uUt6sSr5q", "[1, 2]", "12345678901234567890123"):
        with pytest.raises(RecipeError) as info:
            load_recipe(recipe, [f"generator.api_key_env={value}"])
        message = str(info.value)
        assert message.startswith("recipe: generator.api_key_env: ") and "\n" not in message
        assert FAKE_KEY not in message and "Zz9yXx8w" not in message and "1234567890" not in message
    assert load_recipe(recipe, ["generator.api_key_env=MY_SERVICE_TOKEN_2"]).generator.api_key_env == \
        "MY_SERVICE_TOKEN_2"


def test_error_messages_never_show_a_key_or_url_credentials():
    with pytest.raises(RecipeError) as info:  # a key pasted as the model name
        build_recipe({"name": "t", "corpus": {"path": "x.jsonl"},
                      "generator": {"model": ["sk-proj-Zz9yXx8wVv7uUt6sSr5q"]}})
    assert "Zz9yXx8w" not in str(info.value) and "looks like a key" in str(info.value)
    with pytest.raises(RecipeError) as info:
        GeneratorConfig(base_url="ftp://me:pw-0f3a9c@h/v1?api_key=qk-0f3a9c")
    message = str(info.value)
    assert "0f3a9c" not in message and "ftp://***@h/v1?api_key=***" in message
    with pytest.raises(RecipeError, match="must be a URL like") as info:
        GeneratorConfig(base_url="http://me:pw-0f3a9c@h:port/v1")
    assert "0f3a9c" not in str(info.value)


# Redacting a URL ------------------------------------------------------------------------------

@pytest.mark.parametrize("url, redacted", [
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ("https://me:pw-0f3a9c@api.example.com/v1", "https://***@api.example.com/v1"),
    ("https://tok-0f3a9c@api.example.com/v1", "https://***@api.example.com/v1"),
    ("http://h/v1?api_key=qk&key=k2&token=t&access_token=a&sig=s", "http://h/v1?api_key=***&key=***&token=***"
                                                                    "&access_token=***&sig=***"),
    ("https://x.openai.azure.com/openai/v1?api-version=2024-06-01&api_key=k",
     "https://x.openai.azure.com/openai/v1?api-version=2024-06-01&api_key=***"),
    ("http://h/v1?BARETOKEN", "http://h/v1?***"),
    ("http://h/v1?empty=", "http://h/v1?empty=***"),
    ("http://h/v1#frag-ment", "http://h/v1#***"),
    ("http://h/keys/Zq8vK2mXr7TbW4nLp9sYd3Fh/v1", "http://h/keys/***/v1"),
    ("http://u:p%2Fw@[::1]:8000/v1", "http://***@[::1]:8000/v1"),
    ("http://[::1/v1", REDACTED),  # does not parse
])
def test_redact_url(url, redacted):
    assert redact_url(url) == redacted
    assert redact_url(redacted) == redacted  # idempotent


def test_url_secrets_are_what_redaction_hides():
    secrets = url_secrets("https://me:pw%2F0f3a9c@h/v1?api_key=qk-0f3a9c&api-version=1")
    assert "pw%2F0f3a9c" in secrets and "qk-0f3a9c" in secrets and "1" not in secrets and "h" not in secrets


def test_scrubber_replaces_every_form_and_shows_nothing_of_itself():
    secret = "pw+0f3a/9c=Q"
    scrub = Scrubber([secret, "ab"])  # too short to scrub: "ab" is everywhere
    text = " | ".join(sorted(forms(secret) | {secret + "\r", repr(secret + "\r")}))
    assert not any(form in scrub(text) for form in forms(secret))
    assert scrub("about tabs") == "about tabs"
    assert repr(scrub) == "Scrubber()"


# The recipe's persisted form ------------------------------------------------------------------

def credentials_recipe(password: str) -> dict:
    return {"name": "t", "corpus": {"path": "x.jsonl"},
            "generator": {"engine": "openai", "base_url": f"http://me:{password}@127.0.0.1:8000/v1?api_key={password}"}}


def test_to_dict_redacts_and_the_recipe_keeps_the_real_url():
    recipe = build_recipe(credentials_recipe("pw-0f3a9c"))
    assert recipe.generator.base_url == "http://me:pw-0f3a9c@127.0.0.1:8000/v1?api_key=pw-0f3a9c"
    persisted = recipe.to_dict()
    assert persisted["generator"]["base_url"] == "http://***@127.0.0.1:8000/v1?api_key=***"
    assert "pw-0f3a9c" not in json.dumps(persisted)
    assert build_recipe(persisted).to_dict() == persisted  # the persisted form reads back to itself


def test_the_fingerprint_is_deterministic_and_holds_no_password():
    first = _fingerprint_recipe(build_recipe(credentials_recipe("pw-0f3a9c")))
    assert first == _fingerprint_recipe(build_recipe(credentials_recipe("pw-0f3a9c")))
    assert first == _fingerprint_recipe(build_recipe(credentials_recipe("pw-rotated")))  # a new password resumes
    other_host = credentials_recipe("pw-0f3a9c")
    other_host["generator"]["base_url"] = other_host["generator"]["base_url"].replace("127.0.0.1", "10.0.0.2")
    assert first != _fingerprint_recipe(build_recipe(other_host))


def test_redact_recipe_cleans_an_older_manifest():
    older = {"name": "t", "generator": {"base_url": "http://me:pw-0f3a9c@h/v1", "api_key_env": FAKE_KEY}}
    cleaned = redact_recipe(older)
    assert cleaned["generator"] == {"base_url": "http://***@h/v1", "api_key_env": REDACTED}
    assert older["generator"]["api_key_env"] == FAKE_KEY  # a copy, the input stays
    assert redact_recipe({"name": "t"}) == {"name": "t"}


# The engine's key and URL ---------------------------------------------------------------------

@pytest.mark.parametrize("key, fix", [
    ("sk-test-0f3a9c1e\r", "strip the trailing carriage return / newline from SYNTHGEN_TEST_KEY"),
    ("sk-test-0f3a9c1e\r\n", "strip the trailing carriage return / newline from SYNTHGEN_TEST_KEY"),
    (" sk-test-0f3a9c1e", "strip the surrounding whitespace from SYNTHGEN_TEST_KEY"),
    ("sk-test-\x1b0f3a9c1e", "remove the control character from SYNTHGEN_TEST_KEY"),
    ("sk-test-0f3a 9c1e", "remove the space from SYNTHGEN_TEST_KEY"),
    ("sk-test-0f3a9c1e\u2019", "plain ASCII, in SYNTHGEN_TEST_KEY"),
])
def test_a_key_no_header_may_hold_stops_before_any_request(key, fix, monkeypatch, caplog):
    monkeypatch.setenv("SYNTHGEN_TEST_KEY", key)
    caplog.set_level(logging.DEBUG)
    with ScriptedServer() as server:
        gen = generator(server, api_key_env="SYNTHGEN_TEST_KEY")
        with pytest.raises(UserError) as info:
            gen.generate([request(0)])
        with pytest.raises(UserError):
            _ = gen.context_length
        assert server.received == []
    message = str(info.value)
    assert message.startswith("generator.api_key_env: the key in $SYNTHGEN_TEST_KEY ") and message.endswith(fix)
    assert "\n" not in message and "\r" not in message
    for text in (message, repr(info.value), caplog.text):
        assert "0f3a" not in text and "9c1e" not in text


def test_credentials_in_base_url_are_used_and_never_shown(monkeypatch, caplog):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    password = "pw+0f3a/9c=Q"
    encoded = quote(password, safe="")

    def echoing(index, body):  # a server that quotes the request back in its errors
        if index < 2:
            return Reply(503 if index == 0 else 400, {"error": f"bad request to /v1?api_key={encoded} ({password})"})
        return Reply(body=completion("ok"))

    caplog.set_level(logging.DEBUG)
    with ScriptedServer(echoing) as server:
        base_url = server.base_url.replace("http://", f"http://me:{encoded}@") + f"?api_key={encoded}&api-version=1"
        gen = OpenAIGenerator(base_url, "served-name", concurrency=1, backoff=FAST, request_timeout=5.0)
        outputs = gen.generate([request(0), request(1)])
        assert [r["path"] for r in server.received] == [f"/v1/chat/completions?api_key={encoded}&api-version=1"] * 3
        assert server.received[0]["headers"]["Authorization"].startswith("Basic ")  # user:password@ is Basic auth
    assert sorted(o.finish_reason for o in outputs) == ["error:400", "stop"]
    shown = f"{caplog.text} {repr(gen)}"  # httpx's own log lines too: it logs each request's URL
    assert "HTTP Request: POST http://***@127.0.0.1:" in caplog.text
    assert "api_key=***&api-version=1" in shown and "(***)" in caplog.text
    assert not any(form in shown for form in forms(password))


def test_engine_errors_show_the_redacted_url(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with ScriptedServer(lambda i, body: Reply(404, {"error": "no such model"})) as server:
        base_url = server.base_url.replace("http://", "http://me:pw-0f3a9c@") + "?key=qk-0f3a9c"
        gen = OpenAIGenerator(base_url, "served-name", backoff=FAST, request_timeout=5.0)
        with pytest.raises(EngineError) as info:
            gen.generate([request(0)])
    assert "0f3a9c" not in str(info.value)
    assert f"POST http://***@127.0.0.1:{server.server.server_address[1]}/v1/chat/completions?key=***" \
        in str(info.value)


def test_publishing_a_run_of_an_older_synthgen_redacts_its_manifest(tmp_path):
    """A manifest written before redaction existed may hold credentials: the card and the
    published manifest do not."""
    from run_folders import mixed_rows, write_finished_run

    from synthgen.publish.hub import MANIFEST_NAME, publish_run

    folder = write_finished_run(tmp_path / "run", mixed_rows())
    manifest = json.loads(folder.manifest.read_bytes())
    manifest["recipe"]["generator"].update(base_url="http://me:pw-0f3a9c@h/v1?api_key=pw-0f3a9c",
                                           api_key_env=FAKE_KEY)
    folder.manifest.write_text(json.dumps(manifest))
    publish_run(tmp_path / "run", "o/n", dry_run=tmp_path / "repo")
    for name in ("README.md", MANIFEST_NAME):
        text = (tmp_path / "repo" / name).read_text(encoding="utf-8")
        assert "http://***@h/v1?api_key=***" in text
        assert "0f3a9c" not in text and FAKE_KEY not in text
