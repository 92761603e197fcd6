"""What a source profile's shop cannot carry into the marts, declared once per profile.

A shop whose schema lacks a fact (the minimal shop keeps no cost price, no loyalty tier,
no promotions) leaves the mart columns built from it NULL, and the marts built from
nothing empty: the pipeline never invents a value. Each profile module declares that
once, as ``NOT_CARRIED`` next to its raw rules; its README's "NULL in the marts" says
the same in words, and ``tests/test_profiles_marts.py`` checks every other column of
the profile's marts against the canonical shop's.

The mart gate (:func:`quality.suites.marts.mart_suites`) reads it: for the configured
profile it expects each declared column NULL on every row, and each declared mart
empty, instead of applying the canonical rules that read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class NotCarried:
    """Per mart, the columns a profile leaves NULL; and the marts it leaves empty."""

    columns: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Marts built from facts the shop has none of (promotions): a row would be invented.
    empty_marts: frozenset[str] = frozenset()

    def of(self, mart: str) -> frozenset[str]:
        """The columns of ``mart`` the profile leaves NULL."""
        return self.columns.get(mart, frozenset())


# The canonical shop carries every mart column.
NOTHING = NotCarried()
