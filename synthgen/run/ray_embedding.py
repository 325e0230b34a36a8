"""The finalize pass's embedding on Ray actors (`--executor ray`): corpus, queries,
generated positives and negatives, and the calibration pairs, embedded by a pool of
embedder actors instead of the driver.

The pass embeds in fixed chunks of texts in every executor (`synthgen/engines/chunked.py`);
here the chunks of one `embed` call go out over a `ray.util.ActorPool` and come back in
order. The actors are started once per pass and kept for all of its calls: a pass makes a
few calls per generated part and task (queries, then generated positives and negatives),
and a Ray Data `map_batches` per call would start its actor pool, and load the embedder,
each time. With `run.deterministic` each actor computes with one math thread, as the
driver does, so every chunk gets the vectors it gets in-process and the run's gate
decisions and mined negatives are those of a local run (tests/e2e/test_scale_out.py
checks them on a two-node loopback cluster). Without it, vectors may differ from a local
run's in the last bits, as threaded matrix products do.

What stays on the driver: the gates' own arithmetic, mining's matrix products over the
corpus vectors (host-side, see bench/), and a judge model (`gates.translation.judge`,
`[judge]`) that is not the recipe's embedder.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgen.config.recipe import Recipe
from synthgen.config.run import EmbedderConfig
from synthgen.engines import load_embedder
from synthgen.engines.chunked import ChunkedEmbedder, Kind
from synthgen.engines.models import public_model_id
from synthgen.engines.threads import use_one_math_thread
from synthgen.run.ray_cluster import embedder_resources


class EmbedderActor:
    """One Ray actor holding the recipe's embedder, loaded once."""

    def __init__(self, config: EmbedderConfig, deterministic: bool):
        if deterministic:  # the same vectors as the driver's one-thread embedder
            use_one_math_thread()
        self.embedder = load_embedder(config)
        import ray

        self.node = ray.get_runtime_context().get_node_id()

    def embed(self, texts: list[str], kind: Kind) -> tuple[np.ndarray, str]:
        """One chunk's vectors, and the node that computed them."""
        return self.embedder.embed(texts, kind=kind), self.node


class RayEmbedder(ChunkedEmbedder):
    """A `ChunkedEmbedder` whose chunks run on embedder actors (placement:
    `synthgen.run.ray_cluster.embedder_resources`); `close` ends the actors."""

    where = "ray"

    def __init__(self, recipe: Recipe, ray: Any):
        from ray.util import ActorPool

        super().__init__(None, public_model_id(recipe.embedder.model), recipe.embedder.chunk_size)
        placement = embedder_resources(recipe, ray.cluster_resources())
        remote = ray.remote(**placement.task_options)(EmbedderActor)
        self._ray = ray
        self._actors = [remote.remote(recipe.embedder, recipe.run.deterministic) for _ in range(placement.workers)]
        self._pool = ActorPool(self._actors)
        self._nodes: set[str] = set()

    def embed_chunks(self, parts: list[list[str]], kind: Kind) -> list[np.ndarray]:
        """Each chunk on the next free actor; vectors in chunk order."""
        results = list(self._pool.map(lambda actor, part: actor.embed.remote(part, kind), parts))
        self._nodes.update(node for _, node in results)
        return [vectors for vectors, _ in results]

    def stats(self) -> dict[str, object]:
        return {**super().stats(), "actors": len(self._actors), "nodes": len(self._nodes)}

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
