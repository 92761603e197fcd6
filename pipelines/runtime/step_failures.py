"""Why a step failed, in one line: for `shopmarts refresh`'s progress (`pipelines.launch`) and
the refresh log's reason for a run that ended before its gates (`pipelines.defs.refresh.sensors`).

Here, below both, so the sensors (definitions) do not import a command that sits above them.
"""

from __future__ import annotations

from typing import Any


def step_failure_message(failure: Any) -> str:
    """The first line of why a step failed: a `dg.Failure`'s own description (the gates put
    the failing expectation there), else the error's message without its class name."""
    user = getattr(failure, "user_failure_data", None)
    text = (getattr(user, "description", None) or "").strip()
    if not text:
        error = getattr(failure, "error", None)
        text = (error.message if error else "").strip()
        # "dagster._core.definitions.events.Failure: ..." / "psycopg.errors.X: ...": the
        # class name's module path says nothing to the reader; the class name itself may.
        head, _, rest = text.partition(": ")
        if rest and " " not in head and "." in head:
            text = f"{head.rsplit('.', 1)[-1]}: {rest}" if "Failure" not in head else rest
    return text.splitlines()[0] if text else "failed"
