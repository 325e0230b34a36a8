"""The judge's score from one token's log-probabilities: p(yes) / (p(yes) + p(no)).

Qwen3-Reranker reads the logits of the tokens "yes" and "no" at the answer's first
position and normalizes the two. An engine gives the top-k log-probabilities by decoded
token text, and tokenizers spell the answer in several ways ("yes", " yes", "Yes", "YES",
SentencePiece's "▁yes", GPT-2's "Ġyes"): every spelling of each word counts, summed
(log-sum-exp). A word missing from the top k is below every listed token, so the smallest
listed log-probability bounds it from above and stands in for it; neither word listed
means the judge said nothing usable: `None`.
"""

from __future__ import annotations

import math
from typing import Mapping

YES, NO = "yes", "no"
_MARKS = "▁Ġ \t\n\"'.,:;!*`"


def answer_word(token: str) -> str | None:
    """ "yes" or "no" if `token` spells that answer (any case, leading space or marker,
    trailing punctuation), else None."""
    word = token.strip(_MARKS).lower()
    return word if word in (YES, NO) else None


def yes_probability(top_logprobs: Mapping[str, float]) -> float | None:
    """p = exp(lp_yes) / (exp(lp_yes) + exp(lp_no)) over one position's top tokens; None
    when neither answer is among them."""
    found: dict[str, list[float]] = {YES: [], NO: []}
    for token, logprob in top_logprobs.items():
        word = answer_word(token)
        if word is not None and math.isfinite(logprob):
            found[word].append(float(logprob))
    if not found[YES] and not found[NO]:
        return None
    floor = min((v for v in top_logprobs.values() if math.isfinite(v)), default=-100.0)
    yes = _logsumexp(found[YES]) if found[YES] else floor
    no = _logsumexp(found[NO]) if found[NO] else floor
    difference = no - yes  # p = e^yes / (e^yes + e^no) = 1 / (1 + e^(no - yes)), without overflow
    if difference > 0:
        return math.exp(-difference) / (1.0 + math.exp(-difference))
    return 1.0 / (1.0 + math.exp(difference))


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))
