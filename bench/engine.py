"""Engine figures: generation overhead and prefix reuse, on one in-process vLLM engine.

    .venv/bin/python -m bench.engine --out engine.json [--docs 32 --max-tokens 96 --rounds 3]

Run by `python -m bench` in its own process, so the engine's memory and threads end with it.

Generation overhead. Both sides share one engine: synthgen's `VLLMGenerator` loads the model,
and the baseline calls `.chat()` on the `vllm.LLM` it holds (`generator._llm`) with the same
rendered messages and the same `SamplingParams` (`generator._sampling_params`), so the two
sides see the same weights, warm-up and KV cache; vLLM stays imported in one module. Our side
is the retrieval task's two stages through `synthgen.generation.stages.run_stage`: prompts rendered
from `prompts/retrieval/*.j2`, requests built, generated, outputs parsed, validated against
their schema and applied to the work items, stage 2 fed by stage 1's survivors. The baseline
gets the configure prompts and the query prompts that stage 1 produced in the reference
(second warm-up) round; seeded sampling makes every round produce the same text, which is
checked and reported as `identical_outputs` (timed rounds vs the reference). The prefix
cache is emptied before every timed side, the sides alternate A B B A A B ..., and the
median of each side is compared.

Prefix reuse. `docs` documents x `queries_per_doc` work items, both retrieval stages, sent
as the pipeline sends them (configure batch, then query batch), once with the real templates
(system, then the passage, then the task) and once with variants rendered for this benchmark
only, where the passage comes last (after the task and its variables). Reported per layout:
prompt tokens sent, prompt tokens served from vLLM's prefix cache (`num_cached_tokens` of
each request), and, computed from the token ids alone, the share of prompt tokens an ideal
block-level prefix cache could reuse (labelled theoretical).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpora" / "sample-multilingual.jsonl"
GENERATOR = "builtin:smollm2-135m-instruct"


def recipe(max_tokens: int):
    from synthgen.config.loader import build_recipe

    return build_recipe({
        "name": "bench", "seed": 20250605, "corpus": [{"path": str(CORPUS)}],
        "generator": {"model": GENERATOR, "temperature": 0.7, "top_p": 0.95, "max_tokens": max_tokens,
                      "engine_kwargs": {"max_model_len": 4096}},
        # As recipes/demo.toml: type and difficulty sampled, stage 1 picks the Character (a 135M
        # model choosing all three collapses onto one choice and often runs out of tokens).
        "tasks": {"retrieval": {"query_length": [4, 16], "type_and_difficulty": "sample"}},
        "languages": {"query": {"same": 1.0}},
    })


def work_items(task, n_docs: int, per_doc: int, seed: int = 0):
    """`per_doc` retrieval work items for each of `n_docs` sample-corpus documents, planned by
    the task. Persona candidates are five library personas per document by index (the real
    run retrieves them with the embedder; which five does not change the prompt's shape)."""
    from synthgen.corpus.readers import Document
    from synthgen.personas.library import load_personas
    from synthgen.generation.rows import stable_int
    from synthgen.tasks import WorkItem

    records = [orjson.loads(line) for line in CORPUS.read_bytes().splitlines() if line.strip()]
    rng = random.Random(seed)
    rng.shuffle(records)  # a mix of the corpus' six languages
    personas = load_personas(["builtin:core"])
    items = []
    for d in range(n_docs):
        record = records[d % len(records)]
        document = Document(f"{record['id']}~{d}", record["text"], record["language"])
        candidates = [personas[(5 * d + k) % len(personas)] for k in range(5)]
        for variant in range(per_doc):
            item = WorkItem(document, variant, "retrieval", stable_int("bench", document.id, variant), candidates)
            task.plan(item)
            items.append(item)
    return items


# ------------------------------------------------------------------------ generation overhead

def run_ours(task, items, generator, prompts, sampling) -> dict:
    """synthgen's path, timed: both retrieval stages through run_stage (render, request, generate,
    parse, validate, apply). Also returns the outputs' texts, for the identical-output check."""
    from synthgen.generation.stages import run_stage

    configure, query = task.stages
    started = time.perf_counter()
    survivors, _, first = run_stage(configure, "retrieval", items, generator, prompts, sampling)
    kept, _, second = run_stage(query, "retrieval", survivors, generator, prompts, sampling)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "completion_tokens": first.completion_tokens + second.completion_tokens,
            "prompt_tokens": first.prompt_tokens + second.prompt_tokens, "requests": first.requests + second.requests,
            "rows": len(kept), "texts": _texts(items)}


