"""bench/refresh.py's report of several scales: the figures side by side and the verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from bench.refresh import HOURLY_STEPS, scales_report

pytestmark = pytest.mark.fast


def _run(scale: float, nightly: float, hourly: float, peak: int) -> dict[str, Any]:
    """A run as `bench.refresh --output` writes it (the fields the report reads)."""

    def mode(wall: float) -> dict[str, Any]:
        steps = {step: wall / len(HOURLY_STEPS) for step in HOURLY_STEPS}
        return {"wall": wall, "bare_wall": wall + 1, "rows": 1000, "dagster": steps}

    return {
        "scale": scale,
        "nightly": mode(nightly),
        "hourly": mode(hourly),
        "peak_rss_mib": [[peak, "python -m clickhouse_endpoint"], [10, "postgres"]],
    }


def test_the_scales_side_by_side_with_their_verdicts() -> None:
    text, results = scales_report([_run(100, 354.0, 31.6, 1853), _run(20, 76.2, 12.3, 1651)])
    lines = text.splitlines()
    assert lines[1].split() == ["scale", "20", "scale", "100"]  # smallest scale first
    assert lines[2].split() == ["nightly", "76.2", "354.0"]
    assert lines[-7].split()[-2:] == ["1,651", "1,853"]  # peak RSS, before the verdicts
    assert results["hourly_ratio"] == pytest.approx(31.6 / 12.3)
    assert results["targets"] == {
        "nightly at scale 20 under 90 s": True,
        "hourly at scale 20 under 15 s": True,
        "nightly at scale 100 under 480 s": True,
        "hourly at scale 100 under 15 s": False,
        "no process above 2048 MiB": True,
        "hourly at scale 100 at most 1.25x scale 20's (2.57x)": False,
    }
    assert "target: hourly at scale 100 under 15 s -> NOT met" in lines


def test_a_ratio_within_the_target_and_a_process_above_the_limit() -> None:
    _, results = scales_report([_run(20, 80.0, 12.0, 2100), _run(100, 400.0, 14.5, 1800)])
    assert results["targets"]["hourly at scale 100 at most 1.25x scale 20's (1.21x)"] is True
    assert results["targets"]["no process above 2048 MiB"] is False
