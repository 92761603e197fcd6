"""The dbt exposures (the dashboards' pages) as Dagster assets, downstream of the marts.

dagster-dbt 0.29 builds assets from models, seeds and snapshots only (its
``ASSET_RESOURCE_TYPES``); the exposures in the manifest are skipped. So each exposure
of `dbt_project/models/_exposures.yml` becomes an external asset here: key
`dashboards/<page>`, depending on the marts it names in both engines (a page reads
whichever engine the analyst picks), with the page's URL and owner as metadata. Dagster
never materializes them; they exist so lineage runs on from the marts to what analysts see.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg

from pipelines.defs.dbt.connection import TARGETS
from pipelines.defs.dbt.translator import ShopmartsDbtTranslator

EXPOSURE_GROUP = "dashboards"


def exposure_key(dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
    """`dashboards/overview` for the exposure `dashboard_overview`."""
    return dg.AssetKey([EXPOSURE_GROUP, dbt_resource_props["name"].removeprefix("dashboard_")])


def exposure_specs(manifest: Mapping[str, Any]) -> list[dg.AssetSpec]:
    """One external asset per exposure of ``manifest``, depending on its models in every
    engine (keys from the same translator as the dbt assets)."""
    translators = [ShopmartsDbtTranslator(target) for target in TARGETS]
    specs = []
    for exposure in manifest["exposures"].values():
        models = [manifest["nodes"][node] for node in exposure["depends_on"]["nodes"]]
        owner = exposure.get("owner") or {}
        metadata: dict[str, Any] = {
            "dbt_exposure": dg.MetadataValue.text(exposure["unique_id"]),
            "type": dg.MetadataValue.text(str(exposure.get("type") or "")),
            "maturity": dg.MetadataValue.text(str(exposure.get("maturity") or "")),
        }
        if exposure.get("url"):
            metadata["url"] = dg.MetadataValue.url(exposure["url"])
        if (exposure.get("meta") or {}).get("page"):
            metadata["page"] = dg.MetadataValue.path(exposure["meta"]["page"])
        specs.append(
            dg.AssetSpec(
                key=exposure_key(exposure),
                deps=[t.get_asset_key(model) for t in translators for model in models],
                description=exposure.get("description") or exposure.get("label"),
                group_name=EXPOSURE_GROUP,
                kinds={"streamlit", "dbt"},
                owners=[f"team:{owner['name'].replace(' ', '-')}"] if owner.get("name") else [],
                metadata=metadata,
            )
        )
    return specs


def load_exposure_specs(manifest_path: Any) -> list[dg.AssetSpec]:
    """:func:`exposure_specs` of the manifest at ``manifest_path``."""
    with open(manifest_path) as manifest:
        return exposure_specs(json.load(manifest))
