"""Contamination check: training rows must not contain a benchmark's test items.

A model trained on a test set's queries or documents scores well on that test set for the
wrong reason (MTEB issue 1372: ArguAna's test set inside a released training set). Given
`[contamination] against = [...]` in a recipe, every row's query and positive is compared
with every test query and test document of those sets, three ways, and a row that matches
is removed with reason `contaminated` and the test item it matched:

- `exact`: the same text after `normalize_text` (NFKC, case, punctuation, whitespace);
- `near_duplicate`: MinHash + LSH over character n-grams, verified by true Jaccard
  (`synthgen/corpus/near_dup.py`, threshold `near_dup_threshold`);
- `ngram`: a run of `ngram` (default 13) consecutive normalized words shared with a test
  item, the overlap test of GPT-3 (Brown et al. 2020, appendix C) and GPT-4's reports;
  texts shorter than `ngram` words are covered by the other two tests only.

Test-set layouts (`load_test_set`): a `.jsonl` file whose lines carry a query (`query`,
`question`, `anchor`) and/or documents (`text`, `document`, `passage`, `positive`, `pos`,
`negative`, `neg`; a string or a list); a folder with `corpus.jsonl` and/or
`queries.jsonl` (BEIR: `_id`, `title`, `text`; JSONL: `id`, `text`); a `datasets`
`save_to_disk` folder (a DatasetDict with `corpus`/`queries` splits, or any split with
the JSONL file's columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import orjson

from synthgen.config.quality import ContaminationConfig
from synthgen.corpus.near_dup import NearDupConfig, find_near_duplicates
from synthgen.errors import UserError
from synthgen.corpus.text import normalize_text
from synthgen.gates.exact import text_key

QUERY_FIELDS = ("query", "question", "anchor")
DOCUMENT_FIELDS = ("text", "document", "passage", "positive", "pos", "negative", "neg")


@dataclass(frozen=True)
class SetItem:
    """One test query or document: its set (the path given), kind, id and text."""

    test_set: str
    kind: str  # "query" or "document"
    id: str
    text: str

    def describe(self) -> dict[str, str]:
        return {"test_set": self.test_set, "test_kind": self.kind, "test_id": self.id,
                "test_text": self.text[:300]}


@dataclass
class Match:
    """Why a row is contaminated: which of its fields matched which test item, and how."""

    field: str  # "query" or "positive"
    how: str  # "exact", "near_duplicate" or "ngram"
    item: SetItem
    score: float = 1.0

    def detail(self) -> dict[str, Any]:
        return {"matched_field": self.field, "match": self.how, "match_score": round(self.score, 4),
                **self.item.describe()}


# ---- reading test sets -------------------------------------------------------------------


def load_test_set(path: str | Path) -> list[SetItem]:
    """Every query and document of the test set at `path` (see the module docstring)."""
    root = Path(path)
    name = str(path)
    if not root.exists():
        raise UserError(f"contamination.against: {root} does not exist (a JSONL file, a BEIR/JSONL folder "
                        "or a datasets save_to_disk folder)")
    if root.is_file():
        return list(_records_items(name, _jsonl(root), f"{root.name}"))
    if (root / "dataset_dict.json").is_file() or (root / "dataset_info.json").is_file():
        return _datasets_items(name, root)
    items: list[SetItem] = []
    for file_name, kind in (("corpus.jsonl", "document"), ("queries.jsonl", "query")):
        if (root / file_name).is_file():
            for number, record in enumerate(_jsonl(root / file_name)):
                text = _titled(record) if kind == "document" else str(record.get("text") or "")
                if text.strip():
                    items.append(SetItem(name, kind, str(record.get("_id", record.get("id", number))), text))
    if not items and not any((root / f).is_file() for f in ("corpus.jsonl", "queries.jsonl")):
        raise UserError(f"contamination.against: {root} holds neither corpus.jsonl/queries.jsonl (BEIR or JSONL) "
                        "nor dataset_dict.json (datasets save_to_disk)")
    return items


def _titled(record: dict) -> str:
    title, text = str(record.get("title") or "").strip(), str(record.get("text") or "")
    return f"{title} {text}" if title else text


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise UserError(f"contamination.against: {path} line {number}: not valid JSON ({exc})") from None
            if isinstance(record, dict):
                yield record


def _records_items(name: str, records: Iterable[dict], where: str) -> Iterator[SetItem]:
    for number, record in enumerate(records):
        record_id = str(record.get("_id", record.get("id", f"{where}:{number}")))
        for kind, fields in (("query", QUERY_FIELDS), ("document", DOCUMENT_FIELDS)):
            for field_name in fields:
                value = record.get(field_name)
                values = value if isinstance(value, list) else [value]
                for k, text in enumerate(v for v in values if isinstance(v, str) and v.strip()):
                    suffix = f"/{field_name}" + (f"/{k}" if isinstance(value, list) else "")
                    yield SetItem(name, kind, record_id + suffix, text)


def _datasets_items(name: str, root: Path) -> list[SetItem]:
    import datasets

    loaded = datasets.load_from_disk(str(root))
    splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [("train", loaded)]
    items: list[SetItem] = []
    for split, dataset in splits:
        if split == "qrels":
            continue
        if split in ("corpus", "queries"):
            kind = "document" if split == "corpus" else "query"
            for number, record in enumerate(dataset):
                text = _titled(record) if kind == "document" else str(record.get("text") or "")
                if text.strip():
                    items.append(SetItem(name, kind, str(record.get("_id", record.get("id", number))), text))
        else:
            items += _records_items(name, dataset, split)
    return items


# ---- matching --------------------------------------------------------------------------


def _word_ngrams(text: str, n: int) -> list[int]:
    words = normalize_text(text).split()
    return [hash(" ".join(words[i:i + n])) for i in range(len(words) - n + 1)]


class ContaminationIndex:
    """The test items of `config.against`, indexed for the three tests."""

    def __init__(self, config: ContaminationConfig, items: Sequence[SetItem] | None = None):
        self.config = config
        self.items = list(items) if items is not None else [i for p in config.against for i in load_test_set(p)]
        self.sets = {path: {"queries": 0, "documents": 0} for path in config.against}
        for item in self.items:
            self.sets.setdefault(item.test_set, {"queries": 0, "documents": 0})
            self.sets[item.test_set]["queries" if item.kind == "query" else "documents"] += 1
        self.by_key: dict[bytes, int] = {}
        for i, item in enumerate(self.items):
            self.by_key.setdefault(text_key(item.text), i)
        hashes, owners = [], []
        if config.ngram:
            for i, item in enumerate(self.items):
                grams = _word_ngrams(item.text, config.ngram)
                hashes += grams
                owners += [i] * len(grams)
        order = np.argsort(np.asarray(hashes, dtype=np.int64), kind="stable")
        self.gram_hashes = np.asarray(hashes, dtype=np.int64)[order]
        self.gram_owners = np.asarray(owners, dtype=np.int64)[order]

    def check(self, queries: Sequence[str], positives: Sequence[str]) -> dict[int, Match]:
        """{row index: the first match} for rows whose query or positive overlaps a test item."""
        found: dict[int, Match] = {}
        if not self.items:
            return found
        texts: dict[bytes, str] = {}
        uses: dict[bytes, list[tuple[int, str]]] = {}
        for field_name, values in (("query", queries), ("positive", positives)):
            for row, text in enumerate(values):
                if text is None:
                    continue
                key = text_key(text)
                texts.setdefault(key, text)
                uses.setdefault(key, []).append((row, field_name))
        matched: dict[bytes, tuple[str, int, float]] = {}
        for key in texts:
            if key in self.by_key:
                matched[key] = ("exact", self.by_key[key], 1.0)
        matched.update({k: v for k, v in self._near(texts).items() if k not in matched})
        if self.config.ngram and len(self.gram_hashes):
            for key, text in texts.items():
                if key not in matched:
                    hit = self._ngram(text)
                    if hit is not None:
                        matched[key] = ("ngram", hit, 1.0)
        for key in sorted(matched, key=lambda k: min(r for r, _ in uses[k])):
            how, item, score = matched[key]
            for row, field_name in uses[key]:
                if row not in found or (found[row].field == "positive" and field_name == "query"):
                    found[row] = Match(field_name, how, self.items[item], score)
        return found

    def _ngram(self, text: str) -> int | None:
        grams = np.asarray(_word_ngrams(text, self.config.ngram), dtype=np.int64)
        if not len(grams):
            return None
        at = np.searchsorted(self.gram_hashes, grams)
        at = np.minimum(at, len(self.gram_hashes) - 1)
        hit = np.flatnonzero(self.gram_hashes[at] == grams)
        return int(self.gram_owners[at[hit[0]]]) if hit.size else None

    def _near(self, texts: dict[bytes, str]) -> dict[bytes, tuple[str, int, float]]:
        """Row texts in a MinHash near-duplicate cluster with a test item."""
        if not texts:
            return {}
        config = NearDupConfig(threshold=self.config.near_dup_threshold, ngram=self.config.near_dup_ngram)
        test_keys = {text_key(item.text): i for i, item in reversed(list(enumerate(self.items)))}
        row_keys = [k for k in texts if k not in test_keys]
        ids = [f"t{k.hex()}" for k in test_keys] + [f"r{k.hex()}" for k in row_keys]
        all_texts = [self.items[i].text for i in test_keys.values()] + [texts[k] for k in row_keys]
        found = find_near_duplicates(ids, all_texts, config)
        head = {i: kept for i, (kept, _) in found.items()}
        clusters: dict[int, list[int]] = {}
        for i in range(len(ids)):
            clusters.setdefault(head.get(i, i), []).append(i)
        tests = len(test_keys)
        test_index = list(test_keys.values())
        out: dict[bytes, tuple[str, int, float]] = {}
        for members in clusters.values():
            test_members = [m for m in members if m < tests]
            if not test_members:
                continue
            best = max((found[m][1] for m in members if m in found), default=1.0)
            for m in members:
                if m >= tests:
                    out[row_keys[m - tests]] = ("near_duplicate", test_index[test_members[0]],
                                                found[m][1] if m in found else best)
        return out

    def summary(self, removed: int) -> dict[str, Any]:
        """What the manifest records: the sets checked, their sizes, the tests, rows removed."""
        return {"against": [{"path": path, **counts} for path, counts in self.sets.items()],
                "ngram": self.config.ngram, "near_dup_threshold": self.config.near_dup_threshold,
                "rows_removed": removed}
