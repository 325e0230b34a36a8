"""The terminal of a run: third-party output goes to OUT/logs/engine.log, synthgen's own
progress and summary stay on the terminal and fit 80 columns."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from synthgen.run.progress import summary_lines

MANIFEST = {
    "recipe": {"name": "demo"},
    "counts": {"documents_read": 96, "documents_kept": 96, "work_items": 1536, "generated_rows": 1385, "rows": 64},
    "counts_by": {"task_query_language": {"retrieval": {"de": 10, "en": 30, "es": 8, "fr": 9, "pt": 7}}},
    "removals": {"gates/cosine/low_cosine": 710, "gates/exact_dedup/duplicate_query": 150,
                 "gates/language/wrong_query_language": 171, "gates/leakage/query_copies_positive": 212,
                 "gates/near_dup/near_duplicate_query": 78, "retrieval/query/copied_prompt": 40,
                 "retrieval/configure/truncated_output_with_a_long_reason_name": 11},
    "stages": {"retrieval/configure": {"requests": 1536, "prompt_tokens": 880123, "completion_tokens": 61000,
                                       "seconds": 172.0},
               "retrieval/query": {"requests": 1535, "prompt_tokens": 901234, "completion_tokens": 59000,
                                   "seconds": 170.0}},
    "timings": {"total_seconds": 583.2},
    "mining": {"advice": ["Could not find enough negatives for 12 queries (3.1%): consider raising "
                          "mining.range_max or lowering mining.relative_margin"]},
}


def test_the_summary_fits_80_columns_and_groups_removals_by_step():
    lines = summary_lines(MANIFEST)
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    text = "\n".join(lines)
    assert "synthgen run: demo" in lines[0]
    assert "  removed (1,372), by step:" in lines
    assert "    gates/cosine: low_cosine 710" in lines
    assert "    retrieval/query: copied_prompt 40" in lines
    assert "stage retrieval/query: 1,535 requests" in text and "rows: 1,385 generated, 64 kept" in text


def test_engine_output_goes_to_the_log_and_synthgen_lines_to_the_terminal(tmp_path):
    """In a child process: writes to fd 1 and 2 (as C++ code does), print(), logging and
    warnings inside the context land in the log; terminal_stderr() and output after it do not."""
    log = tmp_path / "logs" / "engine.log"
    code = textwrap.dedent(f"""
        import logging, os, sys, warnings
        from pathlib import Path
        from synthgen.run.terminal import engine_output_to, terminal_stderr
        with engine_output_to(Path({str(log)!r})):
            os.write(1, b"C++ says hello on fd 1\\n")
            os.write(2, b"C++ warns on fd 2\\n")
            print("a print from a library")
            logging.getLogger("vllm").warning("a vLLM warning")
            warnings.warn("a Python warning")
            terminal_stderr().write("documents 3/10\\n")
        print("wrote 5 rows")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "wrote 5 rows\n"
    assert result.stderr == "documents 3/10\n"
    logged = log.read_text()
    for line in ("C++ says hello on fd 1", "C++ warns on fd 2", "a print from a library", "a vLLM warning",
                 "a Python warning"):
        assert line in logged
