"""Text helpers every stage shares: the comparison form of a text, list items, sentences.

`normalize_text` is the form in which texts are compared for duplicates, copies and leaks
(the exact-dedup gate, the leakage gate, brainstorm and persona dedup); `clean_list_item`
turns a generated list entry into one line; `is_sentence` tells an instruction written as a
sentence from an identifier.
"""

from __future__ import annotations

import re
import unicodedata

_PUNCTUATION = re.compile(r"[^\w\s]|_", re.UNICODE)
_ENUMERATION = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")
# What _PUNCTUATION matches among ASCII characters, for str.translate (8x faster than the regex).
_ASCII_PUNCTUATION = {c: " " for c in range(128) if _PUNCTUATION.match(chr(c))}


def normalize_text(text: str) -> str:
    """The comparison form of a text: Unicode NFKC, casefolded, punctuation and underscores
    as spaces, whitespace collapsed. "Compound_Interest?", "compound-interest" and
    "compound interest" compare equal, as people would call them duplicates."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isascii():
        return " ".join(text.translate(_ASCII_PUNCTUATION).split())
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def clean_list_item(text: object) -> str:
    """A generated list item as one line, without numbering or bullet ("2. Classify x" -> "Classify x")."""
    return _ENUMERATION.sub("", " ".join(str(text).split()))


# snake_case, camelCase / PascalCase with an inner capital, dotted.names, kebab-case-names.
_IDENTIFIER = re.compile(r"^\W*(?:\w+_\w+|[a-z]+[A-Z]\w*|[A-Z][a-z]+[A-Z]\w*|\w+\.\w+\S*|\w+-\w+-\w+\S*)\W*$")


def identifier_words(text: str) -> list[str]:
    """The words of `text` that are shaped like identifiers (snake_case, camelCase, dotted)."""
    return [word for word in text.split() if _IDENTIFIER.match(word)]


def is_sentence(text: str, min_words: int) -> bool:
    """At least `min_words` space-separated words with letters, fewer than half of them
    identifiers: "Classify the sentiment of a product review", not
    "classify_sentiment_of_product_reviews" or "classifySentiment reviews"."""
    words = [word for word in text.split() if any(c.isalpha() for c in word)]
    return len(words) >= min_words and 2 * len(identifier_words(text)) < len(words)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # lines as Python counts them


def split_lines(source: str) -> list[str]:
    """Lines with their endings, split only on \\r\\n, \\r and \\n (as `ast` counts)."""
    return _LINE.findall(source)


def dedent_block(text: str) -> str:
    """Remove the first line's indentation from every line that starts with it (a code unit
    cut from inside a class or namespace reads as if written at the top)."""
    lines = split_lines(text)
    first = lines[0] if lines else ""
    indent = first[: len(first) - len(first.lstrip(" \t"))]
    if indent:
        lines = [line[len(indent):] if line.startswith(indent) else line for line in lines]
    return "".join(lines).rstrip()
