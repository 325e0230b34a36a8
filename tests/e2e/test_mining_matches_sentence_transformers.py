"""`mine_negatives` picks the same negatives as sentence-transformers' `mine_hard_negatives`.

Real text from this machine (the opening paragraphs of the Python standard library's module
docstrings, split into anchor = first sentence, positive = the rest), the real built-in
all-MiniLM-L6-v2, and both miners on the very same vectors: we embed once and hand the vectors
to sentence-transformers through its own embedding cache (`cache_folder`), under the file names
it derives from the model, prompts and texts. Its corpus is what it builds by default: the
de-duplicated positives, in order of first appearance.
"""

from __future__ import annotations

import ast
import hashlib
import random
import re
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from synthgen.config.quality import MiningConfig
from synthgen.mining.hard_negatives import mine_negatives
from synthgen.engines.models import resolve_model

N_PAIRS = 64


def stdlib_pairs(limit: int = N_PAIRS) -> list[tuple[str, str]]:
    """(first sentence, rest) of the first multi-sentence docstring paragraph of stdlib modules."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    pairs: dict[str, str] = {}
    for path in sorted(lib.glob("*.py")) + sorted(lib.glob("*/__init__.py")):
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for paragraph in re.split(r"\n\s*\n", doc or ""):
            match = re.match(r"(.{20,200}?[a-z]\.)\s+([A-Z].{40,})$", " ".join(paragraph.split()))
            if match:
                if match.group(1) not in pairs and match.group(2) not in pairs.values():
                    pairs[match.group(1)] = match.group(2)[:400]
                break
        if len(pairs) == limit:
            break
    if len(pairs) < 40:
        pytest.skip(f"only {len(pairs)} docstring pairs in this Python's standard library sources")
    return list(pairs.items())


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    st = pytest.importorskip("sentence_transformers")
    from datasets import Dataset

    model = st.SentenceTransformer(resolve_model("builtin:all-minilm-l6-v2"), device="cpu")
    pairs = stdlib_pairs()
    queries, positives = [a for a, _ in pairs], [p for _, p in pairs]
    corpus = list(dict.fromkeys(positives))  # sentence-transformers' corpus when none is given
    vectors = {name: model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
               for name, texts in (("query", queries), ("corpus", corpus))}
    cache = tmp_path_factory.mktemp("st-cache")
    model_name = model.model_card_data.base_model or ""
    for name, texts in (("query", queries), ("corpus", corpus)):
        digest = hashlib.sha256(repr((model_name, None, None, texts)).encode()).hexdigest()
        np.save(cache / f"{name}_embeddings_{digest}.npy", vectors[name])
    dataset = Dataset.from_dict({"anchor": queries, "positive": positives})
    return model, dataset, corpus, vectors, cache


# (knobs, the rules that must skip something here, so that the comparison exercises them)
SETTINGS = [
    (dict(relative_margin=0.05), ["relative_margin"]),
    (dict(absolute_margin=0.1), ["absolute_margin"]),
    (dict(range_min=2, range_max=20), ["range_min"]),
    (dict(max_score=0.8), []),
    (dict(max_score=0.4, range_min=1), ["max_score", "range_min"]),
    (dict(relative_margin=0.05, sampling_strategy="random"), ["relative_margin"]),
]


@pytest.mark.parametrize("knobs, biting", SETTINGS,
                         ids=[",".join(f"{a}={b}" for a, b in knobs.items()) for knobs, _ in SETTINGS])
def test_same_negatives_as_sentence_transformers(setup, knobs, biting):
    from sentence_transformers.util import mine_hard_negatives

    model, dataset, corpus, vectors, cache = setup
    random.seed(1234)  # sentence-transformers samples with the global `random`; we use Random(seed)
    theirs = mine_hard_negatives(dataset, model, num_negatives=3, output_format="n-tuple", output_scores=True,
                                 include_positives=False, cache_folder=str(cache), verbose=False, **knobs)
    assert len(list(cache.iterdir())) == 2, "sentence-transformers re-embedded instead of using our vectors"

    config = MiningConfig(**{"relative_margin": None, **knobs, "seed": 1234})
    positive_ids = [corpus.index(p) for p in dataset["positive"]]
    ours = mine_negatives(vectors["query"], vectors["corpus"], positive_ids, config)

    expected = {row["anchor"]: ([row[f"negative_{i}"] for i in (1, 2, 3)], row["scores"]) for row in theirs}
    got = {q: ([corpus[j] for j in negs], scores) for q, negs, scores
           in zip(dataset["anchor"], ours.negatives, ours.negative_scores) if len(negs) == 3}
    assert len(got) >= 10, f"too few complete rows to compare: {ours.advice()}"
    assert got.keys() == expected.keys()
    for query, (negatives, scores) in got.items():
        assert negatives == expected[query][0], query
        assert scores == pytest.approx(expected[query][1][1:], abs=1e-5)
    complete = [i for i, negs in enumerate(ours.negatives) if len(negs) == 3]
    st_positive = [row["scores"][0] for row in theirs]
    assert ours.positive_scores[complete] == pytest.approx(st_positive, abs=1e-5)
    for rule in biting:
        assert ours.report["candidates_skipped_by_rule"][rule] > 0, f"{rule} skipped nothing: a weak test"
