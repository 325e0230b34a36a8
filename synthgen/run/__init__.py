"""Running a recipe: the pipeline (corpus -> shards of documents -> tasks' stages on the
engine -> generated parts), the shard worker, executors (local, Ray), checkpoints and
resume, finalize (gates, mining, data shards), merging sharded runs, progress and the
terminal, the run folder's files, the ledger audit, persona expansion and the render preview.

May import: every lower layer (config, corpus, personas, generation, engines, tasks, gates,
mining); never shards, publish, evaluation or the CLI.
"""
