"""Benchmark: synthgen.corpus.near_dup against datasketch (MinHash + MinHashLSH).

    .venv/bin/python bench/bench_near_dup.py [--rows 1000000] [--datasketch-rows 200000]

Data: N synthetic search queries from word-level templates (seeded), of which a controlled
fraction (default 10%) are small edits of an earlier row: a word replaced, deleted or inserted,
two letters swapped, capitalized with a "?" added, or an exact copy. Because edits only copy
earlier rows, the first M rows are themselves an M-row data set of the same kind, which is
the datasketch subsample when datasketch cannot do all N rows in a few minutes.

Each side runs in its own subprocess (so its VmHWM is its own peak): it generates the rows,
then times one full pass (ours: find_near_duplicates; datasketch: normalization and shingling,
MinHash.bulk with the same num_perm, MinHashLSH(threshold) insertion, one query per row and
union-find over the answers, keeping the smallest id per cluster) and writes each row's cluster
representative for scoring. Peak RSS includes the generated rows; the baseline RSS before the
timed pass is reported too.

Scoring against exact Jaccard: sample S rows uniformly; for each, find every row whose exact
Jaccard (character n-gram sets of the normalized texts, as Python sets of strings) is at or
above the threshold. The search is exhaustive yet fast: if J(A, B) >= t then B holds at least
ceil(t|A|) of A's n-grams, so B must contain one of A's (|A| - ceil(t|A|) + 1) rarest n-grams;
all rows holding one of those are checked exactly. Then
  pair recall   = true pairs (sampled row, neighbour) that end in the same cluster,
  row recall    = sampled rows with a true neighbour that are in a cluster of 2 or more,
  row precision = sampled rows in a cluster of 2 or more that have a true neighbour.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# ---------------------------------------------------------------------------------- data

FRAMES = [
    "how do i {vp} {ctx}", "how to {vp} {ctx}", "what is the best way to {vp} {ctx}",
    "is it possible to {vp} {ctx}", "why can't i {vp} {ctx}", "tips to {vp} {ctx}", "can you {vp} {ctx}",
    "should i {vp} or {vp2}", "what happens if you {vp} {ctx}", "{np} vs {np2} {ctx}", "best {np} {ctx}",
    "{np} explained {ctx}", "difference between {np} and {np2} {ctx}", "how much does a {np} cost {ctx}",
    "where to buy {np} {ctx}", "{np} not working after {event} {ctx}", "is {np} worth it {ctx}",
    "how long does it take to {vp} {ctx}", "what causes {np} {ctx}", "step by step guide to {vp} {ctx}",
    "who invented the {np} and is it used {ctx}", "common mistakes when you {vp} {ctx}",
    "{np} {ctx} {year}", "alternatives to {np} {ctx}", "is it safe to {vp} {ctx}",
    "how often should you {vp} {ctx}", "what to do when my {np} {problem} {ctx}",
    "how does {np} affect {np2} {ctx}", "{vp} {ctx} for {audience}", "reviews of {np} {ctx}",
]
WORDS = {
    "noun": """battery|router|laptop|garden|kitchen sink|mortgage|passport|visa|invoice|spreadsheet|database|
