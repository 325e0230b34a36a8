"""Shard runs (`--shard I/N`) merged, and Ray actor placement, with the stand-in engine.

The real engine on a real Ray cluster is in tests/e2e/test_scale_out.py; here the
deterministic stand-in checks the bookkeeping: which shards each run takes, that merged
counters, rejects and rows equal one run's, and that parts that do not fit are refused.
"""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from fakes import HashEmbedder, SeededEngine
from small_runs import recipe, snapshot, write_corpus

from synthgen.errors import UserError
from synthgen.run.executors import ShardSpec
from synthgen.run.merge import merge_runs
from synthgen.run.pipeline import Pipeline
from synthgen.run.ray_cluster import actor_resources, embedder_resources
from synthgen.config.loader import build_recipe


@pytest.fixture(scope="module")
def shard_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    corpus = write_corpus(root / "corpus.jsonl")
    Pipeline(recipe(corpus), root / "single", SeededEngine(), HashEmbedder(), show_progress=False).run()
    parts = []
    for index in range(3):
        out = root / f"part-{index}"
        Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False,
                 shard=ShardSpec(index, 3)).run()
        parts.append(out)
    return root, parts


def test_each_shard_run_takes_the_shards_equal_to_its_index_modulo_n(shard_runs):
    _, parts = shard_runs
    taken = [sorted(int(p.stem[-5:]) for p in (part / "generated").glob("docs-*")) for part in parts]
    assert taken == [[0, 3], [1], [2]]  # 14 documents in shards of 4
    assert all(not list((part / "data").glob("*.parquet")) for part in parts)  # the global steps wait for merge


def test_merged_shard_runs_equal_one_run(shard_runs):
    root, parts = shard_runs
    merge_runs(list(reversed(parts)), root / "merged", embedder=HashEmbedder())
    single, merged = snapshot(root / "single"), snapshot(root / "merged")
    assert merged["rows"] and merged == single  # rows, rejects, counts, removals, brainstorm, requests


def test_a_merged_run_counts_as_finished(shard_runs):
    root, parts = shard_runs
    out = root / "merged-again"
    manifest = merge_runs(parts, out, embedder=HashEmbedder())
    corpus = root / "corpus.jsonl"
    again = Pipeline(recipe(corpus), out, SeededEngine(), HashEmbedder(), show_progress=False).run()
    assert again["counts"] == manifest["counts"]


@pytest.mark.parametrize("given, message", [
    ([0, 1], "shard(s) 2/3 missing"),
    ([0, 1, 1, 2], "shard 1/3 given twice"),
])
def test_merge_refuses_incomplete_or_repeated_parts(shard_runs, given, message):
    root, parts = shard_runs
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        merge_runs([parts[i] for i in given], root / "refused", embedder=HashEmbedder())


def test_merge_refuses_a_single_run_and_parts_of_another_recipe(shard_runs, tmp_path):
    root, parts = shard_runs
    with pytest.raises(UserError, match="is not a shard run"):
        merge_runs([root / "single"], tmp_path / "x", embedder=HashEmbedder())
    other = tmp_path / "other"
    Pipeline(recipe(root / "corpus.jsonl", seed=4), other, SeededEngine(), HashEmbedder(), show_progress=False,
             shard=ShardSpec(2, 3)).run()
    with pytest.raises(UserError, match=r"another recipe.*recipe.seed \(3 -> 4\)"):
        merge_runs([parts[0], parts[1], other], tmp_path / "y", embedder=HashEmbedder())


def test_a_shard_run_is_not_resumed_as_a_whole_run(shard_runs):
    root, parts = shard_runs
    with pytest.raises(UserError, match=r"shard \(0/3 -> unset\)"):
        Pipeline(recipe(root / "corpus.jsonl"), parts[0], SeededEngine(), HashEmbedder(), show_progress=False).run()


@pytest.mark.parametrize("text", ["3/3", "1", "a/2", "-1/2", "1/0", ""])
def test_shard_spec_rejects_what_is_not_i_of_n(text):
    with pytest.raises(UserError, match="--shard"):
        ShardSpec.parse(text)


def test_shard_spec_parses():
    spec = ShardSpec.parse("2/5")
    assert (spec.index, spec.count, str(spec)) == (2, 5, "2/5")
    assert [s for s in range(12) if spec.takes(s)] == [2, 7]
    assert not spec.takes_standalone and ShardSpec(0, 5).takes_standalone


def _recipe(engine_kwargs=None, **ray):
    return build_recipe({"name": "r", "corpus": {"path": "x.jsonl"}, "ray": ray,
                         "generator": {"engine_kwargs": engine_kwargs or {}}})