def run_raw(llm, batches) -> dict:
    """The baseline, timed: `LLM.chat` on pre-rendered messages with pre-built SamplingParams."""
    started = time.perf_counter()
    results = [llm.chat(messages, sampling_params=params, use_tqdm=False) for messages, params in batches]
    seconds = time.perf_counter() - started
    outputs = [r for batch in results for r in batch]
    return {"seconds": seconds, "completion_tokens": sum(len(r.outputs[0].token_ids) for r in outputs),
            "prompt_tokens": sum(len(r.prompt_token_ids or []) for r in outputs), "requests": len(outputs),
            "texts": [r.outputs[0].text for r in outputs]}


def _texts(items) -> list[str]:
    """The raw outputs of items, configure stage of all items first, then query stage."""
    return [i.raw["configure"] for i in items] + [i.raw["query"] for i in items if "query" in i.raw]


def generation_overhead(generator, task, prompts, sampling, docs: int, rounds: int) -> dict:
    from synthgen.generation.stages import build_requests, run_stage

    llm = generator._llm  # the engine synthgen holds: one model, one warm-up, both sides
    template = work_items(task, docs, 1)
    # Two warm-up rounds (not timed). The first compiles the JSON-schema grammars (requests wait
    # for them, so its batches form differently); the second is the reference: its outputs, and
    # the query-stage requests for its stage-1 survivors, which the baseline sends.
    configure, query = task.stages
    run_ours(task, copy.deepcopy(template), generator, prompts, sampling)
    items = copy.deepcopy(template)
    llm.reset_prefix_cache()
    configure_requests = build_requests(configure, items, prompts, sampling)
    survivors, _, _ = run_stage(configure, "retrieval", items, generator, prompts, sampling)
    query_requests = build_requests(query, survivors, prompts, sampling)
    run_stage(query, "retrieval", survivors, generator, prompts, sampling)
    expected = _texts(items)

    def baseline_batches():  # fresh SamplingParams per round, built outside the timed call
        return [([r.messages for r in requests], [generator._sampling_params(r) for r in requests])
                for requests in (configure_requests, query_requests)]

    sides: dict[str, list[dict]] = {"synthgen": [], "vllm": []}
    order = [("vllm", "synthgen") if k % 2 == 0 else ("synthgen", "vllm") for k in range(rounds)]
    identical = total = 0
    for pair in order:
        for side in pair:
            llm.reset_prefix_cache()  # each side computes its prompts from scratch
            if side == "synthgen":
                result = run_ours(task, copy.deepcopy(template), generator, prompts, sampling)
            else:
                result = run_raw(llm, baseline_batches())
            texts = result.pop("texts")
            identical += sum(a == b for a, b in zip(texts, expected)) if len(texts) == len(expected) else 0
            total += len(expected)
            result["tokens_per_second"] = result["completion_tokens"] / result["seconds"]
            sides[side].append(result)
    medians = {side: statistics.median(r["tokens_per_second"] for r in runs) for side, runs in sides.items()}
    return {
        "documents": docs, "requests_per_round": len(configure_requests) + len(query_requests),
        "max_tokens": sampling.max_tokens, "temperature": sampling.temperature, "rounds_per_side": rounds,
        "order": [side for pair in order for side in pair], "runs": sides,
        "median_tokens_per_second": medians, "ratio": medians["synthgen"] / medians["vllm"],
        "identical_outputs": f"{identical}/{total}",
    }


# ---------------------------------------------------------------------------------- prefix reuse

_PASSAGE = '{% include "retrieval/_passage.j2" %}'


def passage_last_templates(target: Path) -> Path:
    """Copies of prompts/retrieval/ whose user message puts the passage last (for this
    benchmark only): the include moves from the start of the user block to its end."""
    from synthgen.generation.prompts import DEFAULT_PROMPTS_DIR

    source = DEFAULT_PROMPTS_DIR / "retrieval"
    folder = target / "retrieval"
    folder.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.j2"):
        text = path.read_text(encoding="utf-8")
        if not path.name.startswith("_"):
            start = "{% block user %}" + _PASSAGE + "\n"
            assert start in text, f"{path}: the user block no longer starts with the passage"
            head, rest = text.split(start, 1)
            body, tail = rest.split("{% endblock %}", 1)
            text = head + "{% block user %}" + body + "\n" + _PASSAGE + "\n{% endblock %}" + tail
        (folder / path.name).write_text(text, encoding="utf-8")
    return target