server|container|printer|tax return|resume|cover letter|bicycle chain|car engine|brake pad|tire|thermostat|
boiler|heat pump|solar panel|roof|gutter|fence|lawn|tomato plant|orchid|puppy|kitten|aquarium|bread dough|
sourdough starter|espresso machine|coffee grinder|blender|oven|microwave|fridge|freezer|dishwasher|
washing machine|dryer|vacuum cleaner|air purifier|humidifier|mattress|pillow|sofa|bookshelf|desk chair|
monitor|keyboard|mouse|webcam|microphone|headphones|speaker|smartphone|tablet|smartwatch|camera lens|tripod|
drone|guitar|piano|violin|drum kit|amplifier|savings account|credit card|student loan|pension|index fund|
stock option|bond|crypto wallet|insurance policy|lease contract|warranty|refund|flight ticket|hotel booking|
train pass|rental car|blood pressure|cholesterol|vitamin d|iron level|sleep cycle|migraine|back pain|
knee injury|sunburn|allergy|cough|fever|rash|toothache|contact lens|hearing aid|yoga mat|running shoe|
protein powder|meal plan|diet|calorie budget|recipe book|python script|excel formula|sql query|
git repository|docker image|kubernetes cluster|api key|ssh key|password manager|vpn|firewall|wifi signal|
bluetooth speaker|usb drive|hard drive|ssd|graphics card|cpu cooler|power supply|motherboard|bios|
operating system|browser extension|email filter|calendar invite|zoom call|wedding dress|birthday cake|
baby stroller|car seat|crib|school uniform|backpack|lunch box|hiking boot|tent|sleeping bag|kayak|
fishing rod|ski jacket|snowboard|surfboard|climbing rope|electric scooter|garage door|ceiling fan|
smoke detector|water heater|septic tank|chimney|patio|sewing machine|3d printer|soldering iron|chainsaw|
lawn mower|leaf blower|pressure washer|ladder""",
    "verb": """fix|clean|install|replace|repair|reset|update|upgrade|configure|unlock|charge|calibrate|sharpen|
paint|insulate|waterproof|seal|grow|prune|water|feed|train|groom|bake|ferment|roast|brew|store|freeze|thaw|
cancel|renew|transfer|refinance|claim|dispute|file|appeal|negotiate|invest|withdraw|budget|save|track|
back up|restore|migrate|encrypt|debug|deploy|test|monitor|optimize|speed up|free up|connect|pair|sync|
share|export|import|print|scan|convert|compress|resize|edit|record|stream|mix|tune|learn|teach|practice|
memorize|translate|pronounce|write|proofread|format|cite|publish|sell|donate|recycle""",
    "adj": """old|new|cheap|expensive|broken|slow|noisy|leaking|frozen|cracked|wireless|portable|electric|
manual|digital|smart|used|refurbished|small|large|heavy|lightweight|waterproof|organic|vegan|spicy|sweet|
sour|homemade|fresh|dry|wet|rusty|dusty|tangled|overheating|flickering|blinking|stuck|loose|tight|warped|
moldy|stained|faded|corrupted|encrypted|shared|private|public|remote|local|default|custom|premium|basic|
advanced|beginner|professional|vintage|modern""",
    "place": """london|paris|berlin|madrid|lisbon|rome|vienna|prague|dublin|oslo|tokyo|seoul|bangkok|sydney|
toronto|chicago|boston|denver|austin|seattle|lima|santiago|cairo|nairobi|mumbai|delhi|singapore""",
    "audience": """beginners|kids|teenagers|students|seniors|nurses|teachers|freelancers|small businesses|
new parents|renters|homeowners|remote workers|gamers|runners|cyclists|photographers|developers""",
    "event": """a move|a power outage|the update|a storm|a flood|surgery|pregnancy|a divorce|retirement|
