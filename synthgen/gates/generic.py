"""Generic text: a text that names or describes the task instead of doing it.

Asked for "S1, a sentence" a small generator answers "one sentence"; asked for a positive
document it writes "This is a document that answers the user's query"; it leaves
template slots ("<text>", "[insert product name]") and filler ("lorem ipsum") in place.
Such rows pass every embedding gate (two placeholders are close to each other) and teach
nothing. E5-mistral (arXiv 2401.00368) defines each task by what the texts must *be*;
Gecko (arXiv 2403.20327) shows that an LLM's own examples need filtering before they
teach. This module is the one detector every task's `generic` gate uses; the rules, in
the order they are tried (the first that matches names the row's `generic_rule`):

- `placeholder`: a slot of a template anywhere in the text: angle, square or curly
  brackets around an ellipsis or around at most four words that include a text-unit
  word ("<text>", "[...]", "{query}", "[insert your sentence here]"), or "lorem ipsum".
- `describes_itself`: the text opens by calling itself a text unit: "This is a document
  that ...", "Here is the translation", "This sentence is about ...", "A document that
  answers the query", "Dies ist ein Satz", "Ceci est un texte", "Este es un documento".
- `names_a_text_unit`: every word of the text is a text-unit word ("sentence", "query",
  "text", "example", ... in English, German, French, Spanish, Portuguese and Italian),
  an article, an ordinal or number ("first", "two", "3"), a role word ("input",
  "positive", "similar") or a placeholder name such as "S1", "Q2", "D3": "one sentence",
  "two sentences", "a query", "sentence 1", "the first sentence", "example text", "S1".
  Real text always has a word that is about something.
- `extra_phrase`: the whole text (normalized) is one of `gates.generic.phrases`, phrases
  a recipe adds for its own languages or generator.
- `no_words`: nothing but punctuation and space.

Texts are compared after `normalize_text` (NFKC, casefold, punctuation as spaces), so
"Sentence #1." and "sentence 1" are one text. A tag ("<b>") or a citation ("[12]") is
no slot: the brackets must hold an ellipsis or a text-unit word. Code is never checked
(the gate skips code queries: "Callable[..., T]" is no template).
"""

from __future__ import annotations

import re
from typing import Iterable

from synthgen.corpus.text import normalize_text

# Words that name a piece of text, in English, German, French, Spanish, Portuguese and
# Italian (casefolded). Kept to words that rarely name anything else: "question", "title"
# or "review" are role words below, so "Questions and Answers" stays a real title.
UNIT_WORDS = frozenset("""
sentence sentences text texts query queries document documents doc docs passage passages paragraph
paragraphs example examples sample samples string strings phrase phrases word words placeholder placeholders
snippet snippets excerpt excerpts translation translations
satz sätze saetze text texte beispiel beispiele anfrage anfragen dokument dokumente absatz absätze
übersetzung übersetzungen beispielsatz beispielsätze beispieltext beispieltexte platzhalter platzhaltertext
phrase phrases texte textes exemple exemples requête requêtes requete requetes paragraphe paragraphes
traduction traductions
frase frases oración oraciones oracion texto textos ejemplo ejemplos consulta consultas documento
documentos párrafo párrafos parrafo traducción traduccion
exemplo exemplos tradução traducao
testo testi esempio esempi traduzione
""".split())

# Words that may stand beside a unit word without making the text about anything:
# articles, ordinals and numbers, possessives, role words ("input", "positive",
# "similar", "question"), and the copulas of "here is the text".
FILLER_WORDS = frozenset("""
a an the this that these those some another other one two three four five six seven eight nine ten
first second third fourth fifth last next final previous following above below same
my your our their its his her number nr num
dummy test generic random simple short long new original
input output positive negative hard soft similar dissimilar related unrelated matching relevant irrelevant
source target translated user search high low score question answer title label item response statement
description content pair
here is are of for with and or to in
ein eine einer eines einen der die das den dem des erste erster erstes zweite zweiter dritte dritter
zwei drei vier fünf nummer mit und oder hier ist sind
un une le la les l d de des du premier première premiere deuxième deuxieme second seconde troisième
troisieme deux trois quatre cinq numéro numero et ou ici est sont
uno una unos unas el los las del primer primero primera segundo segunda tercer tercero tercera dos tres
cuatro cinco número y o aquí aqui es son
um uma o os as do da primeiro primeira terceiro terceira dois duas três e é
il lo gli prima primo seconda terza terzo due tre quattro cinque è
""".split())

