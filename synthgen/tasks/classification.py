"""Classification: an input text, its label, and a misleading label.

E5-mistral (arXiv 2401.00368) writes {input_text, label, misleading_label} for a
classification task; the row trains an embedder to place the text nearer its label than
the misleading one (Qwen3 Embedding, arXiv 2506.05176, synthesizes classification data the
same way). Label sets come from `tasks.classification.label_sets`, or are brainstormed
once per run and deduplicated (`prompts/classification/brainstorm.j2`). Each item samples
a label set and a label uniformly (balanced classes); under structured outputs the label
is fixed and the misleading label is constrained to the set's other labels.

Row: query = input_text, positive = label, negatives = [misleading_label], instruction =
the set's instruction, `label` and `misleading_label` columns. Gates: generic (the text),
instruction (a sentence, not an identifier), language (the text), margin (the text is
nearer its label than the misleading one), topic (the text is about its document's topic).
The label and the misleading label belong to the set: the per-item schema holds them to it,
and answers are validated against it even without structured outputs.
"""

from __future__ import annotations

import copy
import random
from typing import TYPE_CHECKING, Any

from synthgen.corpus.readers import Document
from synthgen.corpus.text import clean_list_item
from synthgen.corpus.text import is_sentence
from synthgen.corpus.language_id import language_name
from synthgen.config.quality import InstructionGateConfig
from synthgen.config.recipe import Recipe
from synthgen.config.tasks import ClassificationTaskConfig, LabelSet
from synthgen.tasks.base import BaseTask, is_code
from synthgen.generation.work import Stage, WorkItem

if TYPE_CHECKING:
    from synthgen.tasks.brainstorm import Brainstormer, BrainstormReport

MIN_INSTRUCTION_WORDS = InstructionGateConfig().min_words


class ClassificationTask(BaseTask):
    name = "classification"
    config: ClassificationTaskConfig  # BaseTask sets it from recipe.tasks.<name>
    default_gates = ("generic", "instruction", "language", "margin", "topic")

    def __init__(self, recipe: Recipe):
        super().__init__(recipe)
        self.label_sets: list[LabelSet] = list(self.config.label_sets)
        self.stages = [Stage("example", "classification/example", self._variables, self._apply, self._schema)]

    brainstorm_templates = ("classification/brainstorm",)

    def needs_brainstorm(self) -> bool:
        return not self.label_sets

    def prepare(self, brainstormer: Brainstormer) -> BrainstormReport:
        """Brainstorm label sets (when the recipe gives none)."""
        report = brainstormer.run(self.name, "classification/brainstorm", self.config.brainstorm,
                                  _label_sets_of, lambda s: s.instruction)
        self.label_sets = report.ideas
        return report

    def restore(self, ideas: list[dict[str, Any]]) -> None:
        """Label sets brainstormed before a resumed run was interrupted."""
        self.label_sets = [LabelSet(**idea) for idea in ideas]

    def accepts(self, document: Document) -> bool:
        return not is_code(document) and bool(self.label_sets)

    def plan(self, item: WorkItem) -> None:
        rng = random.Random(item.seed)
        label_set = rng.randrange(len(self.label_sets))
        item.fields["label_set"] = label_set
        item.fields["label"] = rng.choice(self.label_sets[label_set].labels)
        item.fields["language"] = self.query_language(rng, item.document)
        item.fields["length"] = rng.randint(*self.config.text_length)

    def _variables(self, item: WorkItem) -> dict[str, Any]:
        label_set = self.label_sets[item.fields["label_set"]]
        return {"passage": item.document.text, "instruction": label_set.instruction, "labels": label_set.labels,
                "label": item.fields["label"], "language": language_name(item.fields["language"]),
                "length": item.fields["length"]}

    def _schema(self, item: WorkItem, base: dict[str, Any]) -> dict[str, Any]:
        schema = copy.deepcopy(base)
        labels = self.label_sets[item.fields["label_set"]].labels
        schema["properties"]["label"]["enum"] = [item.fields["label"]]
        schema["properties"]["misleading_label"]["enum"] = [x for x in labels if x != item.fields["label"]]
        return schema

    def _apply(self, item: WorkItem, answer: dict[str, Any]) -> str:
        text = " ".join(str(answer["input_text"]).split())
        if not text:
            return "empty_text"
        item.fields["input_text"] = text
        item.fields["misleading_label"] = str(answer["misleading_label"])
        return ""

    def to_row(self, item: WorkItem) -> dict[str, Any]:
        f = item.fields
        return self.row(item, instruction=self.label_sets[f["label_set"]].instruction, query=f["input_text"],
                        positive=f["label"], negatives=[f["misleading_label"]], query_language=f["language"],
                        document_language=f["language"], label=f["label"], misleading_label=f["misleading_label"])


def _label_sets_of(answer: dict[str, Any]) -> list[LabelSet]:
    """Valid label sets of one brainstorm answer: an instruction that starts with "Classify"
    (as the prompt asks) and is a sentence, not an identifier (the instruction gate's rule,
    `gates.instruction.min_words`), and >= 2 distinct labels."""
    found = []
    for task in answer.get("tasks", []):
        labels = list(dict.fromkeys(" ".join(str(x).split()) for x in task.get("labels", []) if str(x).strip()))
        instruction = clean_list_item(task.get("instruction", ""))
        if instruction.casefold().startswith("classify") and is_sentence(instruction, MIN_INSTRUCTION_WORDS) \
                and len({x.casefold() for x in labels}) >= 2:
            found.append(LabelSet(instruction, labels))
    return found