a job change|the holidays|a long flight""",
    "os": "windows 11|windows 10|macos|ubuntu|android|ios|chromeos",
    "problem": "stops working|keeps beeping|smells burnt|won't turn on|makes noise|overheats|drains fast|leaks",
}
WORDS = {k: [w.strip() for w in v.replace("\n", "").split("|")] for k, v in WORDS.items()}
CONTEXTS = ["in {place}", "for {audience}", "with a {adj} {noun}", "without a {noun}", "on a budget",
            "at home", "in winter", "in summer", "after {event}", "before {event}", "near {place}",
            "under {price} dollars", "in {year}", "for the first time", "on {os}", "by hand"]
EDIT_WORDS = "please quickly easily really new free online simple good fast the best my some".split()
SLOT = re.compile(r"\{(\w+)\}")


def _fill(template: str, rng: random.Random) -> str:
    def slot(match: re.Match) -> str:
        name = match.group(1).rstrip("2")
        if name == "np":
            noun = rng.choice(WORDS["noun"])
            return f"{rng.choice(WORDS['adj'])} {noun}" if rng.random() < 0.8 else noun
        if name == "vp":
            tail = f" {_fill(rng.choice(CONTEXTS), rng)}" if rng.random() < 0.7 else ""
            return f"{rng.choice(WORDS['verb'])} {_fill('{np}', rng)}{tail}"
        if name == "ctx":
            return " ".join(_fill(c, rng) for c in rng.sample(CONTEXTS, rng.randint(1, 3)))
        if name == "price":
            return str(rng.randrange(20, 3000, 10))
        if name == "year":
            return str(rng.randrange(2010, 2031))
        return rng.choice(WORDS[name])
    return SLOT.sub(slot, template)


def _edit(query: str, rng: random.Random) -> str:
    """One small edit of an earlier query (a sixth of them are exact copies)."""
    words, kind = query.split(), rng.randrange(6)
    i = rng.randrange(len(words))
    if kind == 0:
        words[i] = rng.choice(EDIT_WORDS)
    elif kind == 1 and len(words) > 3:
        del words[i]
    elif kind == 2:
        words.insert(i, rng.choice(EDIT_WORDS))
    elif kind == 3 and len(words[i]) > 2:
        w, j = words[i], rng.randrange(len(words[i]) - 1)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif kind == 4:
        return query[0].upper() + query[1:] + "?"
    return " ".join(words)


def generate(rows: int, seed: int = 0, dup_fraction: float = 0.1) -> tuple[list[str], list[str]]:
    """(ids, queries): ids are stable hex strings, unrelated to row order."""
    rng, queries = random.Random(seed), []
    for k in range(rows):
        if k and rng.random() < dup_fraction:
            queries.append(_edit(queries[rng.randrange(k)], rng))
        else:
            queries.append(_fill(rng.choice(FRAMES), rng))
    ids = [f"{(k * 0x9E3779B97F4A7C15 + seed) % (1 << 64):016x}" for k in range(rows)]
    return ids, queries


# ------------------------------------------------------------------------------- workers

def _rss_now_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _find(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _run_datasketch(ids: list[str], texts: list[str], args) -> np.ndarray:
    from datasketch import MinHash, MinHashLSH

    n = args.ngram
    shingles = []
    for text in texts:
        norm = _normalize(text)
        grams = {norm[i : i + n] for i in range(len(norm) - n + 1)} or {norm}
        shingles.append([g.encode("utf-8") for g in grams])
    minhashes = MinHash.bulk(shingles, num_perm=args.num_perm, seed=args.seed)
    lsh = MinHashLSH(threshold=args.threshold, num_perm=args.num_perm)
    with lsh.insertion_session() as session:
        for i, m in enumerate(minhashes):
            session.insert(i, m, check_duplication=False)
    parent = list(range(len(texts)))
    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            a, b = _find(parent, i), _find(parent, j)
            if a != b:  # the root is the smaller id, so it is the row kept
                parent[max(a, b, key=ids.__getitem__)] = min(a, b, key=ids.__getitem__)
    return np.array([_find(parent, i) for i in range(len(texts))], np.int64)


def _run_ours(ids: list[str], texts: list[str], args) -> np.ndarray:
    from synthgen.corpus.near_dup import NearDupConfig, find_near_duplicates

    config = NearDupConfig(threshold=args.threshold, ngram=args.ngram, num_perm=args.num_perm, seed=args.seed)
    root = np.arange(len(texts))
    for dropped, (kept, _) in find_near_duplicates(ids, texts, config).items():
        root[dropped] = kept
    return root


def worker(args) -> None:
    ids, texts = generate(args.rows, args.data_seed, args.dup_fraction)
    baseline = _rss_now_mib()
    start = time.perf_counter()
    root = (_run_ours if args.worker == "ours" else _run_datasketch)(ids, texts, args)
    seconds = time.perf_counter() - start
    np.save(args.out, root)
    peak = _peak_rss_mib()  # VmHWM, not ru_maxrss: that keeps the parent's RSS at fork (Linux)
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak, "rss_before_mib": baseline}))


def run_side(side: str, rows: int, args, scratch: Path) -> dict:
    out = scratch / f"{side}-{rows}.npy"
    cmd = [sys.executable, __file__, "--worker", side, "--rows", str(rows), "--out", str(out)]
    for name in ("threshold", "ngram", "num_perm", "seed", "data_seed", "dup_fraction"):
        cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    print(f"  running {side} on {rows:,} rows ...", flush=True)
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["root"] = np.load(out)
    return result


# ------------------------------------------------------------------------- ground truth

def _gram_tokens(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, 64-bit n-gram hash) for every distinct n-gram of every normalized text.

    Independent of the module under test (another polynomial, another mixer); used only to
    find which rows to check, never to score them.
    """
    rows, tokens = [], []
    for lo in range(0, len(texts), 100_000):
        norm = [_normalize(t) for t in texts[lo : lo + 100_000]]
        lengths = np.fromiter(map(len, norm), np.int64, len(norm))
        joined = ("\0" * (n - 1)).join(norm)  # a text shorter than n: its one window, zero-padded
        points = np.frombuffer(joined.encode("utf-32-le"), np.uint32).astype(np.uint64)
        padded = np.concatenate([points, np.zeros(n, np.uint64)])
        h = np.zeros(len(points) + 1, np.uint64)
        for k in range(n):
            h = h * np.uint64(1_000_003) + padded[k : k + len(h)]
        h ^= h >> np.uint64(31)
        h *= np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
        counts = np.maximum(lengths - n + 1, 1)
        starts = np.cumsum(lengths + n - 1) - (lengths + n - 1)
        where = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
        rows.append(np.repeat(np.arange(lo, lo + len(norm)), counts))
        tokens.append(h[where])
    return np.concatenate(rows), np.concatenate(tokens)


