"""Where shards are generated, and the finalize pass embeds: in this process, or on a Ray cluster.

An executor takes the run's shard work in shard order and gives back the results in the
same order, so the driver commits them exactly as an in-process run would (and a killed
run resumes the same way); then it gives the finalize pass its embedder
(`finalize_embedder`). `--shard I/N` is not an executor: it picks which shards this
process takes (`ShardSpec`), and `synthgen merge` joins the parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

from synthgen.engines.base import Embedder
from synthgen.tasks.brainstorm import BrainstormReport
from synthgen.errors import UserError
from synthgen.run.shard_worker import ShardResult, ShardWork, ShardWorker


EXECUTORS = ("local", "ray")


def check_executor(name: str) -> str:
    """`name` if it names an executor, else one line for `--executor`."""
    if name not in EXECUTORS:
        raise UserError(f"--executor: {name!r} is not an executor ({' or '.join(EXECUTORS)})")
    return name


class Executor(Protocol):
    """Where shard work runs. Subclass it: `engine_stats` and `finalize_embedder` have
    defaults (none; this process)."""

    def brainstorm(self, task: str) -> BrainstormReport:
        """Run one task's brainstorm step on the generator."""
        ...

    def restore(self, ideas: dict[str, Any]) -> None:
        """Hand the brainstormed ideas of every task to the workers."""
        ...

    def map(self, works: Iterator[ShardWork]) -> Iterator[ShardResult]:
        """Results of the works, in the order the works came."""
        ...

    def engine_stats(self) -> dict[str, Any]:
        """The generator's counters for the manifest (`Generator.stats`); {} where the
        engines run elsewhere."""
        return {}

    def finalize_embedder(self, local: Callable[[], Embedder]) -> Embedder:
        """The embedder of the finalize pass (gates, calibration, mining), closed with the
        executor: by default `local()`, the recipe's embedder in this process (the pass
        embeds chunk by chunk either way, `synthgen/engines/chunked.py`)."""
        return local()

    def close(self) -> None:
        ...


class LocalExecutor(Executor):
    """One worker in this process: shards one after the other, engines loaded once."""

    def __init__(self, worker: ShardWorker):
        self.worker = worker

    def brainstorm(self, task: str) -> BrainstormReport:
        return self.worker.brainstorm(task)

    def restore(self, ideas: dict[str, Any]) -> None:
        self.worker.restore(ideas)

    def map(self, works: Iterator[ShardWork]) -> Iterator[ShardResult]:
        for work in works:
            yield self.worker.run(work)

    def engine_stats(self) -> dict[str, Any]:
        return self.worker.engine_stats()

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class ShardSpec:
    """`--shard I/N`: this process takes the corpus shards whose number is I modulo N
    (and, for I = 0, the corpus-free items). The cut into shards is the run's own
    (`run.shard_size` documents, corpus order), so N shard runs hold between them exactly
    the shards, seeds and engine batches of one run, and `synthgen merge` gives its rows."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "ShardSpec":
        index, slash, count = text.partition("/")
        if not (slash and index.isdigit() and count.isdigit() and 0 <= int(index) < int(count)):
            raise UserError(f"--shard: {text!r} is not I/N with 0 <= I < N (e.g. --shard 0/4 ... --shard 3/4)")
        return cls(int(index), int(count))

    def takes(self, shard: int) -> bool:
        return shard % self.count == self.index

    @property
    def takes_standalone(self) -> bool:
        return self.index == 0

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
