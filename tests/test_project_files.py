"""The production-shaped files parse and say what the README promises (no Docker engine here)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_docker_compose_is_complete() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "clickhouse", "dagster-webserver", "dagster-daemon"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert set(compose["volumes"]) == {"postgres-data", "clickhouse-data"}
    for name in ("dagster-webserver", "dagster-daemon"):
        environment = services[name]["environment"]
        for variable in ("SHOP_DATABASE_URL", "WAREHOUSE_DATABASE_URL", "CLICKHOUSE_URL"):
            assert variable in environment
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    dockerfile = (ROOT / services["dagster-daemon"]["build"]["dockerfile"]).read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_no_secret_is_written_in_compose() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for match in re.finditer(r"^\s*\w*(?:PASSWORD|password):\s*(\S+)", text, re.M):
        assert match.group(1).startswith("${"), f"literal secret in docker-compose.yml: {match[0]}"


def test_env_example_lists_every_variable_the_code_reads() -> None:
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    read = set()
    for path in [*ROOT.glob("pipelines/**/*.py"), *ROOT.glob("ingest/**/*.py")]:
        read |= set(
            re.findall(r"""environ(?:\.get)?\(\s*["']([A-Z][A-Z0-9_]+)["']""", path.read_text())
        )
        read |= set(re.findall(r"""environ\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]""", path.read_text()))
        read |= set(re.findall(r"""_VAR\s*=\s*["']([A-Z][A-Z0-9_]+)["']""", path.read_text()))
    assert read, "found no environment variable reads"
    missing = read - listed
    assert not missing, f".env.example does not list {sorted(missing)}"


def test_dagster_instance_files_validate(tmp_path: Path) -> None:
    from dagster._core.instance.config import dagster_instance_config

    for source in (ROOT / "dagster.yaml", ROOT / "docker" / "dagster.yaml"):
        home = tmp_path / source.parent.name
        home.mkdir()
        shutil.copy(source, home / "dagster.yaml")
        config, _ = dagster_instance_config(str(home))
        assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
        limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
        assert {"key": "shopmarts/refresh", "limit": 1} in limits
