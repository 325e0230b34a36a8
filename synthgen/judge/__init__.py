"""The judge that relabels (Gecko, arXiv 2403.20327): an LLM (p("yes") of a yes/no
relevance prompt, one forward pass) or a cross-encoder scores each mined row's positive and
negatives; negatives it finds relevant are dropped as false negatives, and a row whose best
negative outscores its positive is relabeled or dropped (`synthgen/judge/rules.py`).

It runs as the last step of a finalize pass (`synthgen/run/finalize.py`) when `[judge]
enabled = true`, and on a finished run with `synthgen judge RUN`. Scores are cached in
`OUT/judge/cache.jsonl` (`synthgen/judge/cache.py`): a rerun makes no engine requests.

May import: config, corpus, personas, generation, engines, tasks (the gates/mining layer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.config.judge import JudgeConfig
from synthgen.config.run import GeneratorConfig
from synthgen.engines.base import Generator
from synthgen.generation.prompts import PromptLibrary
from synthgen.judge.cache import ScoreCache
from synthgen.judge.probability import yes_probability
from synthgen.judge.rules import NEGATIVES_STEP, RELABEL_STEP, STEP, JudgeTally, RuleResult, apply_rules
from synthgen.judge.scorers import CachedJudge, CrossEncoderJudge, LLMJudge, Pair

CACHE_FILE = Path("judge") / "cache.jsonl"


def build_judge(config: JudgeConfig, run_root: Path | None, generator: Generator | None = None,
                prompts: PromptLibrary | None = None) -> CachedJudge:
    """The judge `[judge]` describes, caching in `run_root/judge/cache.jsonl` (None: no file).
    `generator`: an engine already loaded for the same model (the run's own), used as is."""
    from synthgen.engines.models import public_model_id

    cache = ScoreCache(run_root / CACHE_FILE if run_root is not None else None)
    if config.kind == "cross-encoder":
        return CrossEncoderJudge(config.model, cache, config.batch_size, config.max_document_chars)
    template = (prompts or PromptLibrary()).get(config.template)

    def make_generator() -> Generator:
        if generator is not None:
            return generator
        from synthgen.engines import load_generator

        return load_generator(GeneratorConfig(
            model=config.model, engine=config.engine, base_url=config.base_url, api_key_env=config.api_key_env,
            concurrency=config.concurrency, engine_kwargs=dict(config.engine_kwargs), structured_outputs=False))

    return LLMJudge(make_generator, public_model_id(config.model), template, cache, config.batch_size,
                    config.top_logprobs, config.max_document_chars)


class JudgeStep:
    """Scores rows' positives and negatives with `judge`, then applies the rules; keeps
    the counts of every call for the manifest (`report`)."""

    def __init__(self, config: JudgeConfig, judge: CachedJudge, min_negatives: int):
        self.config, self.judge, self.min_negatives = config, judge, min_negatives
        self.tally = JudgeTally()

    def run(self, rows: list[dict[str, Any]]) -> RuleResult:
        pairs = []
        for row in rows:
            instruction = row.get("instruction") or ""
            pairs += [Pair(instruction, row["query"], text) for text in [row["positive"], *row["negatives"]]]
        scores = iter(self.judge.score(pairs))
        for row in rows:
            row["judge_positive_score"] = next(scores)
            row["judge_negative_scores"] = [next(scores) for _ in row["negatives"]]
        result = apply_rules(rows, self.config, self.min_negatives)
        self.tally.add(result.tally)
        return result

    def report(self) -> dict[str, Any]:
        c = self.config
        return {"kind": c.kind, "model": self.judge.model_id, "prompt_sha256": self.judge.prompt_hash,
                "settings": {"relevant_threshold": c.relevant_threshold, "better_margin": c.better_margin,
                             "on_better_negative": c.on_better_negative},
                **self.judge.stats.to_dict(), **self.tally.to_dict()}


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The judge's part of a summary, from its manifest entry (empty: no judge ran)."""
    if not report:
        return []
    agreement = report.get("agreement_with_margin_rule")
    lines = [f"judge {report['model']}: {report['pairs']} pairs, {report['cache_hits']} from the cache, "
             f"{report['engine_requests']} engine requests",
             f"judge: {report['negatives_dropped']} negatives judged relevant and dropped, {report['relabeled']} rows "
             f"relabeled, {report['dropped_better_negative'] + report['dropped_too_few_negatives']} rows dropped"]
    if agreement is not None:
        lines.append(f"judge agrees with the embedder's margin rule on {agreement:.1%} of {report['negatives']} "
                     f"negatives; ranks the positive first for {report['order_agreement']:.1%}")
    return lines


__all__ = ["CACHE_FILE", "JudgeStep", "NEGATIVES_STEP", "RELABEL_STEP", "STEP", "build_judge", "summary_lines",
           "yes_probability"]
