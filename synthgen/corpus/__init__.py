"""What goes in: corpus readers (JSONL, Parquet, text folders, source trees cut into code
units), language identification, the shared text helpers (the comparison form of a text)
and text deduplication (exact and MinHash near duplicates).

May import: config (and errors).
"""
