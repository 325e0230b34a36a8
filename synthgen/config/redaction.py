"""Secrets kept out of everything synthgen writes or prints.

A run needs two kinds of secret: the API key of an `openai` engine server, which synthgen
reads from the environment variable that `generator.api_key_env` names, and credentials a
user may have put into `generator.base_url` (`https://user:password@host/v1`, or
`?api_key=...` for servers that take the key as a query parameter). Both are *used*
(the key goes into the `Authorization` header, the URL is the one requested), and neither
may reach a manifest, a `state.json`, a dataset card, a report, a log line or an error
message. This module holds the rules, each in one place:

- `looks_like_key(text)`: whether a value is a key itself. `generator.api_key_env` must be
  a variable's NAME: a value that looks like a key is refused without being echoed, and
  error messages do not show values that look like one (`shown_value`).
- `redact_url(url)`: the URL as synthgen writes and prints it, credentials replaced by
  `***` (`REDACTED`). The recipe's persisted form (`Recipe.to_dict`: manifest, run
  fingerprint, card) and every log and error line of the `openai` engine go through it.
  It is deterministic and idempotent (`redact_url(redact_url(u)) == redact_url(u)`), so
  a run started with one password resumes with another: the fingerprint holds neither.
- `Scrubber`: replaces known secret values (the key, the URL's credentials) in free text
  a server or a network library produced, in their raw, escaped and URL-encoded forms.
- `redact_logged_urls(logger)`: the URLs in another library's log records go through
  `redact_url` too (httpx logs every request's URL at INFO level).
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

REDACTED = "***"

# Prefixes with which providers issue keys (OpenAI, Anthropic, Stripe: sk-/sk_/rk_;
# Hugging Face hf_; Groq gsk_; Fireworks fw_; xAI xai-; AWS AKIA/ASIA; GitHub ghp_, gho_,
# ghu_, ghs_, ghr_, github_pat_; GitLab glpat-; Google AIza; Replicate r8_; Perplexity pplx-;
# NVIDIA nvapi-; Cerebras csk-; Slack xox?-). A value is a key when 16 or more characters
# follow one of them (every such key is longer; a variable name rarely starts so).
KEY_PREFIXES = ("sk-", "sk_", "rk_", "hf_", "gsk_", "fw_", "xai-", "AKIA", "ASIA", "ghp_", "gho_", "ghu_",
                "ghs_", "ghr_", "github_pat_", "glpat-", "AIza", "r8_", "pplx-", "nvapi-", "csk-", "xoxb-",
                "xoxp-", "xoxa-")
PREFIX_TAIL = 16
RANDOM_RUN = 20  # letters and digits in a row, mixed like a random string (see looks_like_key)
ONE_CASE_RUN = 32  # letters of one case and digits in a row (see looks_like_key)
# Query parameters that hold no secret: kept in what synthgen writes (Azure's api-version).
PUBLIC_PARAMETERS = frozenset({"api-version", "api_version"})
SCRUB_MIN_CHARS = 4  # shorter values ("a", "1") are not replaced in free text: they are everywhere

_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_RUNS = re.compile(r"[A-Za-z0-9]+")
_TOKENS = re.compile(r"[^\s'\"`\[\](){}<>,;:=@?&#|\\]+")


def looks_like_key(text: str) -> bool:
    """Whether `text` looks like an API key rather than a name. It does when

    1. it starts with a known provider prefix (`KEY_PREFIXES`: sk-, hf_, gsk_, AKIA, ...)
       followed by 16 or more characters; or
    2. it holds a run of 20 or more letters and digits (between `_`, `-`, `.`, ...) that
       mixes at least two of upper case, lower case and digits, switches between them at
       least twice every five characters, and has fewer than two vowels (a, e, i, o, u, y)
       in five letters. A random string switches about three times in five and has one
       vowel in four letters; words and CamelCase names switch where a word starts only,
       or have the vowels of words (`ThisIsMyVeryLongVariableName2`); or
    3. it holds a run of 32 or more letters of one case and digits, at least 4 of them
       digits (hex digests, lower-case keys).

    So `OPENAI_API_KEY`, `TOGETHER_API_KEY`, `MY_SERVICE_TOKEN_2` and
    `MyServiceToken2024ProdAccount` are names; `hf_AbCdEf0123456789AbCdEf0123456789`,
    `Zq8vK2mXr7TbW4nLp9sY` and 32 hex digits are keys. The rule errs both ways now and then
    (a random 20-character string escapes it about one time in twelve, a 48-character one
    one time in a hundred): it catches a key pasted where a name belongs, it is no scanner.
    """
    if any(text.startswith(prefix) and len(text) - len(prefix) >= PREFIX_TAIL for prefix in KEY_PREFIXES):
        return True
    return any(_random_run(run) or _one_case_run(run) for run in _RUNS.findall(text))


def holds_key(text: str) -> bool:
    """Whether any word of `text` (split at spaces, quotes, brackets, `=`, `:`, `@`, ...)
    looks like a key."""
    return any(looks_like_key(token) for token in _TOKENS.findall(text))


def _random_run(run: str) -> bool:
    if len(run) < RANDOM_RUN:
        return False
    classes = [0 if c.isdigit() else 1 if c.islower() else 2 for c in run]
    switches = sum(a != b for a, b in zip(classes, classes[1:]))
    letters = [c for c in run.lower() if c.isalpha()]
    vowels = sum(c in "aeiouy" for c in letters)
    return len(set(classes)) >= 2 and 5 * switches >= 2 * len(run) and 5 * vowels < 2 * len(letters)


def _one_case_run(run: str) -> bool:
    return len(run) >= ONE_CASE_RUN and (run.islower() or run.isupper()) and sum(c.isdigit() for c in run) >= 4


def redact_url(url: str) -> str:
    """`url` as synthgen writes and prints it: the `user:password@` part becomes `***@`,
    the value of every query parameter but `api-version` becomes `***`, and so do a
    fragment and path segments that look like keys (`looks_like_key`). The scheme, host,
    port and the rest of the path stay, so a message still says which server it means.

        https://me:pw@api.example.com/v1?api_key=k&api-version=2024-06-01
        -> https://***@api.example.com/v1?api_key=***&api-version=2024-06-01

    A URL that does not parse becomes `***` entirely."""
    return _split_secrets(url)[0]


def url_secrets(url: str) -> list[str]:
    """The values `redact_url` hides in `url` (for a `Scrubber`)."""
    return _split_secrets(url)[1]


def _split_secrets(url: str) -> tuple[str, list[str]]:
    """The redacted URL and the secrets taken out of it (one rule for both)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED, [url]
    secrets: list[str] = []
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if userinfo != REDACTED:
            secrets += [userinfo, *userinfo.split(":", 1)]
        netloc = f"{REDACTED}@{host}"
    segments = []
    for segment in parts.path.split("/"):
        if looks_like_key(unquote(segment)):
            secrets.append(segment)
            segment = REDACTED
        segments.append(segment)
    items = []
    for item in parts.query.split("&") if parts.query else []:
        name, eq, value = item.partition("=")
        if not eq:  # a bare `?TOKEN`
            name, value = "", item
        elif unquote_plus(name).lower() in PUBLIC_PARAMETERS:
            items.append(item)
            continue
        if value and value != REDACTED:
            secrets.append(value)
        items.append(f"{name}={REDACTED}" if eq else REDACTED)
    fragment = parts.fragment
    if fragment and fragment != REDACTED:
        secrets.append(fragment)
    fragment = REDACTED if fragment else ""
    redacted = urlunsplit((parts.scheme, netloc, "/".join(segments), "&".join(items), fragment))
    return redacted, secrets


