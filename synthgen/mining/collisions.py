"""Cross-row collisions: a hard negative of one row that is another row's positive.

Mining keeps a row's own positive and its duplicates out of its negatives, but not the
positives of *other* rows. In a run where many documents have queries, a mined negative of
query A is often the positive of query B. Trained in one batch, B's positive then appears
twice among the candidates, once as B's label and once as A's hard negative, and the
contrastive loss pushes B away from its own positive (the false in-batch negatives of
llm2vec issue 178; sentence-transformers' `NoDuplicatesBatchSampler` avoids exact copies by
text only).

`CollisionIndex` clusters the distinct positives of all rows together with the corpus
documents by normalized text (exact) and MinHash near duplicates (`synthgen/corpus/near_dup.py`,
the recipe's `gates.near_dup` settings). Then:

- every row gets a `group`: the id of its positive's cluster; rows whose positives are
  exact or near duplicates share one, so a trainer can keep them out of one batch or mask
  them (the group id covers what a text key misses);
- every mined negative in a cluster that holds some row's positive *collides*; its group
  is written in the row's `negative_groups` (null for a negative that is nobody's
  positive). With `collisions.action = "drop"` colliding negatives are removed from the
  row instead (counted as `collides_with_positive`; a row left with fewer than
  `mining.min_negatives` is then dropped as `too_few_negatives`).

Group ids are the first 16 hex digits of the cluster's smallest text key: the same for
any row order, and the same in every finalize pass over the same texts.
"""

from __future__ import annotations

from typing import Sequence

from synthgen.corpus.near_dup import NearDupConfig, find_near_duplicates
from synthgen.gates.exact import text_key


class CollisionIndex:
    """Clusters of positives and documents; which texts are (near) copies of a positive."""

    def __init__(self, positives: Sequence[str], documents: Sequence[str], config: NearDupConfig):
        texts: dict[bytes, str] = {}
        positive_keys: set[bytes] = set()
        for text in positives:
            if text is not None:
                key = text_key(text)
                texts.setdefault(key, text)
                positive_keys.add(key)
        for text in documents:
            texts.setdefault(text_key(text), text)
        keys = list(texts)
        found = find_near_duplicates([k.hex() for k in keys], [texts[k] for k in keys], config) if keys else {}
        head = {keys[i]: keys[kept] for i, (kept, _) in found.items()}
        self._group = {k: head.get(k, k).hex() for k in keys}
        self._positive_groups = {self._group[k] for k in positive_keys}
        self.groups = len(self._positive_groups)
        self._seen: dict[str, str | None] = {}

    def group(self, text: str) -> str:
        """The group id of a text (a positive's cluster); a text not indexed is its own group."""
        key = text_key(text)
        return self._group.get(key, key.hex())

    def colliding_group(self, text: str) -> str | None:
        """The group of the positive(s) that `text` copies or nearly copies, or None.
        Cached by text: a corpus document is mined as a negative of many rows."""
        if text not in self._seen:
            group = self._group.get(text_key(text))
            self._seen[text] = group if group in self._positive_groups else None
        return self._seen[text]
