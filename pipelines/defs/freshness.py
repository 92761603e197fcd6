"""Freshness policies on the marts: the UI flags a mart whose refresh is overdue."""

import warnings
from datetime import timedelta

import dagster as dg

from pipelines.defs.plan import plan_for

# Marts the hourly plan publishes; the others only the nightly one does.
HOURLY_MARTS = plan_for("hourly").marts

# The nightly refresh publishes every mart once a day; the hourly one its marts every hour.
NIGHTLY_WINDOW = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)
HOURLY_WINDOW = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=2), warn_window=timedelta(minutes=70)
)


def _with_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    hourly = spec.key.path[-1] in HOURLY_MARTS
    return spec.replace_attributes(freshness_policy=HOURLY_WINDOW if hourly else NIGHTLY_WINDOW)


def with_freshness_policies(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with a freshness policy on every mart of both engines."""
    with warnings.catch_warnings():
        # The one API that maps specs by selection is marked "preview" in Dagster 1.13.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(
            func=_with_policy,
            selection=dg.AssetSelection.key_prefixes(
                ["postgres", "marts"], ["clickhouse", "marts"]
            ),
        )
