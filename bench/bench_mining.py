"""Benchmark: synthgen.mining.hard_negatives.mine_negatives vs sentence-transformers' mine_hard_negatives.

    .venv/bin/python bench/bench_mining.py [--queries 100000 --docs 100000] [--faiss]

Both miners get the same synthetic vectors: 384-d, float32, L2-normalized, seeded; documents
scattered around cluster centres (so every query has near neighbours besides its positive), each
query a noisy copy of its positive document. sentence-transformers needs a model, so it gets a
stand-in whose `encode_query`/`encode_document` return the precomputed vectors and whose
`similarity` functions are the ones a cosine model uses (`cos_sim`, `pairwise_cos_sim`): its
timing is the whole `mine_hard_negatives` call minus the encoding. Settings: the NV-Retriever
recipe (num_negatives=3, relative_margin=0.05, sampling "top"), n-tuple output.

Each side runs in its own subprocess, which reports its wall time and its peak RSS (VmHWM), with
the RSS before the call (vectors loaded, libraries imported: torch on both sides, as synthgen's
embedder has it loaded when it mines, so ours can pre-filter in bfloat16) for reference. Prints a table and
writes bench/results/mining.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
SETTINGS = dict(num_negatives=3, relative_margin=0.05, sampling_strategy="top")


def make_vectors(n_queries: int, n_docs: int, dim: int, seed: int) -> dict[str, np.ndarray]:
    """Clustered unit vectors: docs around n_docs/50 centres, 3% of them near-copies of another doc
    (false-negative bait for the margin), and queries = noisy copies of their positive doc."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n_docs // 50), dim), dtype=np.float32)
    docs = centres[rng.integers(0, len(centres), n_docs)]
    docs += 0.9 * rng.standard_normal((n_docs, dim), dtype=np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    copies = rng.choice(n_docs, n_docs * 3 // 100, replace=False)
    docs[copies] = docs[rng.integers(0, n_docs, len(copies))] + 0.015 * rng.standard_normal((len(copies), dim))
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    positives = rng.integers(0, n_docs, n_queries)
    noise = rng.uniform(0.02, 0.06, (n_queries, 1)).astype(np.float32)
    queries = docs[positives] + noise * rng.standard_normal((n_queries, dim), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return {"queries": queries, "docs": docs, "positives": positives}


def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(side: str, data: Path) -> None:
    """Run one miner on the saved vectors; save its negatives (-1 padded) and print a JSON line."""
    queries, docs = np.load(data / "queries.npy"), np.load(data / "docs.npy")
    positives = np.load(data / "positives.npy")
    run = {"ours": run_ours, "ours-faiss": run_ours, "st": run_st}[side]
    prepared = run(queries, docs, positives, side, prepare_only=True)
    base = rss_mb("VmRSS")
    start = time.perf_counter()
    negatives = run(queries, docs, positives, side, prepared=prepared)
    seconds = time.perf_counter() - start
    np.save(data / f"negatives-{side}.npy", negatives)
    print(json.dumps({"side": side, "seconds": seconds, "base_rss_mb": base, "peak_rss_mb": rss_mb("VmHWM")}))


def run_ours(queries, docs, positives, side, prepare_only=False, prepared=None):
    from synthgen.config.quality import MiningConfig
    from synthgen.mining.exact_search import native_bfloat16
    from synthgen.mining.hard_negatives import mine_negatives

    if prepare_only:  # libraries imported before timing, as for sentence-transformers (torch, for bfloat16)
        native_bfloat16()
        return None
    result = mine_negatives(queries, docs, positives, MiningConfig(**SETTINGS, use_faiss=side == "ours-faiss"))
    out = np.full((len(queries), SETTINGS["num_negatives"]), -1, dtype=np.int64)
    for i, negatives in enumerate(result.negatives):
        out[i, :len(negatives)] = negatives
    return out


def run_st(queries, docs, positives, side, prepare_only=False, prepared=None):
    import torch
    from datasets import Dataset
    from sentence_transformers.util import cos_sim, mine_hard_negatives, pairwise_cos_sim

    if prepare_only:
        doc_texts = [f"d{j}" for j in range(len(docs))]
        dataset = Dataset.from_dict({"anchor": [f"q{i}" for i in range(len(queries))],
                                     "positive": [doc_texts[p] for p in positives]})
        return dataset, doc_texts

    class VectorModel:  # what mine_hard_negatives uses of a SentenceTransformer, on fixed vectors
        device = torch.device("cpu")

        def encode_query(self, texts, **kwargs):
            return queries[[int(t[1:]) for t in texts]]

        def encode_document(self, texts, **kwargs):
            return docs[[int(t[1:]) for t in texts]]

        similarity, similarity_pairwise = staticmethod(cos_sim), staticmethod(pairwise_cos_sim)

    dataset, doc_texts = prepared
    rows = mine_hard_negatives(dataset, VectorModel(), corpus=doc_texts, output_format="n-tuple", verbose=False,
                               **SETTINGS)
    out = np.full((len(queries), SETTINGS["num_negatives"]), -1, dtype=np.int64)
    k = SETTINGS["num_negatives"]
    for row in rows:  # n-tuple keeps only queries with all k negatives
        out[int(row["anchor"][1:])] = [int(row[f"negative_{i}"][1:]) for i in range(1, k + 1)]
    return out


def run_side(side: str, data: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", side, "--data", str(data)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{side} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(data: Path, side: str, vectors: dict[str, np.ndarray]) -> dict:
    """Rows sentence-transformers completed vs our complete rows, how many are identical, and for
    the rows that differ, the largest float64 score gap between the two picks (rounding ties?)."""
    ours, theirs = np.load(data / f"negatives-{side}.npy"), np.load(data / "negatives-st.npy")
    our_full, st_full = (ours >= 0).all(1), (theirs >= 0).all(1)
    both = our_full & st_full
    differ = np.flatnonzero(both & (ours != theirs).any(1))
    queries, docs = vectors["queries"].astype(np.float64), vectors["docs"].astype(np.float64)
    gaps = [np.abs(np.einsum("d,kd->k", queries[i], docs[ours[i]] - docs[theirs[i]])).max() for i in differ]
    return {"st_rows": int(st_full.sum()), "our_complete_rows": int(our_full.sum()),
            "rows_only_one_side_completed": int((our_full ^ st_full).sum()), "compared_rows": int(both.sum()),
            "identical_rows": int(both.sum() - differ.size),
            "max_float64_score_gap_in_differing_rows": float(max(gaps, default=0.0))}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faiss", action="store_true", help="also time mine_negatives(use_faiss=True)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each side this many times (alternating) and keep the fastest")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "mining.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    return parser


def main() -> None:
    args = parser().parse_args()
    if args.worker:
        return worker(args.worker, args.data)
    report = run(args)
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


def run(args: argparse.Namespace | None = None, **options) -> dict:
    """The benchmark as a report dict. `options` override the CLI defaults by name
    (`run(queries=50_000, docs=50_000, repeat=2)`); `python -m bench` calls it so."""
    if args is None:
        from bench.options import defaults_with

        args = defaults_with(parser(), options)

    with tempfile.TemporaryDirectory(prefix="bench-mining-") as tmp:
        data = Path(tmp)
        vectors = make_vectors(args.queries, args.docs, args.dim, args.seed)
        for name, array in vectors.items():
            np.save(data / f"{name}.npy", array)
        sides = ["st", "ours"] + (["ours-faiss"] if args.faiss else [])
        runs = [run_side(side, data) for _ in range(args.repeat) for side in sides]  # alternating
        results = {side: best_of([r for r in runs if r["side"] == side]) for side in sides}
        for side in sides[1:]:
            results[side]["speedup_vs_st"] = results["st"]["seconds"] / results[side]["seconds"]
            results[side]["same_negatives_as_st"] = compare(data, side, vectors)
    return {"queries": args.queries, "docs": args.docs, "dim": args.dim, "seed": args.seed, "settings": SETTINGS,
            "repeat": args.repeat, "load_average_after": os.getloadavg(),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), **versions()},
            "results": results}


def best_of(runs: list[dict]) -> dict:
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["all_seconds"] = [round(r["seconds"], 3) for r in runs]
    return best


def versions() -> dict:
    import importlib.metadata as md

    names = ("numpy", "torch", "sentence-transformers", "faiss-cpu")
    return {name: md.version(name) for name in names if _installed(name)}


def _installed(name: str) -> bool:
    import importlib.metadata as md

    try:
        return bool(md.version(name))
    except md.PackageNotFoundError:
        return False


def print_table(report: dict) -> None:
    print(f"\n{report['queries']:,} queries x {report['docs']:,} docs, {report['dim']}-d, "
          f"{report['machine']['cpus']} CPUs, settings {report['settings']}")
    print(f"{'miner':<12} {'seconds':>9} {'speedup':>8} {'peak RSS MB':>12} {'RSS before MB':>14}  identical rows")
    for side, r in report["results"].items():
        same = r.get("same_negatives_as_st")
        identical = f"{same['identical_rows']:,}/{same['compared_rows']:,}" if same else ""
        speedup = f"{r['speedup_vs_st']:.2f}x" if "speedup_vs_st" in r else ""
        print(f"{side:<12} {r['seconds']:>9.2f} {speedup:>8} {r['peak_rss_mb']:>12,.0f} {r['base_rss_mb']:>14,.0f}"
              f"  {identical}")


if __name__ == "__main__":
    main()