def reusable_prefix_tokens(token_lists: list[list[int]], block: int) -> tuple[int, int]:
    """(tokens, tokens in whole blocks) of each prompt's longest prefix shared with an earlier
    prompt, summed: what an ideal prefix cache reuses, at token and at block granularity.
    A prompt's last token is never reused (its logits are needed), as in vLLM."""
    import numpy as np

    arrays = [np.asarray(ids, dtype=np.int64) for ids in token_lists]
    tokens = blocks = 0
    for k, ids in enumerate(arrays):
        best = 0
        for other in arrays[:k]:
            n = min(len(ids) - 1, len(other))
            differ = np.flatnonzero(ids[:n] != other[:n])
            best = max(best, int(differ[0]) if differ.size else n)
        tokens += best
        blocks += best // block * block
    return tokens, blocks


def prefix_reuse(generator, task, sampling, docs: int, per_doc: int) -> dict:
    from synthgen.generation.stages import build_requests
    from synthgen.generation.prompts import PromptLibrary

    llm = generator._llm
    tokenizer = llm.get_tokenizer()
    block = int(llm.llm_engine.vllm_config.cache_config.block_size)
    short = dataclasses.replace(sampling, max_tokens=16)  # prompts are what is measured
    report = {"documents": docs, "queries_per_document": per_doc, "block_size": block, "layouts": {}}
    with tempfile.TemporaryDirectory(prefix="bench-prompts-") as tmp:
        libraries = {"passage_first": PromptLibrary(), "passage_last": PromptLibrary(passage_last_templates(Path(tmp)))}
        for layout, prompts in libraries.items():
            items = work_items(task, docs, per_doc, seed=1)
            for item in items:  # stage 2 as if stage 1 chose: a candidate, a type, a difficulty
                item.fields.setdefault("persona", item.candidates[item.variant % len(item.candidates)].persona)
                item.fields.setdefault("query_type", "acquire_knowledge")
                item.fields.setdefault("difficulty", "university")
            batches = [build_requests(stage, items, prompts, short) for stage in task.stages]
            llm.reset_prefix_cache()
            sent = cached = 0
            token_lists = []
            for requests in batches:
                outputs = generator.generate(requests)
                sent += sum(o.prompt_tokens for o in outputs)
                cached += sum(o.cached_tokens for o in outputs)
                token_lists += [tokenizer.encode(tokenizer.apply_chat_template(
                    r.messages, add_generation_prompt=True, tokenize=False), add_special_tokens=False)
                    for r in requests]
            ideal, ideal_blocks = reusable_prefix_tokens(token_lists, block)
            passage_at_end = batches[1][0].messages[-1]["content"].rstrip().endswith(items[0].document.text.strip())
            report["layouts"][layout] = {
                "requests": sum(len(b) for b in batches), "prompt_tokens": sent, "cached_tokens": cached,
                "cached_fraction": cached / sent, "computed_tokens": sent - cached,
                "theoretical_reusable_tokens": ideal, "theoretical_reusable_fraction": ideal / sent,
                "theoretical_reusable_fraction_whole_blocks": ideal_blocks / sent,
                "tokenizer_prompt_tokens": sum(map(len, token_lists)), "passage_at_end": passage_at_end}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--docs", type=int, default=32, help="documents (= requests per stage) per round")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per side")
    parser.add_argument("--prefix-docs", type=int, default=8)
    parser.add_argument("--prefix-queries", type=int, default=4, help="queries per document")
    args = parser.parse_args()

    from synthgen.engines import load_generator
    from synthgen.generation.prompts import PromptLibrary
    from synthgen.tasks import build_tasks

    rec = recipe(args.max_tokens)
    task = build_tasks(rec)["retrieval"]
    started = time.perf_counter()
    generator = load_generator(rec.generator)
    engine_start = time.perf_counter() - started
    report = {"engine_start_seconds": engine_start, "model": GENERATOR,
              "engine_kwargs": {k: v for k, v in _engine_args(generator).items()}}
    log(f"engine started in {engine_start:.1f} s")
    report["generation_overhead"] = generation_overhead(generator, task, PromptLibrary(), rec.generator,
                                                        args.docs, args.rounds)
    log(f"generation overhead done ({time.perf_counter() - started:.0f} s)")
    report["prefix_reuse"] = prefix_reuse(generator, task, rec.generator, args.prefix_docs, args.prefix_queries)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


def log(message: str) -> None:
    print(f"[bench.engine] {message}", file=sys.stderr, flush=True)


def _engine_args(generator) -> dict:
    """The engine settings that matter for these figures, as the engine reports them."""
    config = generator._llm.llm_engine.vllm_config
    return {"enable_prefix_caching": bool(config.cache_config.enable_prefix_caching),
            "block_size": int(config.cache_config.block_size),
            "enforce_eager": bool(config.model_config.enforce_eager),
            "max_model_len": int(config.model_config.max_model_len),
            "device": str(getattr(config.device_config, "device_type", getattr(config.device_config, "device", "")))}


if __name__ == "__main__":
    main()
