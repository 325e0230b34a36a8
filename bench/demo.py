"""Kept rows per machine-hour: the demo recipe on the built-in models, end to end.

    .venv/bin/python -m bench.demo --out demo.json [--docs 96]

Runs `synthgen run recipes/demo.toml --quiet` (with `--limit-docs N` when `--docs` is below
the corpus' 96 documents) into a temporary folder, in a fresh process, and times the command
from start to end: interpreter and engine start, persona search, both generation stages,
gates, mining and writing, i.e. what a user waits for. From the run's manifest it reports
the kept rows, the wall time, kept rows per hour, and per stage the requests, prompt tokens
sent and computed (sent minus those served from vLLM's prefix cache), completion tokens and
seconds, each also per kept row. The rows kept depend on the engine's numerics, so they vary
a little between machines and thread counts; the tokens per kept row follow from them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes" / "demo.toml"
CORPUS_DOCUMENTS = 96  # corpora/sample-multilingual.jsonl


def summarize(manifest: dict[str, Any], wall_seconds: float) -> dict[str, Any]:
    """The headline figures of one demo run from its manifest and the command's wall time."""
    counts = manifest["counts"]
    kept = int(counts.get("rows", 0))

    def per_row(value: float) -> float | None:
        return value / kept if kept else None

    stages = {}
    for name, s in manifest.get("stages", {}).items():
        computed = s["prompt_tokens"] - s.get("cached_tokens", 0)
        stages[name] = {
            "requests": s["requests"], "prompt_tokens": s["prompt_tokens"], "cached_tokens": s.get("cached_tokens", 0),
            "computed_prompt_tokens": computed, "completion_tokens": s["completion_tokens"],
            "seconds": s["seconds"],
            "prompt_tokens_per_request": s["prompt_tokens"] / max(s["requests"], 1),
            "computed_over_sent": computed / max(s["prompt_tokens"], 1),
            "prompt_tokens_per_kept_row": per_row(s["prompt_tokens"]),
            "computed_prompt_tokens_per_kept_row": per_row(computed),
            "completion_tokens_per_kept_row": per_row(s["completion_tokens"]),
        }
    sent = sum(s["prompt_tokens"] for s in stages.values())
    computed = sum(s["computed_prompt_tokens"] for s in stages.values())
    return {
        "recipe": manifest.get("recipe", {}).get("name"), "documents": counts["documents_kept"],
        "work_items": counts["work_items"], "generated_rows": counts["generated_rows"], "kept_rows": kept,
        "wall_seconds": wall_seconds, "kept_rows_per_hour": kept * 3600 / wall_seconds if wall_seconds else 0.0,
        "run_total_seconds": manifest.get("timings", {}).get("total_seconds"),
        "prompt_tokens": sent, "computed_prompt_tokens": computed, "computed_over_sent": computed / max(sent, 1),
        "stages": stages, "engine": manifest.get("engine", {}), "removals": manifest.get("removals", {}),
    }


def run(docs: int = CORPUS_DOCUMENTS, recipe: Path = RECIPE, extra: list[str] | None = None) -> dict[str, Any]:
    """The demo recipe on `docs` documents in a fresh process; its summary (see `summarize`)."""
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        out = Path(tmp) / "run"
        command = [sys.executable, "-m", "synthgen.cli", "run", str(recipe), "--out", str(out), "--quiet"]
        if docs < CORPUS_DOCUMENTS:
            command += ["--limit-docs", str(docs)]
        command += extra or []
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode:
            raise RuntimeError(f"synthgen run failed ({done.returncode}):\n{done.stderr[-4000:]}")
        manifest = json.loads((out / "manifest.json").read_text())
    report = summarize(manifest, wall)
    report["command"] = " ".join(["synthgen", *command[3:5], *command[7:]]).replace(str(ROOT) + "/", "")
    report["summary"] = done.stderr.strip().splitlines()[-40:]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--docs", type=int, default=CORPUS_DOCUMENTS, help="documents of the demo corpus to use")
    args = parser.parse_args()
    args.out.write_text(json.dumps(run(args.docs), indent=2) + "\n")


if __name__ == "__main__":
    main()
