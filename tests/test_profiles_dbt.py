"""dbt on every source profile: each profile's staging maps its own raw tables onto the
canonical staging relations, so the one set of intermediate and mart SQL builds on it.

`dbt parse` is clean for every profile on both targets, and enables exactly that profile's
staging models and sources. The helpers below load a profile's shop: generated (a private
database), extracted into a raw schema of its own (`raw_<profile>`, beside the session's
canonical raw), built in a sandbox (`<prefix>staging`, ...), so no other test's schemas
are touched. Each non-canonical profile's `dbt build` (models and their data tests) and
unit tests run on both engines in `tests/test_profiles_marts.py`, whose build also gives
the marts it compares with the canonical shop's: one build per profile serves both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from core.settings import Environment
from core.vocabulary import MARTS
from ingest.extract.options import ExtractOptions
from ingest.extract.run import extract
from ingest.profiles import DEFAULT_PROFILE, PROFILES
from ingest.shop.generate import generate_shop
from pipelines.defs.dbt.assets import manifest_is_stale
from pipelines.defs.dbt.connection import TARGETS, DbtRun, dbt_target_root, run_dbt

SCALE = 0.01  # 100 customers, 500 orders: every status occurs, a build takes seconds
SEED = 11
END = date(2026, 11, 1)


def load_profile_raw(
    environment: Environment,
    create_database: Callable[[str], str],
    profile: str,
    *,
    scale: float = SCALE,
    seed: int = SEED,
) -> str:
    """Generate ``profile``'s shop in a private database and extract it, full, into the
    raw schema ``raw_<profile>`` of both engines (the warehouse and ClickHouse of the
    session). Returns that raw schema's name."""
    shop_url = create_database(f"dbt_profile_{profile}")
    generate_shop(
        shop_url,
        scale=scale,
        seed=seed,
        replace=False,
        progress=False,
        end_date=END,
        profile=profile,
    )
    raw_schema = f"raw_{profile}"
    extract(
        replace(environment, shop_url=shop_url),
        mode="full",
        options=ExtractOptions(raw_schema=raw_schema),
    )
    return raw_schema


def profile_vars(profile: str, raw_schema: str, prefix: str) -> list[str]:
    """dbt's --vars for a build of ``profile`` from ``raw_schema`` into a sandbox."""
    variables = {"source_profile": profile, "raw_schema": raw_schema, "schema_prefix": prefix}
    return ["--vars", json.dumps(variables)]


def assert_ok(runs: dict[str, DbtRun], what: str) -> None:
    for target in TARGETS:
        assert runs[target].ok, f"{what} failed on {target}:\n{runs[target].output[-6000:]}"


_PARSED: dict[str, dict[str, Path]] = {}


def profile_manifests(environment: Environment, profile: str) -> dict[str, Path]:
    """``profile``'s dbt manifest per target, parsed (`dbt parse`, both targets) at most once
    per test process, where the pipeline keeps it (`<dbt target root>/<profile>/<target>`,
    the canonical profile's `<root>/<target>`): a later definitions load of the profile
    finds it fresh, and every test of the profile reads the same parse (7 s a target)."""
    if profile not in _PARSED:
        root = dbt_target_root()
        root = root if profile == DEFAULT_PROFILE else root / profile
        manifests = {target: root / target / "manifest.json" for target in TARGETS}
        stale = any(manifest_is_stale(manifest, profile) for manifest in manifests.values())
        if stale:
            variables = json.dumps({"source_profile": profile})
            runs = run_dbt(environment, ["parse", "--vars", variables], artifacts_dir=root)
            assert_ok(runs, f"dbt parse ({profile})")
        _PARSED[profile] = manifests
    return _PARSED[profile]


# ---------------------------------------------------------------- parse


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_parse_enables_only_the_profiles_staging_and_sources(
    profile: str, environment: Environment
) -> None:
    manifests = profile_manifests(environment, profile)
    source_name = "shop" if profile == "canonical" else f"shop_{profile}"
    for target in TARGETS:
        manifest = json.loads(manifests[target].read_text())
        staging = [
            node
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["fqn"][1] == "staging"
        ]
        # The same eleven relations for every profile, each from the profile's folder.
        assert len(staging) == 11, target
        assert {node["original_file_path"].split("/")[2] for node in staging} == {profile}
        sources = {source["source_name"] for source in manifest["sources"].values()}
        assert sources == {source_name}, target
        # Every mart is there, on top of the profile's staging.
        marts = {node["name"] for node in manifest["nodes"].values() if node["fqn"][1] == "marts"}
        assert set(MARTS) <= marts, target


def test_an_unknown_profile_is_refused(environment: Environment, tmp_path: Path) -> None:
    runs = run_dbt(
        environment,
        ["parse", "--vars", json.dumps({"source_profile": "nosuchshop"})],
        targets=("postgres",),
        artifacts_dir=tmp_path,
    )
    assert not runs["postgres"].ok
