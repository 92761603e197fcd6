"""The command line as a user meets it: `--version`, options checked when parsed, `.env`.

Each test runs the real `shopmarts` program in a subprocess; none needs an engine running
(they fail before starting anything, or read only their own settings).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

SHOPMARTS = [sys.executable, "-m", "pipelines.cli"]
ENGINE_VARS = ("SHOP_DATABASE_URL", "WAREHOUSE_DATABASE_URL", "CLICKHOUSE_URL")


def shopmarts(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `shopmarts` with no engine URL in its environment and its own state folder."""
    environ = {k: v for k, v in os.environ.items() if k not in ENGINE_VARS}
    environ.update({"SHOPMARTS_HOME": str(home), "SHOPMARTS_ENV_FILE": os.devnull, **env})
    return subprocess.run(
        [*SHOPMARTS, *args], env=environ, capture_output=True, text=True, timeout=120
    )


@pytest.mark.fast
def test_version_prints_the_package_version(tmp_path: Path) -> None:
    result = shopmarts(["--version"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"shopmarts {version('shopmarts')}\n"


@pytest.mark.fast
@pytest.mark.parametrize(
    ("args", "option", "why"),
    [
        (["ui", "--port", "70000"], "--port", "70000 is not in the range 1<=x<=65535"),
        (["ui", "--port", "0"], "--port", "0 is not in the range 1<=x<=65535"),
        (["ui", "--port", "http"], "--port", "'http' is not a valid integer"),
        (["generate", "--scale", "0"], "--scale", "0.0 is not in the range x>0"),
        (["generate", "--scale", "-2"], "--scale", "-2.0 is not in the range x>0"),
        (["generate", "--seed", "-1"], "--seed", "-1 is not in the range x>=0"),
        (["generate", "--end-date", "2026-13-01"], "--end-date", "'2026-13-01'"),
        (["simulate", "--hours", "-1"], "--hours", "-1.0 is not in the range x>0"),
        (["simulate", "--hours", "2", "--intensity", "0"], "--intensity", "not in the range"),
        (["refresh", "--mode", "weekly"], "--mode", "'weekly' is not one of 'nightly', 'hourly'"),
        (["query", "--target", "mysql", "SELECT 1"], "--target", "'mysql' is not one of"),
        (["demo", "--scale", "big"], "--scale", "'big' is not a valid float"),
    ],
)
def test_a_bad_option_is_refused_in_one_line(
    tmp_path: Path, args: list[str], option: str, why: str
) -> None:
    result = shopmarts(args, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"shopmarts {args[0]}: Invalid value for '{option}'")
    assert why in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    # Refused before anything started: the state folder is as it was.
    assert not any(tmp_path.iterdir())


@pytest.mark.fast
def test_an_unknown_subcommand_or_option_is_one_line(tmp_path: Path) -> None:
    result = shopmarts(["refresh", "--mode", "nightly", "--fast"], tmp_path)
    assert result.returncode == 2
    assert result.stderr == "shopmarts refresh: No such option '--fast'. (see --help)\n"
    result = shopmarts(["upp"], tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "No such command 'upp'" in result.stderr


def test_the_env_file_is_read_and_the_real_environment_wins(tmp_path: Path) -> None:
    """`.env` holds the settings (here a warehouse URL with a typo, which `query` names
    before connecting); a variable set in the real environment overrides it."""
    env_file = tmp_path / "settings.env"
    env_file.write_text(
        "# the production warehouse\n"
        "export WAREHOUSE_DATABASE_URL='mysql://etl:s3cret@db.example.com:5432/warehouse'\n"
        'CLICKHOUSE_URL="http://default:s3cret@ch.example.com:8123/"\n'
    )
    home = tmp_path / "home"
    result = shopmarts(["query", "SELECT 1"], home, SHOPMARTS_ENV_FILE=str(env_file))
    assert result.returncode == 1
    assert result.stderr == (
        "shopmarts: WAREHOUSE_DATABASE_URL is not a PostgreSQL URL "
        "(expected postgresql://user:pass@host:port/db): "
        "mysql://etl:***@db.example.com:5432/warehouse\n"
    )
    result = shopmarts(
        ["query", "SELECT 1"],
        home,
        SHOPMARTS_ENV_FILE=str(env_file),
        WAREHOUSE_DATABASE_URL="oracle://from-the-shell/warehouse",
    )
    assert result.returncode == 1
    assert "oracle://from-the-shell/warehouse" in result.stderr and "mysql" not in result.stderr


def test_the_env_file_reaches_the_processes_up_starts(tmp_path: Path) -> None:
    """`up` with `.env` naming real servers starts no engine for them: the variables are in
    the command's environment before anything is decided (a bad ClickHouse port is
    refused in one line, the way it would be from the shell)."""
    env_file = tmp_path / ".env"
    env_file.write_text("CLICKHOUSE_URL=http://default:@127.0.0.1:notaport/\n")
    result = shopmarts(["up"], tmp_path / "home", SHOPMARTS_ENV_FILE=str(env_file))
    assert result.returncode == 1
    assert result.stderr == (
        "shopmarts: CLICKHOUSE_URL has a bad port: http://default:@127.0.0.1:notaport/\n"
    )


def test_a_missing_env_file_named_explicitly_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.env"
    result = shopmarts(["status"], tmp_path, SHOPMARTS_ENV_FILE=str(missing))
    assert result.returncode == 1
    assert result.stderr == (
        f"shopmarts: SHOPMARTS_ENV_FILE names a file that does not exist: {missing}\n"
    )


# --- Chromium, for the browser tests ------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_make_says_in_one_line_what_to_install_where_it_cannot_install_chromium(
    tmp_path: Path,
) -> None:
    """`make test` installs Chromium through apt-get as root or with passwordless sudo; on
    a machine with neither Chromium nor apt-get it names what to install, in one line, and
    goes on (the browser tests then fail saying the same)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "sh", "bash", "env", "id"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "chromium"],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "make: Chromium is missing, so the browser tests will fail: install Chromium so that "
        "`chromium` is on PATH (no apt-get here)\n"
    )


def test_a_missing_chromium_fails_the_browser_tests_naming_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from browser import chromium

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception) as failed:
        chromium()
    assert "Chromium is missing" in str(failed.value)
    assert "sudo apt-get install chromium" in str(failed.value)
