"""Where a run's output goes: synthgen's own lines to the terminal, the engines' chatter to a log.

vLLM, torch, transformers and Ray print dozens of warnings on a run (LD_PRELOAD hints,
chunked prefill, `set_num_threads`, triton), through Python logging, `warnings`, and
plain writes to file descriptors 1 and 2 from C++ code. `engine_output_to(path)` points
both descriptors at `path` for the duration, so all of it lands in `OUT/logs/engine.log`
(kept for bug reports), and hands synthgen's own progress a stream on the real terminal
(`terminal_stderr()`). `synthgen run -v` leaves the descriptors alone.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator, TextIO

_terminal: TextIO | None = None


def terminal_stderr() -> TextIO:
    """The terminal's error stream: inside `engine_output_to`, the one saved at its start."""
    return _terminal if _terminal is not None else sys.stderr


@contextlib.contextmanager
def engine_output_to(log_path: Path | None) -> Iterator[None]:
    """Within, whatever this process writes to stdout and stderr is appended to `log_path`
    (None: nothing is redirected); `terminal_stderr()` still reaches the terminal."""
    global _terminal
    if log_path is None or _terminal is not None:
        yield
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        _terminal = os.fdopen(os.dup(saved[1]), "w", buffering=1, encoding="utf-8", errors="replace")
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            _flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            _terminal.close()
            _terminal = None


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
