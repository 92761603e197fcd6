"""Peak resident memory of every process a benchmark starts, sampled from /proc.

Linux keeps each process's high-water mark of resident memory (``VmHWM`` in
``/proc/<pid>/status``); a thread reads it for every process started since the sampler
began (the stack's servers, Dagster's run and step workers, dbt, the bare script) every
``interval`` seconds and keeps each one's largest. A process that lives shorter than the
interval may be missed; its peak until the last sample is kept.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ProcessPeak:
    pid: int
    mib: float
    command: str


def _boot_time() -> float:
    for line in (_PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0


def _started_at(pid: str, boot: float) -> float:
    # Field 22 of /proc/<pid>/stat, after the command in parentheses (which may hold spaces).
    fields = (_PROC / pid / "stat").read_text().rsplit(")", 1)[1].split()
    return boot + int(fields[19]) / _CLOCK_TICKS


def _high_water_kib(pid: str) -> int:
    for line in (_PROC / pid / "status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _command(pid: str) -> str:
    raw = (_PROC / pid / "cmdline").read_bytes().replace(b"\0", b" ").strip()
    return raw.decode(errors="replace")[:160]


class PeakRss:
    """Sample the peak RSS of every process started after :meth:`start`, until :meth:`stop`."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self._peaks: dict[int, ProcessPeak] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self._since = 0.0
        self._boot = 0.0

    @property
    def available(self) -> bool:
        return (_PROC / "self" / "status").exists()

    def start(self) -> PeakRss:
        if self.available:
            self._boot = _boot_time()
            self._since = time.time() - 1.0
            self._thread.start()
        return self

    def stop(self) -> list[ProcessPeak]:
        """Stop sampling; every sampled process, largest peak first."""
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
        self._sample()
        return sorted(self._peaks.values(), key=lambda peak: peak.mib, reverse=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        if not self._boot:
            return
        for entry in _PROC.iterdir():
            pid = entry.name
            if not pid.isdigit():
                continue
            try:
                if int(pid) not in self._peaks and _started_at(pid, self._boot) < self._since:
                    continue
                mib = _high_water_kib(pid) / 1024
                known = self._peaks.get(int(pid))
                if known is None or mib > known.mib:
                    self._peaks[int(pid)] = ProcessPeak(int(pid), mib, _command(pid))
            except (OSError, ValueError, IndexError):
                continue  # gone, or a kernel thread