# "S1", "Q2", "D3", "T1": the names a prompt gives its slots.
_SLOT_NAME = re.compile(r"^[a-z]\d{1,2}$")
_NUMBER = re.compile(r"^\d+$")

_PLACEHOLDER = re.compile(r"[<\[{]{1,2}\s*([^<>\[\]{}]{0,60}?)\s*[>\]}]{1,2}")
_ELLIPSIS = re.compile(r"^(?:\.{2,}|…+)$")
_LOREM = re.compile(r"\blorem\s+ipsum\b", re.IGNORECASE)

# "this is a ...", "here is the ...", and their translations (normalized: "c'est" -> "c est").
_SELF_OPENERS = ("this is", "this was", "here is", "here are", "these are", "below is", "the following is",
                 "dies ist", "das ist", "hier ist", "ceci est", "c est", "voici", "este es", "esta es", "esto es",
                 "aquí está", "aqui esta", "este é", "esta é", "isto é", "questo è", "questa è", "ecco")
# "this sentence is ...": the units a text calls itself ("this document describes ..." opens
# real documents, so "document" counts only after an opener: "this is a document that ...").
_SELF_SUBJECTS = frozenset("sentence text query passage paragraph translation snippet".split())
_SELF_VERBS = frozenset("is describes contains talks discusses shows answers explains says".split())
# "a document that answers ...", "a sentence about ...": a text announced, not written.
_ANNOUNCING = frozenset("that which about with where answering describing containing explaining".split())


def generic_rule(text: str, extra_phrases: Iterable[str] = ()) -> str:
    """The rule that finds `text` generic (see the module docstring), or "" for real text."""
    if _LOREM.search(text) or any(_is_slot(m.group(1)) for m in _PLACEHOLDER.finditer(text)):
        return "placeholder"
    words = normalize_text(text).split()
    if not words:
        return "no_words"
    if _describes_itself(words):
        return "describes_itself"
    if any(_is_unit(w) for w in words) and all(_is_unit(w) or w in FILLER_WORDS or _NUMBER.match(w) for w in words):
        return "names_a_text_unit"
    if extra_phrases and " ".join(words) in {normalize_text(p) for p in extra_phrases}:
        return "extra_phrase"
    return ""


def is_generic_text(text: str, extra_phrases: Iterable[str] = ()) -> bool:
    return bool(generic_rule(text, extra_phrases))


def _is_unit(word: str) -> bool:
    return word in UNIT_WORDS or bool(_SLOT_NAME.match(word))


def _is_slot(inside: str) -> bool:
    """Whether the inside of a bracket pair is a template slot, not a citation or a tag."""
    if _ELLIPSIS.match(inside.strip()):
        return True
    words = normalize_text(inside).split()
    return 0 < len(words) <= 4 and any(_is_unit(w) for w in words)


def _describes_itself(words: list[str]) -> bool:
    """"this is a document that ...", "this sentence is about ...": the text calls itself a text."""
    text = " ".join(words)
    for opener in _SELF_OPENERS:
        if text.startswith(opener + " "):
            for word in text[len(opener) + 1:].split()[:4]:  # "a short example sentence"
                if word in UNIT_WORDS:
                    return True
                if word not in FILLER_WORDS:
                    break
    if words[0] in ("this", "a", "an"):
        following = _SELF_VERBS if words[0] == "this" else _ANNOUNCING
        subjects = _SELF_SUBJECTS if words[0] == "this" else UNIT_WORDS
        for i, word in enumerate(words[1:4], start=1):
            if word in subjects:
                return i + 1 < len(words) and words[i + 1] in following
            if word not in FILLER_WORDS:
                break
    return False
