"""Joining a Ray cluster, and how many actors it holds: shared by the generation actors
(`ray_executor.py`) and the finalize pass's embedding actors (`ray_embedding.py`)."""

from __future__ import annotations

from typing import Any

from synthgen.config.recipe import Recipe
from synthgen.errors import UserError


def connect_ray(address: str | None) -> Any:
    """The `ray` module, joined to the cluster at `address` (`ray start --head` prints it;
    "auto" finds the local one), or to a Ray started inside this process for None."""
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray: Ray is not installed (pip install 'synthgen[ray]')") from None
    try:
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                 include_dashboard=False, configure_logging=False)
    except ConnectionError as exc:
        raise UserError(f"--address {address}: no Ray cluster there ({exc}); start one with "
                        "`ray start --head` or leave --address out to run Ray in this process") from None
    return ray


class ActorResources:
    def __init__(self, workers: int, num_cpus: float, num_gpus: float):
        self.workers = workers
        self.task_options = {"num_cpus": num_cpus, "num_gpus": num_gpus}


def actor_resources(recipe: Recipe, cluster: dict[str, float]) -> ActorResources:
    """How many engine actors, and what each holds: `ray.gpus_per_worker` GPUs (default:
    the generator's `tensor_parallel_size` when the cluster has GPUs, else none) and
    `ray.cpus_per_worker` CPUs; `ray.workers` actors (default: as many as fit)."""
    config = recipe.ray
    has_gpus = cluster.get("GPU", 0) > 0
    tensor_parallel = int(recipe.generator.engine_kwargs.get("tensor_parallel_size", 1))
    gpus = config.gpus_per_worker if config.gpus_per_worker is not None else (tensor_parallel if has_gpus else 0)
    if gpus > cluster.get("GPU", 0):
        raise UserError(f"ray.gpus_per_worker: {gpus:g} GPUs per actor, but the cluster has "
                        f"{cluster.get('GPU', 0):g} (lower it, or set 0 to run on CPUs)")
    fit = int(cluster.get("GPU", 0) // gpus) if gpus else int(cluster.get("CPU", 1) // config.cpus_per_worker)
    workers = config.workers or max(1, fit)
    return ActorResources(workers, config.cpus_per_worker, gpus)


def embedder_resources(recipe: Recipe, cluster: dict[str, float]) -> ActorResources:
    """The finalize pass's embedding actors: as many as the engine actors, each with
    `ray.cpus_per_worker` CPUs and, where the engine actors hold GPUs, one GPU (an
    embedder needs no tensor parallelism; a fraction stays a fraction)."""
    engines = actor_resources(recipe, cluster)
    gpus = min(float(engines.task_options["num_gpus"]), 1.0)
    return ActorResources(engines.workers, recipe.ray.cpus_per_worker, gpus)
