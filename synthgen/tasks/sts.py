"""Semantic textual similarity: S1; S2 with a high similarity score; S3 with a low one.

E5-mistral (arXiv 2401.00368) asks for {S1, S2, S3} with S2 at a high score ({4, 4.5, 5})
and S3 at a low score ({2.5, 3, 3.5}) of similarity to S1; the scores are sampled per item
here (`tasks.sts.high_scores` / `low_scores`) and stored as `similarity_positive` and
`similarity_negative`, so a trainer can use them as soft labels (CoSENT, AnglE). A corpus
passage inspires the topic, so the sentences follow the corpus's domains and languages.

Row: query = S1, positive = S2, negatives = [S3]. Gates: generic (no "one sentence", "S1"),
language (S1 and S2), cosine (S1, S2), margin (S2 closer to S1 than S3 is: the order the
scores state).
"""

from __future__ import annotations

import random
from typing import Any

from synthgen.corpus.text import normalize_text
from synthgen.corpus.language_id import language_name
from synthgen.config.recipe import Recipe
from synthgen.config.tasks import StsTaskConfig
from synthgen.tasks.base import BaseTask
from synthgen.generation.work import Stage, WorkItem


class StsTask(BaseTask):
    name = "sts"
    config: StsTaskConfig  # BaseTask sets it from recipe.tasks.<name>
    default_gates = ("generic", "language", "cosine", "margin")
    checks_positive_language = True
    generated_fields = ("query", "positive", "negatives")

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.stages = [Stage("write", "sts/write", self._variables, self._apply)]

    def plan(self, item: WorkItem) -> None:
        rng = random.Random(item.seed)
        item.fields["language"] = self.query_language(rng, item.document)
        item.fields["high_score"] = rng.choice(self.config.high_scores)
        item.fields["low_score"] = rng.choice(self.config.low_scores)

    def _variables(self, item: WorkItem) -> dict[str, Any]:
        return {"passage": item.document.text, "language": language_name(item.fields["language"]),
                "high_score": item.fields["high_score"], "low_score": item.fields["low_score"]}

    def _apply(self, item: WorkItem, answer: dict[str, Any]) -> str:
        s1, s2, s3 = (" ".join(str(answer[key]).split()) for key in ("S1", "S2", "S3"))
        keys = {normalize_text(s1), normalize_text(s2), normalize_text(s3)}
        if len(keys) < 3:
            return "identical_sentences"
        item.fields.update(s1=s1, s2=s2, s3=s3)
        return ""

    def to_row(self, item: WorkItem) -> dict[str, Any]:
        f = item.fields
        return self.row(item, query=f["s1"], positive=f["s2"], negatives=[f["s3"]], query_language=f["language"],
                        document_language=f["language"], similarity_positive=float(f["high_score"]),
                        similarity_negative=float(f["low_score"]))
