"""Dagster's entry point: assembles the definitions of `pipelines/defs/`, holds no logic."""

import dagster as dg

defs = dg.Definitions()
