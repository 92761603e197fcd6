"""The process runtime's own guarantees, in real processes (`pipelines/runtime/`)."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from core.settings import PROJECT_ROOT

# A run worker whose step process is slow to start: an earlier at-fork hook holds the child
# back, as a busy 2-core machine can, so the worker is killed before the child has asked to
# die with it.
FORKS_A_LATE_SLEEPER = """
import os, time
os.register_at_fork(after_in_child=lambda: time.sleep(1.5))
from pipelines.runtime.executor import die_with_this_process
die_with_this_process()
child = os.fork()
if child == 0:
    time.sleep(120)
    os._exit(0)
print(child, flush=True)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_step_process_dies_even_if_its_worker_died_before_it_started() -> None:
    """The death signal is armed in the child after the fork; when the worker has exited
    by then, no signal would come, so the child ends itself rather than run on alone."""
    worker = subprocess.Popen(
        [sys.executable, "-c", FORKS_A_LATE_SLEEPER],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert worker.stdout is not None
    step = int(worker.stdout.readline())
    worker.kill()  # before the child's at-fork hooks have run
    worker.wait(10)
    deadline = time.monotonic() + 10
    while not _gone(step) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert _gone(step), f"step process {step} outlived its killed worker"
    finally:
        if not _gone(step):
            psutil.Process(step).kill()
