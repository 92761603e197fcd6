"""bench/rss.py: the benchmarks' peak-RSS sampler sees a process it did not start itself."""

from __future__ import annotations

import subprocess
import sys

from bench.rss import PeakRss


def test_the_sampler_keeps_the_peak_of_a_process_that_already_ended() -> None:
    sampler = PeakRss(interval=0.1).start()
    # 200 MiB touched, then freed: the peak stays in VmHWM while the process lives.
    script = "x = bytearray(200 * 1024 * 1024); del x; import time; time.sleep(0.6)"
    subprocess.run([sys.executable, "-c", script], check=True)
    peaks = sampler.stop()
    child = [peak for peak in peaks if "bytearray(200" in peak.command]
    assert child, [peak.command for peak in peaks]
    assert 200 <= child[0].mib < 400, child
    # Largest first; processes older than the sampler are left out.
    assert [peak.mib for peak in peaks] == sorted((peak.mib for peak in peaks), reverse=True)
    assert all(peak.pid != 1 for peak in peaks)
