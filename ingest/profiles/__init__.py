"""Source profiles: which seed shop's schema the shop database holds.

``canonical`` is the shop of seed 003 (``ingest/shop/schema.sql``); every other profile is a real
shop's schema as its seed document defines it (``ingest/profiles/<name>/schema.sql``),
filled with the same logical shop by ``ingest/profiles/<name>/fill.sql`` (see
``ingest/profiles/README.md``). The registry below is what the extract and the staging
models need to know about each: its tables in load order (parents first), each table's
primary key and key type, and whether the table has an ``updated_at`` cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from core.errors import ShopmartsError
from core.settings import SOURCE_PROFILE_VAR, source_profile_name
from ingest.profiles.sql_files import split_sections, split_statements

PROFILE_VAR = SOURCE_PROFILE_VAR
DEFAULT_PROFILE = "canonical"
PROFILES_DIR = Path(__file__).resolve().parent
CANONICAL_SCHEMA_FILE = PROFILES_DIR.parent / "shop" / "schema.sql"
# Where a non-canonical profile's shop database keeps the canonical shop it was written from:
# `generate` leaves it there (the extract reads only `public`, so it is never extracted) and
# `simulate` advances it and syncs the profile's tables from it through the same fill.sql.
CANONICAL_SCHEMA = "shopmarts_canonical"

KeyType = Literal["bigint", "serial", "uuid"]


@dataclass(frozen=True)
class ProfileTable:
    """One table of a profile's shop schema."""

    name: str
    primary_key: tuple[str, ...]
    key_type: KeyType
    updated_at: bool  # has an updated_at column kept by a trigger: the incremental cursor


@dataclass(frozen=True)
class Profile:
    """A source profile: one seed shop's schema."""

    name: str
    seed: str  # the seed document's number
    shop: str  # the shop the seed describes
    tables: tuple[ProfileTable, ...]  # load order: parents first

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(table.name for table in self.tables)

    def table(self, name: str) -> ProfileTable:
        """The table called ``name``, or a ShopmartsError naming the profile."""
        for table in self.tables:
            if table.name == name:
                return table
        raise ShopmartsError(f"profile {self.name!r} has no table {name!r}")

    @property
    def schema_file(self) -> Path:
        """The profile's DDL, in sections (drop, tables, keys, indexes, foreign_keys, triggers)."""
        if self.name == DEFAULT_PROFILE:
            return CANONICAL_SCHEMA_FILE
        return PROFILES_DIR / self.name / "schema.sql"

    @property
    def fill_file(self) -> Path:
        """The INSERT ... SELECT statements that write the canonical shop through this schema."""
        return PROFILES_DIR / self.name / "fill.sql"


def _tables(
    key_type: KeyType, *specs: tuple[str, str | tuple[str, ...], bool]
) -> tuple[ProfileTable, ...]:
    return tuple(
        ProfileTable(name, (key,) if isinstance(key, str) else key, key_type, updated_at)
        for name, key, updated_at in specs
    )


PROFILES: dict[str, Profile] = {
    "canonical": Profile(
        "canonical",
        "003",
        "E-Commerce Analytics Platform",
        _tables(
            "bigint",
            ("product_categories", "category_id", True),
            ("products", "product_id", True),
            ("customers", "customer_id", True),
            ("addresses", "address_id", True),
            ("promotions", "promotion_id", True),
            ("orders", "order_id", True),
            ("order_items", "order_item_id", True),
            ("order_promotions", ("order_id", "promotion_id"), True),
            ("reviews", "review_id", True),
            ("inventory", "inventory_id", True),
            ("audit_log", "audit_id", False),
        ),
    ),
    "modestwear": Profile(
        "modestwear",
        "000",
        "ModestWear (Django)",
        _tables(
            "serial",
            ("users_user", "id", False),
            ("catalog_category", "id", False),
            ("catalog_coveragelevel", "id", False),
            ("catalog_product", "id", False),
            ("catalog_productvariant", "id", False),
            ("catalog_productimage", "id", False),
            ("orders_wishlist", "id", False),
            ("orders_cartitem", "id", False),
            ("orders_order", "id", False),
            ("orders_orderitem", "id", False),
            ("outfits_outfit", "id", True),
            ("outfits_outfititem", "id", False),
        ),
    ),
    "techally": Profile(
        "techally",
        "001",
        "TechAlly",
        _tables(
            "uuid",
            ("users", "id", True),
            ("addresses", "id", True),
            ("categories", "id", True),
            ("brands", "id", True),
            ("products", "id", True),
            ("product_variants", "id", True),
            ("warehouses", "id", True),
            ("inventory", "id", True),
            ("stock_movements", "id", False),
            ("orders", "id", True),
            ("order_items", "id", True),
            ("payments", "id", True),
            ("reviews", "id", True),
        ),
    ),
    "minimal": Profile(
        "minimal",
        "002",
        "a minimal shop",
        _tables(
            "uuid",
            ("users", "id", True),
            ("products", "id", True),
            ("orders", "id", True),
            ("order_items", "id", False),
            ("sessions", "id", False),
        ),
    ),
    "solemate": Profile(
        "solemate",
        "004",
        "SoleMate",
        _tables(
            "uuid",
            ("users", "id", True),
            ("addresses", "id", False),
            ("categories", "id", False),
            ("brands", "id", False),
            ("products", "id", True),
            ("product_variants", "id", False),
            ("product_images", "id", False),
            ("warehouses", "id", True),
            ("promo_codes", "id", False),
            ("orders", "id", True),
            ("order_items", "id", False),
            ("payments", "id", True),
            ("reviews", "id", True),
            ("cart_items", "id", True),
            ("wishlist_items", "id", False),
            ("inventory", "id", True),
            ("inventory_transactions", "id", False),
            ("promo_usage", "id", False),
        ),
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``, or a ShopmartsError listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ShopmartsError(
            f"unknown source profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None


def configured_profile() -> Profile:
    """The profile named by SHOPMARTS_SOURCE_PROFILE (default ``canonical``)."""
    name = source_profile_name()
    try:
        return get_profile(name)
    except ShopmartsError as error:
        raise ShopmartsError(f"{PROFILE_VAR}: {error}") from None


def every_profile_table() -> tuple[str, ...]:
    """Every table name any profile creates in the shop (for dropping whatever is there)."""
    names: dict[str, None] = {}
    for profile in PROFILES.values():
        names.update(dict.fromkeys(profile.table_names))
    return tuple(names)


@cache
def profile_sections(name: str) -> dict[str, list[str]]:
    """The statements of profile ``name``'s schema.sql by section, plus its fill.sql as ``fill``."""
    profile = get_profile(name)
    if name == DEFAULT_PROFILE:
        return split_sections(CANONICAL_SCHEMA_FILE.read_text())
    sections = split_sections(profile.schema_file.read_text())
    sections["fill"] = split_statements(profile.fill_file.read_text())
    return sections
