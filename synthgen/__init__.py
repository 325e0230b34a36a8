"""synthgen: synthetic training data for text-embedding and reranking models.

Implements the data-synthesis recipe of the Qwen3 Embedding report (arXiv 2506.05176):
a persona is chosen per document, a question type and difficulty are configured, and an
LLM writes queries from the persona's point of view; the rows land as Parquet shards.
"""

__version__ = "0.1.0"