def test_actors_take_the_tensor_parallel_gpus_and_fill_the_cluster():
    placed = actor_resources(_recipe({"tensor_parallel_size": 2}), {"CPU": 64, "GPU": 8})
    assert (placed.workers, placed.task_options) == (4, {"num_cpus": 1.0, "num_gpus": 2})


def test_cpu_clusters_get_cpu_actors():
    placed = actor_resources(_recipe(cpus_per_worker=4), {"CPU": 16})
    assert (placed.workers, placed.task_options) == (4, {"num_cpus": 4.0, "num_gpus": 0})
    assert actor_resources(_recipe(workers=2), {"CPU": 16}).workers == 2


def test_more_gpus_per_actor_than_the_cluster_has_is_refused():
    with pytest.raises(UserError, match="ray.gpus_per_worker: 4 GPUs per actor, but the cluster has 2"):
        actor_resources(_recipe(gpus_per_worker=4), {"CPU": 8, "GPU": 2})


def test_the_corpus_free_shard_belongs_to_shard_zero_and_merges_like_one_run(tmp_path):
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    tasks = {"retrieval": {"weight": 1.0, "type_and_difficulty": "sample"},
             "corpus_free": {"brainstorm": 2, "examples_per_task": 1}}
    Pipeline(recipe(corpus, tasks=tasks), tmp_path / "single", SeededEngine(), HashEmbedder(),
             show_progress=False).run()
    parts = [tmp_path / f"part-{i}" for i in range(2)]
    for index, out in enumerate(parts):
        Pipeline(recipe(corpus, tasks=tasks), out, SeededEngine(), HashEmbedder(), show_progress=False,
                 shard=ShardSpec(index, 2)).run()
    standalone = "part-00004.parquet"  # after the corpus shards 0-3
    assert (parts[0] / "generated" / standalone).exists() and not (parts[1] / "generated" / standalone).exists()
    merge_runs(parts, tmp_path / "merged", embedder=HashEmbedder())
    single, merged = snapshot(tmp_path / "single"), snapshot(tmp_path / "merged")
    generated = pq.read_table(tmp_path / "single" / "generated" / standalone).column("task").to_pylist()
    assert generated and set(generated) == {"corpus_free"}
    assert merged == single


def test_merge_refuses_parts_that_brainstormed_other_ideas_and_ideas_from_shares_shard_0s(shard_runs, tmp_path):
    import orjson

    root, parts = shard_runs
    corpus = root / "corpus.jsonl"
    odd, brainstormed = tmp_path / "part-1", SeededEngine()
    Pipeline(recipe(corpus), odd, brainstormed, HashEmbedder(), show_progress=False, shard=ShardSpec(1, 3)).run()
    state = orjson.loads((odd / "state.json").read_bytes())
    state["brainstorm"]["classification"][0]["labels"] = ["another", "label set"]  # as another CPU may write it
    (odd / "state.json").write_bytes(orjson.dumps(state))
    with pytest.raises(UserError, match=r"brainstormed other classification ideas .* --ideas-from"):
        merge_runs([parts[0], odd, parts[2]], tmp_path / "merged", embedder=HashEmbedder())

    shared, engine = tmp_path / "shared-1", SeededEngine()
    Pipeline(recipe(corpus), shared, engine, HashEmbedder(), show_progress=False,
             shard=ShardSpec(1, 3), ideas_from=parts[0]).run()
    assert engine.calls == brainstormed.calls - 1  # no brainstorm call of its own
    merged = merge_runs([parts[0], shared, parts[2]], tmp_path / "merged", embedder=HashEmbedder())
    assert merged["counts"]["work_items"] == orjson.loads((root / "single" / "manifest.json").read_bytes())[
        "counts"]["work_items"]


def test_ideas_from_a_folder_without_them_is_one_line(shard_runs, tmp_path):
    root, _ = shard_runs
    with pytest.raises(UserError, match="--ideas-from .*: not a synthgen run folder"):
        Pipeline(recipe(root / "corpus.jsonl"), tmp_path / "out", SeededEngine(), HashEmbedder(),
                 show_progress=False, ideas_from=tmp_path / "nowhere").run()


def test_embedding_actors_match_the_engine_actors_count_with_at_most_one_gpu_each():
    placed = embedder_resources(_recipe({"tensor_parallel_size": 2}), {"CPU": 64, "GPU": 8})
    assert (placed.workers, placed.task_options) == (4, {"num_cpus": 1.0, "num_gpus": 1.0})
    placed = embedder_resources(_recipe(gpus_per_worker=0.5), {"CPU": 8, "GPU": 2})
    assert (placed.workers, placed.task_options) == (4, {"num_cpus": 1.0, "num_gpus": 0.5})
    placed = embedder_resources(_recipe(cpus_per_worker=2), {"CPU": 8})
    assert (placed.workers, placed.task_options) == (4, {"num_cpus": 2.0, "num_gpus": 0.0})
