"""The refresh jobs' executor: the two engines' steps side by side, each a fork of the run worker.

After the extract, each engine has its own lane (raw gate, dbt, mart gate) that shares
nothing with the other's until parity and publish. On one core at a time they take the sum
of both lanes; side by side, about the longer one. Dagster's multiprocess executor runs them
so, each step in its own process, but starts each with "spawn" or "forkserver": a fresh
interpreter importing Dagster, dagster-dbt, GX and the definitions again, seconds per step,
more than the overlap wins on 2 cores. Here it forks them from the run worker, which has all
of that loaded already (the run worker is single-threaded when it forks). Each step process
dies with the run worker: a killed run leaves no step running behind it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

import dagster as dg

from pipelines.runtime.dagster_private import MultiprocessExecutor, RetryMode

_PR_SET_PDEATHSIG = 1
_registered = False
_forking_pid = 0  # set in the parent just before each fork; the child inherits the value


def _remember_forking_process() -> None:
    global _forking_pid  # noqa: PLW0603 - read by the child, in its copy of this module
    _forking_pid = os.getpid()


def _die_with_parent() -> None:
    """In a forked child: SIGKILL when the process that forked it exits."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have exited before the prctl above (on a busy machine the child can
    # wait to be scheduled): then no signal will ever come, and the child ends itself.
    if os.getppid() != _forking_pid:
        os.kill(os.getpid(), signal.SIGKILL)


def die_with_this_process() -> None:
    """Every process this one forks from now on (the step processes) is killed when this one
    exits, however it exits. Once per process; `subprocess` children are not affected."""
    global _registered  # noqa: PLW0603 - one at-fork hook per process, however many runs
    if not _registered:
        os.register_at_fork(before=_remember_forking_process, after_in_child=_die_with_parent)
        _registered = True


@dg.executor(
    name="forked_steps",
    config_schema={
        "max_concurrent": dg.Field(
            int,
            default_value=3,
            description="How many steps run at once: one per engine, and the cross-engine "
            "parity beside the two mart gates (it waits on both engines, not on a core).",
        )
    },
    requirements=dg.multiple_process_executor_requirements(),
)
def forked_steps_executor(init_context: dg.InitExecutorContext) -> MultiprocessExecutor:
    die_with_this_process()
    max_concurrent = init_context.executor_config["max_concurrent"]
    assert isinstance(max_concurrent, int)
    return MultiprocessExecutor(
        retries=RetryMode.ENABLED,  # the extract asks for retries on connection errors
        max_concurrent=max_concurrent,
        start_method="fork",
    )
