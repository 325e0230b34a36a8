"""The run report: PNG plots of a finished run and one self-contained HTML page with them.

    synthgen report outputs/demo      ->  outputs/demo/report/index.html + *.png

| plot | what it shows | what to look for |
| --- | --- | --- |
| `tasks.png` | rows per task | a task the gates emptied (its prompts or `min_cosine` need work) |
| `languages.png` | rows per query and per document language | languages the language gate lost |
| `query_length.png` | query length in words, per task | queries longer than asked: the model rambles |
| `positive_scores.png` | cosine(query, positive) of kept rows and of `low_cosine` rejects, with each task's threshold | how much a looser `gates.cosine.min_score` would bring back |
| `score_scatter.png` | hardest negative's score against the positive's, with the `relative_margin` line | negatives crowding the line are the hard ones; above y = x they would be false negatives |
| `rejects.png` | dropped items by step and reason (manifest `removals`) | which gate costs most |
| `stages.png` | prompt (cached and not) and generated tokens, and generation tokens/s, per stage | where the time goes |
| `diversity.png` | per query language: mean pairwise cosine of the queries (lower: more diverse) and distinct-1/2; the question types' shares with library coverage and entropy | a language whose queries all say the same; unused question types |

The Qwen3 Embedding report (arXiv 2506.05176) keeps pairs whose cosine is above 0.7: the
threshold line is the recipe's `gates.cosine.min_score`, or a task's `min_cosine`. The
score scatter follows NV-Retriever's positive-aware mining (TopK-PercPos): with
`relative_margin = 0.05` every negative lies below 0.95 x the positive's score.

When `synthgen eval` has scored the run, the page also shows its table (nDCG@10 of the
base student and of the students trained on inverse cloze, on the run's rows, on both).

Plots are drawn with matplotlib's Agg canvas (no display needed). A run with no rows, no
negatives or no stage statistics gets the same files, each empty plot saying why.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from synthgen.publish import templates
from synthgen.evaluation.results import summary_rows
from synthgen.shards.finished_run import FinishedRun
from synthgen.run.output import atomic_write_bytes, output_errors

SCATTER_POINTS = 20_000  # rows drawn in the score scatter at most (a fixed random sample)
MAX_BARS = 20  # reasons drawn in the rejects plot; the rest share one bar
FIGURE_SIZE = (8.0, 4.5)  # inches; at DPI this makes 800 x 450 px images
DPI = 100

PLOTS: dict[str, str] = {
    "tasks.png": "Rows per task",
    "languages.png": "Rows per query and document language",
    "query_length.png": "Query length in words",
    "positive_scores.png": "Positive scores and the cosine threshold",
    "score_scatter.png": "Hardest negative vs positive score",
    "rejects.png": "Dropped items by reason",
    "stages.png": "Tokens and throughput per stage",
    "diversity.png": "Query diversity per language and question-type coverage",
}


@dataclass
class RowStats:
    """What the plots need from the final rows, read in one pass over the shards."""

    query_words: dict[str, list[np.ndarray]] = field(default_factory=dict)
    positive_scores: dict[str, list[np.ndarray]] = field(default_factory=dict)
    hardest_pairs: list[np.ndarray] = field(default_factory=list)  # (n, 2): positive, hardest negative

    @classmethod
    def read(cls, run: FinishedRun) -> "RowStats":
        stats = cls()
        for batch in run.batches(["task", "query", "positive_score", "negative_scores"]):
            names = batch.schema.names
            tasks = np.asarray(batch.column("task").to_pylist(), dtype=object)
            words = pc.list_value_length(pc.utf8_split_whitespace(batch.column("query"))).to_numpy(
                zero_copy_only=False)
            scores = (batch.column("positive_score").to_numpy(zero_copy_only=False).astype(float)
                      if "positive_score" in names else np.full(len(tasks), np.nan))
            for task in np.unique(tasks):
                mask = tasks == task
                stats.query_words.setdefault(task, []).append(words[mask])
                stats.positive_scores.setdefault(task, []).append(scores[mask][~np.isnan(scores[mask])])
            if "negative_scores" in names:
                stats.hardest_pairs.append(_hardest_pairs(batch.column("negative_scores"), scores))
        return stats

    def words(self) -> dict[str, np.ndarray]:
        return {task: np.concatenate(parts) for task, parts in sorted(self.query_words.items())}

    def scores(self) -> dict[str, np.ndarray]:
        return {task: np.concatenate(parts) for task, parts in sorted(self.positive_scores.items())}

    def pairs(self, limit: int = SCATTER_POINTS) -> np.ndarray:
        pairs = np.concatenate(self.hardest_pairs) if self.hardest_pairs else np.empty((0, 2))
        if len(pairs) > limit:
            pairs = pairs[np.sort(np.random.default_rng(0).choice(len(pairs), limit, replace=False))]
        return pairs


def _hardest_pairs(negative_scores, positive_scores: np.ndarray) -> np.ndarray:
    """(positive score, best negative's score) for rows that have both (negatives are best first)."""
    has = (pc.fill_null(pc.list_value_length(negative_scores), 0).to_numpy(zero_copy_only=False) > 0)
    has &= ~np.isnan(positive_scores)
    if not has.any():
        return np.empty((0, 2))
    hardest = pc.list_element(negative_scores.filter(pa.array(has)), 0).to_numpy(zero_copy_only=False).astype(float)
    return np.column_stack([positive_scores[has], hardest])


def rejected_cosine_scores(run: FinishedRun) -> np.ndarray:
    """Positive scores of the rows the cosine gate dropped (`rejects/gates-cosine.jsonl`)."""
    path = run.folder.rejects / "gates-cosine.jsonl"
    if not path.is_file():
        return np.empty(0)
    scores = []
    with path.open("rb") as handle:
        for line in handle:
            try:
                score = orjson.loads(line).get("positive_score")
            except orjson.JSONDecodeError:
                continue
            if isinstance(score, (int, float)):
                scores.append(float(score))
    return np.asarray(scores, dtype=float)


# ---- the plots ------------------------------------------------------------------------


def _figure(ncols: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(1, ncols, squeeze=False)[0]


def _empty(ax, note: str) -> None:
    ax.text(0.5, 0.5, note, ha="center", va="center", transform=ax.transAxes, fontsize=12, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _axes_labels(ax, xlabel: str, ylabel: str, legend: bool = True) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(fontsize=8)


def _bars(ax, counts: dict[str, int], title: str, note: str) -> None:
    ax.set_title(title)
    if not counts:
        _empty(ax, note)
        return
    labels = list(counts)
    ax.barh(labels, [counts[k] for k in labels], color="C0")
    ax.invert_yaxis()
    ax.set_xlabel("rows")
    for y, value in enumerate(counts.values()):
        ax.annotate(f"{value:,}", (value, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)


def plot_tasks(run: FinishedRun, stats: RowStats):
    figure, (ax,) = _figure()
    _bars(ax, run.counts("task"), "Rows per task", "no rows: every item was dropped")
    return figure


def plot_languages(run: FinishedRun, stats: RowStats):
    figure, (ax,) = _figure()
    query, document = run.counts("query_language"), run.counts("document_language")
    ax.set_title("Rows per language")
    languages = sorted(set(query) | set(document), key=lambda k: -(query.get(k, 0) + document.get(k, 0)))
    if not languages:
        _empty(ax, "no rows")
        return figure
    x = np.arange(len(languages))
    ax.bar(x - 0.2, [query.get(k, 0) for k in languages], 0.4, label="query language")
    ax.bar(x + 0.2, [document.get(k, 0) for k in languages], 0.4, label="document language")
    ax.set_xticks(x, [k or "?" for k in languages], rotation=45 if len(languages) > 12 else 0)
    _axes_labels(ax, "language", "rows")
    return figure


def plot_query_length(run: FinishedRun, stats: RowStats):
    figure, (ax,) = _figure()
    words = {task: values for task, values in stats.words().items() if len(values)}
    ax.set_title("Query length")
    if not words:
        _empty(ax, "no rows")
        return figure
    top = max(int(v.max()) for v in words.values())
    bins = np.arange(0, top + 2) - 0.5 if top <= 60 else 40
    ax.hist(list(words.values()), bins=bins, stacked=True, label=list(words))
    _axes_labels(ax, "words per query", "rows")
    return figure


def plot_positive_scores(run: FinishedRun, stats: RowStats, rejected: np.ndarray):
    figure, (ax,) = _figure()
    kept = {task: values for task, values in stats.scores().items() if len(values)}
    ax.set_title("cosine(query, positive) under the embedder")
    if not kept and not len(rejected):
        _empty(ax, "no scores: no rows kept and no cosine rejects")
        return figure
    series, labels = list(kept.values()), [f"kept: {task}" for task in kept]
    if len(rejected):
        series.append(rejected)
        labels.append("dropped: low_cosine")
    ax.hist(series, bins=np.linspace(-1.0 if min(s.min() for s in series) < 0 else 0.0, 1.0, 41), stacked=True,
            label=labels)
    thresholds: dict[float, list[str]] = {}
    for task in run.counts("task") or kept:
        threshold = run.min_cosine(task)
        if threshold is not None:
            thresholds.setdefault(threshold, []).append(task)
    for i, (threshold, tasks) in enumerate(sorted(thresholds.items())):
        ax.axvline(threshold, color="k", linestyle=("--", ":", "-.")[i % 3],
                   label=f"min_cosine {threshold:g} ({', '.join(tasks)})")
    _axes_labels(ax, "positive score", "rows")
    return figure


def plot_score_scatter(run: FinishedRun, stats: RowStats):
    figure, (ax,) = _figure()
    pairs = stats.pairs()
    ax.set_title("Hardest negative vs positive")
    if not len(pairs):
        _empty(ax, "no rows with negatives and scores")
        return figure
    ax.scatter(pairs[:, 0], pairs[:, 1], s=8, alpha=0.5, label=f"rows ({len(pairs):,})")
    lo, hi = float(min(pairs.min(), 0.0)), 1.0
    ax.plot([lo, hi], [lo, hi], color="k", linewidth=1, label="negative = positive")
    margin = ((run.recipe.get("mining") or {}).get("relative_margin"))
    if margin:
        ax.plot([lo, hi], [lo * (1 - margin), hi * (1 - margin)], color="C3", linestyle="--",
                label=f"relative_margin {margin:g}")
    _axes_labels(ax, "positive score", "hardest negative score")
    return figure


def plot_rejects(run: FinishedRun, stats: RowStats):
    figure, (ax,) = _figure()
    ranked = sorted(run.removals.items(), key=lambda item: -item[1])
    removals = dict(ranked[:MAX_BARS])
    if len(ranked) > MAX_BARS:
        removals[f"({len(ranked) - MAX_BARS} other reasons)"] = sum(count for _, count in ranked[MAX_BARS:])
    _bars(ax, removals, "Dropped items by step/reason", "nothing was dropped")
    ax.set_xlabel("items")
    return figure


def plot_stages(run: FinishedRun, stats: RowStats):
    figure, (tokens_ax, rate_ax) = _figure(ncols=2)
    stages = run.stage_rows()
    tokens_ax.set_title("Tokens per stage")
    rate_ax.set_title("Generation tokens/s")
    if not stages:
        _empty(tokens_ax, "no stage statistics in the manifest")
        _empty(rate_ax, "")
        return figure
    names = [s["stage"] for s in stages]
    get = lambda key: np.array([float(s[key]) for s in stages])  # noqa: E731
    cached, prompt, completion = get("cached_tokens"), get("prompt_tokens"), get("completion_tokens")
    tokens_ax.barh(names, cached, label="prompt, cached")
    tokens_ax.barh(names, prompt - cached, left=cached, label="prompt, computed")
    tokens_ax.barh(names, completion, left=prompt, label="generated")
    tokens_ax.invert_yaxis()
    tokens_ax.set_xlabel("tokens")
    tokens_ax.legend(fontsize=8)
    rate_ax.barh(names, get("tokens_per_second"), color="C2")
    rate_ax.invert_yaxis()
    rate_ax.set_yticks(range(len(names)), [""] * len(names))
    rate_ax.set_xlabel("generated tokens / s")
    return figure


def plot_diversity(run: FinishedRun, stats: RowStats):
    """Per language: mean pairwise query cosine, distinct-1 and distinct-2 (manifest
    `diversity`); beside it the question types' shares of the retrieval rows."""
    figure, (language_ax, types_ax) = _figure(ncols=2)
    diversity = run.manifest.get("diversity") or {}
    language_ax.set_title("Queries per language")
    types_ax.set_title("Question types")
    languages = {k or "?": v for k, v in (diversity.get("by_language") or {}).items() if v.get("queries")}
    if not languages:
        _empty(language_ax, "no diversity figures in the manifest\n(`synthgen filter RUN` computes them)"
               if not diversity else "no rows")
    else:
        names = list(languages)
        x = np.arange(len(names))
        value = lambda key: [languages[k].get(key) if languages[k].get(key) is not None else np.nan  # noqa: E731
                             for k in names]
        language_ax.bar(x - 0.27, value("mean_pairwise_cosine"), 0.27, label="mean pairwise cosine")
        language_ax.bar(x, value("distinct_1"), 0.27, label="distinct-1")
        language_ax.bar(x + 0.27, value("distinct_2"), 0.27, label="distinct-2")
        language_ax.set_xticks(x, names, rotation=45 if len(names) > 8 else 0)
        language_ax.axhline(0, color="k", linewidth=0.5)
        _axes_labels(language_ax, "query language", "")
    types = diversity.get("query_types") or {}
    counts = types.get("counts") or {}
    if not counts:
        _empty(types_ax, "no retrieval rows with question types")
    else:
        total = sum(counts.values())
        labels = list(counts)
        types_ax.barh(labels, [counts[k] / total for k in labels], color="C2")
        types_ax.invert_yaxis()
        entropy = types.get("normalized_entropy")
        types_ax.set_xlabel("share of retrieval rows")
        types_ax.set_title(f"Question types: {types.get('used', 0)}/{types.get('library', '?')} used"
                           + (f", entropy {entropy:.2f}" if entropy is not None else ""), fontsize=10)
    return figure


# ---- writing ----------------------------------------------------------------------------


def render_plots(run: FinishedRun, folder: Path) -> dict[str, Path]:
    """Write every plot of `PLOTS` as a PNG into `folder`; return their paths by name."""
    stats = RowStats.read(run)
    makers: dict[str, Callable[[], Any]] = {
        "tasks.png": lambda: plot_tasks(run, stats),
        "languages.png": lambda: plot_languages(run, stats),
        "query_length.png": lambda: plot_query_length(run, stats),
        "positive_scores.png": lambda: plot_positive_scores(run, stats, rejected_cosine_scores(run)),
        "score_scatter.png": lambda: plot_score_scatter(run, stats),
        "rejects.png": lambda: plot_rejects(run, stats),
        "stages.png": lambda: plot_stages(run, stats),
        "diversity.png": lambda: plot_diversity(run, stats),
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, make in makers.items():
        paths[name] = folder / name
        make().savefig(paths[name], format="png", dpi=DPI)
    return paths


MAX_CELLS = 40  # cells on the page, most work items first
SAMPLE_ROWS = 5  # rows shown on the page, as text: autoescaped, model output is never markup


def judge_rows(judge: Any) -> list[tuple[str, str]]:
    """The judge's figures for the page: how often it agrees with the embedder's margin rule
    and what it changed (`[judge]`, `synthgen judge`); empty when no judge ran."""
    if not isinstance(judge, dict) or not judge:
        return []
    share = lambda key: "-" if judge.get(key) is None else f"{judge[key]:.1%}"  # noqa: E731
    count = lambda key: f"{int(judge.get(key) or 0):,}"  # noqa: E731
    settings = judge.get("settings") or {}
    return [("judge", f"{judge.get('kind', '?')}: {judge.get('model', '?')}"),
            ("negatives judged", count("negatives")),
            ("agreement with the margin rule", f"{share('agreement_with_margin_rule')} (negatives the judge also "
             f"finds irrelevant, p < {settings.get('relevant_threshold', '?')}, and not above the positive "
             f"by {settings.get('better_margin', '?')})"),
            ("positive ranked above the negative", share("order_agreement")),
            ("negatives judged relevant (dropped)", count("negatives_dropped")),
            (f"rows whose negative wins ({settings.get('on_better_negative', '?')})",
             f"{count('relabeled')} relabeled, {count('dropped_better_negative')} dropped"),
            ("rows dropped with too few negatives left", count("dropped_too_few_negatives")),
            ("pairs scored", f"{count('pairs')} ({count('cache_hits')} from the cache, "
             f"{count('engine_requests')} engine requests)")]


def write_report(run_dir: str | Path) -> Path:
    """Write `RUN_DIR/report/index.html` (images embedded) and the PNGs beside it."""
    run = FinishedRun.open(run_dir)
    folder = run.folder.root / "report"
    with output_errors(folder):
        paths = render_plots(run, folder)
        images = [{"name": name, "title": PLOTS[name],
                   "data_uri": "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")}
                  for name, path in paths.items()]
        html = templates.render("report.html.j2", run=run, images=images, facts=run.facts(),
                                tasks=run.counts("task"), query_languages=run.counts("query_language"),
                                document_languages=run.counts("document_language"),
                                removals=dict(sorted(run.removals.items(), key=lambda item: -item[1])),
                                stages=run.stage_rows(), samples=run.sample_rows(SAMPLE_ROWS),
                                cells=(run.manifest.get("yield") or [])[:MAX_CELLS],
                                evaluation=summary_rows(run.manifest.get("eval")),
                                diversity=run.manifest.get("diversity") or {},
                                contamination=run.manifest.get("contamination") or {},
                                collisions=run.manifest.get("collisions") or {},

                                judge=judge_rows(run.manifest.get("judge")))
        atomic_write_bytes(folder / "index.html", html.encode("utf-8"))
    return folder / "index.html"