def _grams(text: str, n: int) -> set[str]:
    norm = _normalize(text)
    return {norm[i : i + n] for i in range(len(norm) - n + 1)} or {norm}


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    values = np.sort(values)  # np.unique's hash-table path is slow on tens of millions of ints
    return values[np.concatenate([[True], values[1:] != values[:-1]])]


def exact_neighbours(texts: list[str], sample: np.ndarray, threshold: float, n: int) -> dict[int, dict[int, float]]:
    """{sampled row: {row: exact Jaccard >= threshold}} by the rare-n-gram filter (docstring).

    Candidates come from the postings of a row's rarest n-grams; their overlap with the row is
    first counted on hashed n-grams (numpy), and every candidate within 0.05 of the threshold
    is then scored exactly on Python sets of n-gram strings.
    """
    rows, tokens = _gram_tokens(texts, n)
    bits = max(1, (len(texts) - 1).bit_length())
    token = tokens >> np.uint64(bits)  # (64 - bits)-bit n-gram ids, so (id, row) packs in 64 bits
    by_token = _sorted_unique((token << np.uint64(bits)) | rows.astype(np.uint64))
    by_row = _sorted_unique((rows.astype(np.uint64) << np.uint64(64 - bits)) | token)
    del rows, tokens, token
    token_of = by_token >> np.uint64(bits)
    row_mask, token_mask = np.uint64((1 << bits) - 1), np.uint64((1 << (64 - bits)) - 1)
    size = np.bincount((by_row >> np.uint64(64 - bits)).astype(np.int64), minlength=len(texts))
    first = np.cumsum(size) - size
    truth = {}
    for a in sample.tolist():
        mine = by_row[first[a] : first[a] + size[a]] & token_mask
        lo, hi = np.searchsorted(token_of, mine), np.searchsorted(token_of, mine, side="right")
        need = len(mine) - math.ceil(threshold * len(mine) - 1e-9) + 1
        rare = np.argsort(hi - lo, kind="stable")[:need]
        cand = np.unique(np.concatenate([by_token[lo[r] : hi[r]] for r in rare]) & row_mask).astype(np.int64)
        cand = cand[(cand != a) & (size[cand] >= threshold * len(mine) - 1) & (size[cand] * threshold <= len(mine) + 1)]
        lengths = size[cand]
        where = np.repeat(first[cand] - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
        shared = np.bincount(np.repeat(np.arange(len(cand)), lengths),
                             weights=np.isin(by_row[where] & token_mask, mine), minlength=len(cand))
        close = cand[shared / (len(mine) + lengths - shared) >= threshold - 0.05]
        grams, found = _grams(texts[a], n), {}
        for b in close.tolist():
            other = _grams(texts[b], n)
            jac = len(grams & other) / len(grams | other)
            if jac >= threshold:
                found[b] = jac
        truth[a] = found
    return truth


def score(root: np.ndarray, truth: dict[int, dict[int, float]]) -> dict:
    """Pair recall (overall and by Jaccard band), row recall and row precision."""
    size = np.bincount(root, minlength=len(root))
    flagged = lambda r: size[root[r]] > 1  # noqa: E731
    bins = [(0.8, 0.85), (0.85, 0.9), (0.9, 0.95), (0.95, 1.01)]
    hit, total = np.zeros(len(bins)), np.zeros(len(bins))
    pairs = pairs_hit = 0
    for a, found in truth.items():
        for b, jac in found.items():
            together = root[a] == root[b]
            pairs, pairs_hit = pairs + 1, pairs_hit + together
            for k, (lo, hi) in enumerate(bins):
                if lo <= jac < hi:
                    hit[k] += together
                    total[k] += 1
    dup = [a for a, f in truth.items() if f]
    flag = [a for a in truth if flagged(a)]
    return {
        "true_pairs": pairs,
        "pair_recall": pairs_hit / max(pairs, 1),
        "pair_recall_by_jaccard": {f"[{lo},{min(hi, 1.0)})": (h / t if t else None, int(t))
                                   for (lo, hi), h, t in zip(bins, hit, total)},
        "rows_with_true_neighbour": len(dup),
        "row_recall": sum(flagged(a) for a in dup) / max(len(dup), 1),
        "rows_flagged": len(flag),
        "row_precision": sum(bool(truth[a]) for a in flag) / max(len(flag), 1),
        "rows_dropped_total": int((root != np.arange(len(root))).sum()),
    }


# --------------------------------------------------------------------------------- main

def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--datasketch-rows", type=int, default=None,
                        help="datasketch on only the first M rows (default: all; 1M rows take it about 3 "
                             "minutes and 11 GiB); ours then runs on those M rows too")
    parser.add_argument("--sample", type=int, default=3000, help="rows sampled for exact-Jaccard scoring")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--dup-fraction", type=float, default=0.1)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "near_dup.json")
    parser.add_argument("--worker", choices=["ours", "datasketch"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser


def main() -> None:
    args = parser().parse_args()
    if args.worker:
        return worker(args)
    report = run(args)
    print_table(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")


def run(args: argparse.Namespace | None = None, **options) -> dict:
    """The benchmark as a report dict. `options` override the CLI defaults by name
    (`run(rows=200_000, datasketch_rows=50_000)`); `python -m bench` calls it so."""
    if args is None:
        from bench.options import defaults_with

        args = defaults_with(parser(), options)

    from synthgen.corpus.near_dup import NearDupConfig, candidate_probability

    import datasketch
    from datasketch.lsh import _optimal_param

    config = NearDupConfig(threshold=args.threshold, ngram=args.ngram, num_perm=args.num_perm, seed=args.seed)
    small = min(args.datasketch_rows or args.rows, args.rows)
    ours_b, ours_r = config.bands_rows
    ds_b, ds_r = _optimal_param(args.threshold, args.num_perm, 0.5, 0.5)
    report = {
        "rows": args.rows, "datasketch_rows": small, "threshold": args.threshold, "ngram": args.ngram,
        "num_perm": args.num_perm, "dup_fraction": args.dup_fraction, "data_seed": args.data_seed,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "numpy": np.__version__,
                    "datasketch": datasketch.__version__},
        "bands_rows": {"ours": [ours_b, ours_r], "datasketch": [ds_b, ds_r]},
        "candidate_probability_at_threshold": {
            "ours": candidate_probability(args.threshold, ours_b, ours_r),
            "datasketch": candidate_probability(args.threshold, ds_b, ds_r)},
        "scoring_method": __doc__.split("Scoring against exact Jaccard: ")[1].strip(),
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as scratch:
        runs = [("ours", args.rows)] + ([("ours", small)] if small != args.rows else []) + [("datasketch", small)]
        results = {(side, rows): run_side(side, rows, args, Path(scratch)) for side, rows in runs}
    for rows in sorted({args.rows, small}, reverse=True):
        _, texts = generate(rows, args.data_seed, args.dup_fraction)
        sample = np.random.default_rng(12345).choice(rows, size=min(args.sample, rows), replace=False)
        print(f"  exact Jaccard neighbours of {len(sample):,} sampled rows among {rows:,} ...", flush=True)
        truth = exact_neighbours(texts, np.sort(sample), args.threshold, args.ngram)
        for side in ("ours", "datasketch"):
            if (side, rows) in results:
                r = results[(side, rows)]
                report["runs"].append({"side": side, "rows": rows, "seconds": r["seconds"],
                                       "rows_per_second": rows / r["seconds"], "peak_rss_mib": r["peak_rss_mib"],
                                       "rss_before_mib": r["rss_before_mib"], **score(r["root"], truth)})
    by = {(r["side"], r["rows"]): r for r in report["runs"]}
    ours_small, theirs = by[("ours", small)], by[("datasketch", small)]
    report["speedup_same_rows"] = {"rows": small, "ratio": theirs["seconds"] / ours_small["seconds"]}
    if small != args.rows:
        report["throughput_ratio_ours_full_vs_datasketch_subsample"] = {
            "note": f"per-row throughput: ours on {args.rows:,} rows / datasketch on {small:,} rows",
            "ratio": by[("ours", args.rows)]["rows_per_second"] / theirs["rows_per_second"]}
    return report


def print_table(report: dict) -> None:
    print(f"\nthreshold {report['threshold']}, {report['ngram']}-grams, num_perm {report['num_perm']}; "
          f"bands x rows: ours {report['bands_rows']['ours']}, datasketch {report['bands_rows']['datasketch']}")
    head = ("side", "rows", "seconds", "rows/s", "peak RSS MiB", "pair recall", "row recall", "row precision",
            "true pairs")
    print(" | ".join(f"{h:>13}" for h in head))
    for r in report["runs"]:
        cells = (r["side"], f"{r['rows']:,}", f"{r['seconds']:.2f}", f"{r['rows_per_second']:,.0f}",
                 f"{r['peak_rss_mib']:,.0f}", f"{r['pair_recall']:.4f}", f"{r['row_recall']:.4f}",
                 f"{r['row_precision']:.4f}", str(r["true_pairs"]))
        print(" | ".join(f"{c:>13}" for c in cells))
    s = report["speedup_same_rows"]
    print(f"speed-up on the same {s['rows']:,} rows (datasketch seconds / ours): {s['ratio']:.1f}x")
    if "throughput_ratio_ours_full_vs_datasketch_subsample" in report:
        t = report["throughput_ratio_ours_full_vs_datasketch_subsample"]
        print(f"{t['note']}: {t['ratio']:.1f}x")


if __name__ == "__main__":
    main()
