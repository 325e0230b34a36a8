"""`synthgen calibrate RUN|RECIPE`: what each setting of the cosine gate keeps, before you trust it.

A threshold belongs to an embedder and a language. This command puts the settings side
by side on pairs known to be good and, for a run, on its generated rows:

- known-good pairs: the user's labeled (query, document) pairs when `--benchmark` names a
  retrieval set (the formats `synthgen eval` reads), else the inverse-cloze pairs of the
  documents (first sentence vs the rest: the calibration's own source, so the calibrated
  settings keep 1 - q of them by construction; a real set is the honest check);
- generated rows (RUN only): every row the run generated, before the gates;
- settings: fixed thresholds (the report's 0.7 among them) and thresholds calibrated on
  the run's documents at several quantiles (synthgen/gates/calibration.py).

A good setting keeps nearly all known-good pairs (the issue's bar: 90%) and drops the
generated rows that are off-topic or degenerate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import orjson
import pyarrow.parquet as pq

from synthgen.engines import load_embedder
from synthgen.errors import UserError
from synthgen.gates.calibration import ScoredPairs, calibrate, score_pairs, settings_table
from synthgen.tasks.inverse_cloze import inverse_cloze_pair
from synthgen.run.output import RunFolder
from synthgen.config.loader import build_recipe, load_recipe
from synthgen.config.recipe import Recipe

FIXED_THRESHOLDS = (0.3, 0.5, 0.7)
QUANTILES = (0.05, 0.1, 0.2)


def calibration_report(source: Path, benchmark: Path | None = None, quantiles: Sequence[float] = QUANTILES,
                       limit_docs: int | None = None) -> dict[str, Any]:
    """The settings table for a run folder or a recipe (its corpus), as a dict."""
    recipe, documents, generated = _read_source(source, limit_docs)
    embedder = load_embedder(recipe.embedder)
    texts, languages = [d[0] for d in documents], [d[1] for d in documents]
    calibrations = {q: calibrate(embedder, texts, languages, q) for q in quantiles}
    if benchmark is not None:
        queries, positives, pair_languages = _benchmark_pairs(benchmark)
        known = score_pairs(embedder, "labeled pairs", queries, positives, pair_languages)
    else:
        pairs = [(p, lang) for text, lang in documents if not isinstance(p := inverse_cloze_pair(text, lang), str)]
        queries, positives = [p[0] for p, _ in pairs], [p[1] for p, _ in pairs]
        known = score_pairs(embedder, "inverse-cloze pairs", queries, positives, [lang for _, lang in pairs])
    pair_sets: list[ScoredPairs] = [known]
    if generated:
        pair_sets.append(score_pairs(embedder, "generated rows", [g[0] for g in generated],
                                     [g[1] for g in generated], [g[2] for g in generated]))
    table = settings_table(calibrations, recipe.gates.cosine.calibration_quantile, FIXED_THRESHOLDS, pair_sets)
    return {"embedder": recipe.embedder.model, "documents": len(documents), "pair_sets": [p.name for p in pair_sets],
            "pairs": {p.name: len(p.scores) for p in pair_sets},
            "thresholds": {str(q): c.to_dict() for q, c in calibrations.items()}, "settings": table,
            "leakage_kept": leakage_kept(recipe, queries, positives)}


def leakage_kept(recipe: Recipe, queries: Sequence[str], positives: Sequence[str]) -> float | None:
    """The share of known-good pairs the recipe's leakage gate keeps: it is set on words, not
    on an embedder, but real titles reuse their text's words too (synthgen/gates/leakage.py)."""
    from synthgen.gates.leakage import LeakageFilter

    if not queries:
        return None
    rows = [{"query": q, "positive": p} for q, p in zip(queries, positives)]
    reasons = LeakageFilter(recipe.gates.leakage).check(rows, None).reasons
    return sum(not r for r in reasons) / len(reasons)


def format_report(report: dict[str, Any]) -> list[str]:
    """The report as lines of at most 80 columns: shares kept overall, then per language."""
    names = report["pair_sets"]
    lines = [f"embedder {report['embedder']}, {report['documents']:,} documents",
             "pairs: " + ", ".join(f"{report['pairs'][n]:,} {n}" for n in names), "",
             f"{'setting':<30}" + "".join(f"{n[:22]:>24}" for n in names)]
    for entry in report["settings"]:
        lines.append(f"{entry['setting']:<30}" + "".join(f"{_share(entry['kept'][n].get('all')):>24}" for n in names))
    if report.get("leakage_kept") is not None:
        lines += ["", f"the leakage gate (this recipe's settings) keeps {_share(report['leakage_kept'])} "
                      f"of the {names[0]}"]
    for name in names:
        languages = sorted(k for k in report["settings"][0]["kept"][name] if k != "all")
        if len(languages) < 2:
            continue
        lines += ["", f"{name}, kept per language:", f"{'setting':<30}" + "".join(f"{lang:>7}" for lang in languages)]
        for entry in report["settings"]:
            lines.append(f"{entry['setting']:<30}"
                         + "".join(f"{_share(entry['kept'][name].get(lang)):>7}" for lang in languages))
    return lines


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _read_source(source: Path, limit_docs: int | None) -> tuple[Recipe, list[tuple[str, str]], list[tuple]]:
    """The recipe, the documents (text, language) and the generated rows (query, positive,
    query language) of a run folder, or the recipe and its corpus's documents."""
    if source.is_dir():
        folder = RunFolder(source)
        if not folder.manifest.is_file() and not (folder.root / "state.json").is_file():
            raise UserError(f"{source}: not a synthgen run (no manifest.json or state.json)")
        recipe = build_recipe(_recipe_of(folder))
        documents = [(t, lang) for path in folder.document_parts()
                     for t, lang in zip(*pq.read_table(path, columns=["text", "language"]).to_pydict().values())]
        generated = [(r["query"], r["positive"], r["query_language"]) for path in folder.parts()
                     for r in pq.read_table(path, columns=["query", "positive", "query_language"]).to_pylist()]
        return recipe, documents[:limit_docs], generated
    recipe = load_recipe(source)
    from synthgen.corpus.readers import Document, read_corpus

    documents = []
    for config in recipe.corpus:
        for item in read_corpus(config, config.resolved_path()):
            if isinstance(item, Document):
                documents.append((item.text, item.language))
    if not documents:
        raise UserError(f"{source}: its corpus holds no usable documents")
    return recipe, documents[:limit_docs], []


def _recipe_of(folder: RunFolder) -> dict[str, Any]:
    if folder.manifest.is_file():
        return orjson.loads(folder.manifest.read_bytes())["recipe"]
    return orjson.loads((folder.root / "state.json").read_bytes())["fingerprint"]["recipe"]


def _benchmark_pairs(path: Path) -> tuple[list[str], list[str], list[str]]:
    """(query, relevant document, query language) for each relevant pair of a labeled set."""
    from synthgen.evaluation.benchmark import load_benchmark

    bench = load_benchmark(path)
    documents = dict(zip(bench.corpus_ids, bench.corpus_texts))
    queries, positives, languages = [], [], []
    for query_id, text, language in zip(bench.query_ids, bench.query_texts, bench.query_languages):
        for doc_id, score in bench.qrels.get(query_id, {}).items():
            if score > 0:
                queries.append(text)
                positives.append(documents[doc_id])
                languages.append(language or "all")
    return queries, positives, languages
