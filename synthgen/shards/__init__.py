"""What a finished run is to its readers: `FinishedRun` (a validated run folder: manifest,
data shards, rejects) and the exports for trainers (sentence-transformers, FlagEmbedding,
ms-swift).

May import: every lower layer up to run; not publish, evaluation or the CLI.
"""
