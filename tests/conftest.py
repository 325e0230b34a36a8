"""Suite-wide: the peak memory in use on the machine while the tests run, printed at the end.

Engine tests start vLLM engines (each keeps a quarter of the RAM for its KV cache on CPU) and
a vLLM server; the suite must leave room on a 24 GiB machine. A thread samples /proc/meminfo
(MemTotal - MemAvailable: processes, not the page cache) twice a second and remembers the
peak and the test running at that moment; the summary prints both.
"""

from __future__ import annotations

import threading
from pathlib import Path

_INTERVAL_SECONDS = 0.5


def _used_mib() -> int:
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0])
    return (fields["MemTotal"] - fields["MemAvailable"]) // 1024


class PeakMemory:
    def __init__(self) -> None:
        self.start = self.peak = _used_mib()
        self.test, self.peak_test = "(collection)", "(collection)"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(_INTERVAL_SECONDS):
            used = _used_mib()
            if used > self.peak:
                self.peak, self.peak_test = used, self.test

    def stop(self) -> str:
        self._stop.set()
        self._thread.join()
        return (f"peak memory in use on this machine: {self.peak:,} MiB (at the start: {self.start:,} MiB), "
                f"during {self.peak_test}")


_sampler: PeakMemory | None = None


def pytest_configure(config) -> None:
    global _sampler
    if Path("/proc/meminfo").is_file():
        _sampler = PeakMemory()


def pytest_runtest_logstart(nodeid, location) -> None:
    if _sampler is not None:
        _sampler.test = nodeid


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _sampler is not None:
        terminalreporter.write_line(_sampler.stop())