def shown_value(key: str, value: object) -> str:
    """How an error message may show the value of recipe key `key`: never for
    `api_key_env` (it is refused when it looks like a key), redacted for a `base_url`,
    and not at all when it looks like a key (`holds_key`)."""
    if key.endswith("api_key_env"):
        return "(value not shown)"
    if key.endswith("base_url") and isinstance(value, str):
        return repr(redact_url(value))
    text = repr(value)
    return "(value not shown: it looks like a key)" if holds_key(text) else text


class Scrubber:
    """Replaces secret values in free text (a server's error body, an exception message)
    with `***`: each value in its raw, `repr`-escaped, JSON-escaped and URL-encoded
    (`quote`, `quote_plus`) and -decoded forms. Values shorter than `SCRUB_MIN_CHARS` are
    left alone. Its repr shows no value."""

    def __init__(self, secrets: list[str]):
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) < SCRUB_MIN_CHARS:
                continue
            forms |= {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret), quote(secret, safe=""),
                      quote_plus(secret), unquote(secret), unquote_plus(secret)}
        self._forms = sorted((f for f in forms if len(f) >= SCRUB_MIN_CHARS), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, REDACTED)
        return text

    def __repr__(self) -> str:
        return "Scrubber()"


def redact_urls_in(text: str) -> str:
    """`text` with every URL in it redacted (`redact_url`)."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text) if "://" in text else text


class _RedactURLs(logging.Filter):
    """Redacts the URLs in a log record's message and arguments before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_urls_in(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_urls_in(str(arg)) if "://" in str(arg) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact_urls_in(str(v)) if "://" in str(v) else v for k, v in record.args.items()}
        return True


def redact_logged_urls(name: str) -> None:
    """Make logger `name` (a library's, e.g. "httpx") redact the URLs it logs; once."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _RedactURLs) for f in logger.filters):
        logger.addFilter(_RedactURLs())
