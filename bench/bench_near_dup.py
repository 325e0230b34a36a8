"""Benchmark: synthgen.gates.near_dup against datasketch (MinHash + MinHashLSH).

    .venv/bin/python bench/bench_near_dup.py [--rows 1000000] [--datasketch-rows 200000]

Data: N synthetic search queries from word-level templates (seeded), of which a controlled
fraction (default 10%) are small edits of an earlier row: a word replaced, deleted or inserted,
two letters swapped, capitalized with a "?" added, or an exact copy. Because edits only copy
earlier rows, the first M rows are themselves an M-row data set of the same kind, which is
the datasketch subsample when datasketch cannot do all N rows in a few minutes.

Each side runs in its own subprocess (so ru_maxrss is its own peak): it generates the rows,
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
import resource
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
    from synthgen.gates.near_dup import NearDupConfig, find_near_duplicates

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
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
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
        points = np.frombuffer("".join(norm).encode("utf-32-le"), np.uint32).astype(np.uint64)
        padded = np.concatenate([points, np.zeros(n, np.uint64)])
        h = np.zeros(len(points) + 1, np.uint64)
        for k in range(n):  # short texts hash their zero-padded tail: fine for candidate search
            h = h * np.uint64(1_000_003) + padded[k : k + len(h)]
        h ^= h >> np.uint64(31)
        h *= np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
        counts = np.maximum(lengths - n + 1, 1)
        starts = np.cumsum(lengths) - lengths
        where = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
        rows.append(np.repeat(np.arange(lo, lo + len(norm)), counts))
        tokens.append(h[where])
    return np.concatenate(rows), np.concatenate(tokens)


def _grams(text: str, n: int) -> set[str]:
    norm = _normalize(text)
    return {norm[i : i + n] for i in range(len(norm) - n + 1)} or {norm}


def exact_neighbours(texts: list[str], sample: np.ndarray, threshold: float, n: int) -> dict[int, dict[int, float]]:
    """{sampled row: {row: exact Jaccard >= threshold}} by the rare-n-gram filter (docstring)."""
    rows, tokens = _gram_tokens(texts, n)
    bits = max(1, (len(texts) - 1).bit_length())
    keys = np.unique((tokens & ~np.uint64((1 << bits) - 1)) | rows.astype(np.uint64))  # token-major
    token_of = keys >> np.uint64(bits)
    del rows, tokens
    truth = {}
    for a in sample.tolist():
        grams = _grams(texts[a], n)
        mine = np.unique(_gram_tokens([texts[a]], n)[1] >> np.uint64(bits))
        lo, hi = np.searchsorted(token_of, mine), np.searchsorted(token_of, mine, side="right")
        need = len(grams) - math.ceil(threshold * len(grams) - 1e-9) + 1
        rare = np.argsort(hi - lo, kind="stable")[:need]
        candidates = np.unique(np.concatenate([keys[lo[r] : hi[r]] for r in rare]) & np.uint64((1 << bits) - 1))
        found = {}
        for b in candidates.tolist():
            if b != a:
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
