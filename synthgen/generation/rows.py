"""The row contract of the final shards, and stable ids.

| column | note |
| --- | --- |
| id | stable hash of recipe name, task, source id, variant, seed |
| task | retrieval, bitext, sts, classification, matching, code_retrieval, corpus_free |
| instruction | what an instruction-aware embedder trains with (`Instruct: {instruction}\\nQuery: `) |
| query, positive | the anchor and its positive |
| negatives, negative_scores | hard negatives, best first, and their scores |
| positive_score | cosine(query, positive) under the recipe's embedder |
| judge_positive_score, judge_negative_scores | `[judge]`: the judge's probability that the positive / each negative is relevant (null where no judge ran) |
| query_language, document_language | ISO 639-1 |
| persona, query_type, difficulty | empty where a task has none |
| label, misleading_label | classification: the true label (= positive) and the misleading one |
| similarity_positive, similarity_negative | sts: the sampled 1-5 scores asked for (query, positive) and (query, negative) |
| source_id | corpus document id |
| generator, embedder | model ids |
| group | the positive's duplicate cluster: rows whose positives are exact or near duplicates share it (null in runs before it) |
| negative_groups | per mined negative, the group of the row positive it copies, else null (null where not checked) |
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

ROW_SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("task", pa.string(), nullable=False),
    pa.field("instruction", pa.string()),
    pa.field("query", pa.string(), nullable=False),
    pa.field("positive", pa.string(), nullable=False),
    pa.field("negatives", pa.list_(pa.string())),
    pa.field("positive_score", pa.float32()),
    pa.field("negative_scores", pa.list_(pa.float32())),
    pa.field("judge_positive_score", pa.float32()),
    pa.field("judge_negative_scores", pa.list_(pa.float32())),
    pa.field("query_language", pa.string()),
    pa.field("document_language", pa.string()),
    pa.field("persona", pa.string()),
    pa.field("query_type", pa.string()),
    pa.field("difficulty", pa.string()),
    pa.field("label", pa.string()),
    pa.field("misleading_label", pa.string()),
    pa.field("similarity_positive", pa.float32()),
    pa.field("similarity_negative", pa.float32()),
    pa.field("source_id", pa.string()),
    pa.field("generator", pa.string()),
    pa.field("embedder", pa.string()),
    pa.field("group", pa.string()),
    pa.field("negative_groups", pa.list_(pa.string())),
])

def stable_hash(*parts: object, digits: int = 16) -> str:
    """A hex digest of the parts, stable across runs, machines and Python versions."""
    joined = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:digits]


def stable_int(*parts: object) -> int:
    """A 63-bit integer from the parts: seeds for per-item RNGs and per-request sampling."""
    return int(stable_hash(*parts, digits=16), 16) & ((1 << 63) - 1)


def row_id(recipe_name: str, task: str, source_id: str, variant: int, seed: int) -> str:
    return stable_hash(recipe_name, task, source_id, variant, seed)


def instructed_query(instruction: str, query: str) -> str:
    """The query as instruction-aware embedders (Qwen3 Embedding, E5-mistral) train and
    search with: `Instruct: {instruction}\nQuery: {query}`; the bare query without one."""
    return f"Instruct: {instruction}\nQuery: {query}" if instruction else query


def rows_to_table(rows: list[dict]) -> pa.Table:
    """Rows (dicts with the contract's keys) as a table with exactly `ROW_SCHEMA`."""
    return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)
