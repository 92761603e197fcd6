"""Table columns that depend on the shop's schema: its key type, and what it cannot carry.

A source profile's marts have the canonical columns, but keys may be UUIDs (shown as text,
not as numbers) and some columns may be NULL in every row because the shop's schema has
no source for them (ingest/profiles/*/README.md, "NULL in the marts"). Such a column is
left out of the page's table and named under it as not carried: an empty cell would read
as "unknown for this row", a 0 as a fact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from dashboards import formatting as fmt


def key_column(label: str, keys: pd.Series) -> ColumnConfig:
    """A key column: a plain number for integer keys, text for UUIDs."""
    if pd.api.types.is_integer_dtype(keys):
        return st.column_config.NumberColumn(label, format="%d")
    return st.column_config.TextColumn(label)


def say_not_carried(missing: Sequence[str], labels: Mapping[str, str]) -> None:
    """A caption naming the columns ``missing`` (by their labels) as not carried."""
    if missing:
        st.caption(fmt.not_carried_note(list(dict.fromkeys(labels[c] for c in missing))))
