"""The dataset card: the `README.md` the Hugging Face Hub shows for a published run.

Front matter (YAML, written by huggingface_hub's `DatasetCardData` so the Hub parses it):

- `configs`: `all` (every row; `default: true`, so `load_dataset(REPO)` needs no name) and
  one config per task, each with its `train` split's files (`data/<task>/train-*.parquet`);
- `license` (see `synthgen.publish.hub.DEFAULT_LICENSE`), `language` (ISO 639-1 codes of the
  query and document languages; programming languages are not language tags),
  `task_categories` (from the tasks: retrieval -> text-retrieval, sts -> sentence-similarity,
  ...), `size_categories` (n<1K, 1K<n<10K, ...), and the tags `synthetic` and `synthgen`.

The body says what the data is and how it was made (recipe, generator and embedder, prompt
templates with their sha256, gates and thresholds), counts per task, language and removal
reason (all from the run's manifest), the diversity figures, the test sets the rows were
checked against for contamination and how many rows that removed, example rows, the report's plots, how to load and
train on it, and how to cite the Qwen3 Embedding report (arXiv 2506.05176); when
`synthgen eval` has scored the run, its nDCG@10 table too.

Model output is data: rows reach the template as variables and are written inside fenced
blocks (`code_block`) or escaped table cells (`md_cell`), never as Markdown or template
source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from synthgen.publish import templates
from synthgen.evaluation.results import summary_rows
from synthgen.shards.finished_run import FinishedRun
from synthgen.config.quality import ROW_GATES

ALL_CONFIG = "all"
EXAMPLE_CHARS = 400  # longer example texts are cut in the card (never in the data)

TASK_CATEGORIES: dict[str, tuple[str, ...]] = {
    "retrieval": ("text-retrieval",),
    "code_retrieval": ("text-retrieval",),
    "corpus_free": ("text-retrieval",),
    "bitext": ("translation",),
    "sts": ("sentence-similarity",),
    "matching": ("sentence-similarity",),
    "classification": ("text-classification",),
}

TASK_DESCRIPTIONS: dict[str, str] = {
    "retrieval": "a persona's query for a corpus passage (Qwen3 Embedding's two-stage recipe); "
                 "negatives mined from the corpus",
    "bitext": "a span of a document and its translation; the negative is a fluent translation with a changed "
              "keyword or number",
    "sts": "S1 / S2 / S3 with sampled similarity scores (`similarity_positive`, `similarity_negative`)",
    "classification": "an input text, its label (positive) and a misleading label (negative)",
    "matching": "short-short or long-long matching pairs (`query_type`)",
    "code_retrieval": "an intent query or a code snippet for a code unit; negatives mined among code units",
    "corpus_free": "a query, a positive and a hard negative document for a brainstormed task definition",
}

SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
                   (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"),
                   (1_000_000_000_000, "100B<n<1T"))

EXAMPLE_FIELDS = ("task", "instruction", "query", "positive", "negatives", "positive_score", "negative_scores",
                  "query_language", "document_language", "persona", "query_type", "difficulty", "label",
                  "misleading_label", "similarity_positive", "similarity_negative", "source_id")

QWEN3_EMBEDDING_BIBTEX = """@article{zhang2025qwen3embedding,
  title   = {Qwen3 Embedding: Advancing Text Embedding and Reranking Through Foundation Models},
  author  = {Zhang, Yanzhao and Li, Mingxin and Long, Dingkun and Zhang, Xin and Lin, Huan and Yang, Baosong and
             Xie, Pengjun and Yang, An and Liu, Dayiheng and Lin, Junyang and Huang, Fei and Zhou, Jingren},
  journal = {arXiv preprint arXiv:2506.05176},
  year    = {2025},
  url     = {https://arxiv.org/abs/2506.05176}
}"""


@dataclass(frozen=True)
class Config:
    """One dataset config: its name, rows, the glob of its train files, and the fewest
    negatives any of its rows has (what a training snippet can rely on)."""

    name: str
    rows: int
    path: str
    min_negatives: int = 0


def size_category(rows: int) -> str:
    """The Hub's size bucket for `rows` (`n<1K`, `1K<n<10K`, ...)."""
    return next((label for limit, label in SIZE_CATEGORIES if rows < limit), "n>1T")


def language_tags(run: FinishedRun) -> list[str]:
    """ISO 639-1 codes among the query and document languages (not `python`, not `?`)."""
    found = set(run.counts("query_language")) | set(run.counts("document_language"))
    return sorted(code for code in found if code and re.fullmatch(r"[a-z]{2}", code))


def card_metadata(run: FinishedRun, configs: list[Config], license_id: str, pretty_name: str):
    """The YAML front matter as huggingface_hub's `DatasetCardData`."""
    from huggingface_hub import DatasetCardData

    tasks = [c.name for c in configs if c.name != ALL_CONFIG]
    categories = sorted({category for task in tasks for category in TASK_CATEGORIES.get(task, ())}
                        | {"sentence-similarity"})
    languages = language_tags(run)
    return DatasetCardData(
        pretty_name=pretty_name,
        license=license_id,
        language=languages or None,
        multilinguality="multilingual" if len(languages) > 1 else "monolingual",
        annotations_creators=["machine-generated"],
        language_creators=["machine-generated"],
        task_categories=categories,
        size_categories=[size_category(run.rows)],
        tags=["synthetic", "synthgen"],
        configs=[{"config_name": c.name, "data_files": [{"split": "train", "path": c.path}],
                  **({"default": True} if c.name == ALL_CONFIG else {})} for c in configs],
    )


def render_card(run: FinishedRun, repo_id: str, configs: list[Config], license_id: str,
                images: dict[str, str], examples_per_task: int = 2) -> str:
    """The whole `README.md`: front matter, then the card body (`templates/dataset_card.md.j2`).
    `images` maps a repo path (`images/tasks.png`) to its caption."""
    pretty_name = repo_id.split("/")[-1]
    metadata = card_metadata(run, configs, license_id, pretty_name)
    tasks = [c for c in configs if c.name != ALL_CONFIG]
    body = templates.render(
        "dataset_card.md.j2", run=run, repo_id=repo_id, pretty_name=pretty_name, configs=configs, tasks=tasks,
        task_descriptions=TASK_DESCRIPTIONS, license_id=license_id, languages=language_tags(run),
        query_languages=run.counts("query_language"), document_languages=run.counts("document_language"),
        removals=dict(sorted(run.removals.items(), key=lambda item: -item[1])),
        generated_rows=(run.manifest.get("counts") or {}).get("generated_rows"),
        gates=gate_rows(run, [c.name for c in tasks]), mining=(run.recipe.get("mining") or {}),
        prompts=prompt_rows(run), recipe_json=orjson.dumps(run.recipe, option=orjson.OPT_INDENT_2).decode(),
        examples={c.name: [example_json(row) for row in run.sample_rows(examples_per_task, c.name)] for c in tasks},
        images=images, train_config=_training_config(tasks), bibtex=QWEN3_EMBEDDING_BIBTEX,
        evaluation=summary_rows(run.manifest.get("eval")), diversity=run.manifest.get("diversity") or {},
        contamination=run.manifest.get("contamination") or {}, collisions=run.manifest.get("collisions") or {})
    return f"---\n{metadata.to_yaml()}\n---\n\n{body}"


def example_json(row: dict[str, Any]) -> str:
    """A row for the card: the contract's meaningful fields, long texts cut to EXAMPLE_CHARS."""
    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > EXAMPLE_CHARS:
            return value[:EXAMPLE_CHARS] + " [...]"
        if isinstance(value, list):
            return [cut(v) for v in value]
        if isinstance(value, float):
            return round(value, 4)
        return value

    shown = {key: cut(row[key]) for key in EXAMPLE_FIELDS if row.get(key) not in (None, "", [])}
    return orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode()


def gate_rows(run: FinishedRun, tasks: list[str]) -> list[dict[str, str]]:
    """Each gate of the recipe: on or off, its settings, and the tasks whose rows it checked."""
    rows = []
    for name, settings in (run.recipe.get("gates") or {}).items():
        if isinstance(settings, dict):
            enabled = bool(settings.get("enabled", True))
            knobs = ", ".join(f"{k}={v}" for k, v in settings.items() if k != "enabled")
        else:  # a gate switched by a bare boolean (exact_dedup)
            enabled, knobs = bool(settings), ""
        applied = [t for t in tasks if name in run.task_gates(t)] if name in ROW_GATES else ["all"]
        if name == "cosine":
            applied = [f"{t} (min {run.min_cosine(t):g})" for t in tasks if run.min_cosine(t) is not None]
        rows.append({"gate": name, "enabled": "on" if enabled else "off", "settings": knobs,
                     "tasks": ", ".join(applied) if enabled else ""})
    return rows


def prompt_rows(run: FinishedRun) -> list[dict[str, str]]:
    """The run's prompt templates and their sha256; the template text too where the file
    in this checkout still has that hash (otherwise it changed since the run)."""
    from synthgen.errors import UserError
    from synthgen.generation.prompts import PromptLibrary

    library = PromptLibrary()
    rows = []
    for name, sha in sorted((run.manifest.get("prompts") or {}).items()):
        try:
            template = library.get(name)
            source = template.source if template.sha256 == sha else ""
        except UserError:
            source = ""
        rows.append({"name": name, "sha256": sha, "source": source})
    return rows


def _training_config(tasks: list[Config]) -> Config | None:
    """The config the training example uses: the largest task with negatives, else the largest."""
    if not tasks:
        return None
    return max(tasks, key=lambda c: (c.min_negatives > 0, c.rows))
