"""Gates on what the generated texts mean, not only on their form.

Junk passes the form gates: an STS row "one sentence" / "two sentences" / "three
sentences" is in English, unique, and its embeddings are ordered; a classification row
whose instruction is `classify_sentiment_of_product_reviews` parses. E5-mistral (arXiv
2401.00368) defines each task by what its texts must be; Gecko (arXiv 2403.20327) shows
that an LLM's examples teach only once they are filtered (it relabels and filters its
positives with an LLM; these gates are the cheap, model-free or embedding-only part).

- `GenericTextFilter` (`generic_text`): a generated text names or describes the task
  instead of doing it (`synthgen/gates/generic.py`); each task declares which of its
  fields the generator wrote (`generated_fields`); code queries are not checked.
- `InstructionFilter` (`instruction_not_a_sentence`): the row's instruction is a sentence,
  not an identifier.
- `PositiveLengthFilter` (`positive_shorter_than_query`): a generated positive document
  has more words than its query.
- `TopicFilter` (`off_topic`): a text written about a corpus document's topic ranks that
  document within the top fraction of the corpus (a rank: the same under every embedder).

The STS order (cosine(S1, S2) above cosine(S1, S3)) is the margin gate's rule for rows with
generated negatives (`synthgen/gates/cosine.py`); the bitext judge is `translation.py`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from synthgen.gates.base import GateContext, Verdict
from synthgen.gates.cosine import positive_ranks
from synthgen.gates.generic import generic_rule
from synthgen.config.languages import is_code_language
from synthgen.config.quality import GenericGateConfig, InstructionGateConfig, PositiveLengthGateConfig, TopicGateConfig
from synthgen.corpus.text import is_sentence


class GenericTextFilter:
    name = "generic"

    def __init__(self, config: GenericGateConfig, fields: Sequence[str]):
        self.phrases = tuple(config.phrases)
        self.fields = tuple(fields)

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        reasons, where, rules = [], [], []
        for row in rows:
            found = next(((name, rule) for name, text in self._texts(row)
                          if (rule := generic_rule(text, self.phrases))), ("", ""))
            reasons.append("generic_text" if found[1] else "")
            where.append(found[0] or None)
            rules.append(found[1] or None)
        return Verdict(reasons, {"generic_field": where, "generic_rule": rules})

    def _texts(self, row: dict[str, Any]):
        for name in self.fields:
            if name == "query" and is_code_language(row["query_language"]):
                continue  # a code snippet is no text to judge here
            value = row[name]
            if isinstance(value, list):
                yield from ((f"{name}[{i}]", text) for i, text in enumerate(value))
            else:
                yield name, value


class InstructionFilter:
    name = "instruction"

    def __init__(self, config: InstructionGateConfig):
        self.min_words = config.min_words

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        verdicts: dict[str, bool] = {}  # a label set's instruction is shared by many rows
        reasons = []
        for row in rows:
            instruction = row["instruction"]
            if instruction not in verdicts:
                verdicts[instruction] = is_sentence(instruction, self.min_words)
            reasons.append("" if verdicts[instruction] else "instruction_not_a_sentence")
        return Verdict(reasons, {"instruction": [row["instruction"] for row in rows]})


class PositiveLengthFilter:
    name = "positive_length"

    def __init__(self, config: PositiveLengthGateConfig):
        self.min_ratio = config.min_ratio

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        query_words = [len(row["query"].split()) for row in rows]
        positive_words = [len(row["positive"].split()) for row in rows]
        reasons = ["" if p > self.min_ratio * q else "positive_shorter_than_query"
                   for q, p in zip(query_words, positive_words)]
        return Verdict(reasons, {"query_words": query_words, "positive_words": positive_words})


class TopicFilter:
    name = "topic"

    def __init__(self, config: TopicGateConfig):
        self.top_fraction = config.top_fraction

    def max_rank(self, documents: int) -> int:
        """Ranks below this pass: the top `top_fraction` of `documents`, at least the top 1."""
        return max(1, math.ceil(self.top_fraction * documents - 1e-9))

    def check(self, rows: list[dict[str, Any]], context: GateContext) -> Verdict:
        ranks = positive_ranks(rows, context)  # rank of each row's source document for its text
        limit = self.max_rank(len(context.corpus_ids))
        reasons = ["" if rank < limit else "off_topic" for rank in ranks]
        return Verdict(reasons, {"source_rank": [int(r) for r in ranks], "max_rank": [limit] * len(rows)})
