"""A refresh's dbt build (and `run_dbt`, on its folder) re-parses the project fully when it
changed since the last parse, and partially (from the kept parse state) only when nothing
changed: dbt-core 1.11's partial parsing drops an enabled model when a disabled one of the
same name changes (each source profile's staging), so its state is never trusted across a
change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.defs.dbt import assets, connection
from pipelines.defs.dbt.connection import DBT_PROJECT_DIR

pytestmark = pytest.mark.fast


def reused_last_parse(log: Path) -> bool:
    """Whether the newest dbt invocation logged in ``log`` (a `dbt.log`) took the last
    parse as it was: partial parsing on, and nothing changed."""
    newest = log.read_text().split("Running with dbt=")[-1]
    return "no changes found, skipping parsing" in newest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    monkeypatch.setattr(connection, "DBT_PROJECT_DIR", copy)
    return copy


def _refresh(runs_dir: Path) -> str:
    """What a refresh does around its build: seed, build (a parse state appears), keep."""
    fingerprint = connection.seed_parse_state(runs_dir)
    finished = runs_dir / "run-1"
    finished.mkdir(exist_ok=True)
    (finished / connection.PARTIAL_PARSE_FILE).write_bytes(b"parse state")
    assets.keep_parse_state(runs_dir, finished, fingerprint)
    return fingerprint


def test_the_parse_state_is_kept_while_the_project_is_unchanged(
    project: Path, tmp_path: Path
) -> None:
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    _refresh(runs_dir)
    connection.seed_parse_state(runs_dir)
    assert (runs_dir / connection.PARTIAL_PARSE_FILE).exists()


def test_a_changed_or_new_model_of_a_disabled_profile_forces_a_full_parse(
    project: Path, tmp_path: Path
) -> None:
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    before = _refresh(runs_dir)
    model = next((project / "models" / "staging" / "solemate").glob("stg_shop__orders.sql"))
    model.write_text(model.read_text() + "\n-- edited\n")
    after = connection.seed_parse_state(runs_dir)
    assert after != before
    assert not (runs_dir / connection.PARTIAL_PARSE_FILE).exists()

    _refresh(runs_dir)
    (project / "models" / "staging" / "minimal" / "stg_shop__extra.sql").write_text("select 1")
    connection.seed_parse_state(runs_dir)
    assert not (runs_dir / connection.PARTIAL_PARSE_FILE).exists()


def test_another_source_profile_forces_a_full_parse(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    _refresh(runs_dir)
    monkeypatch.setenv("SHOPMARTS_SOURCE_PROFILE", "solemate")
    connection.seed_parse_state(runs_dir)
    assert not (runs_dir / connection.PARTIAL_PARSE_FILE).exists()


def test_the_build_asks_for_partial_parsing_the_project_turns_off_for_hand_runs() -> None:
    assert "--partial-parse" in assets.dbt_build_args("marts_next")
    assert "partial_parse: false" in (DBT_PROJECT_DIR / "dbt_project.yml").read_text()
