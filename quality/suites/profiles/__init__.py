"""The raw rules of every source profile besides the canonical shop, one module each.

Each module holds ``RAW_RULES`` (per table of the profile's shop schema, in its load
order: the rules the gate evaluates, in the order it reports them) and ``NEVER_EMPTY``,
written from the profile's own seed: its keys and unique constraints, its foreign keys,
its NOT NULL columns, its CHECKs (status values spelled as the seed spells them, money
not negative, ratings 1 to 5) and its identities. ``ingest/profiles/<profile>/schema.sql``
is that seed's DDL; a rule here restates one of its constraints on what the extract
loaded, so a load the shop's constraints would refuse is stopped before dbt reads it.

The canonical shop's rules stay in :mod:`quality.suites.raw`.
"""

from quality.suites.profiles import minimal, modestwear, solemate, techally
from quality.suites.raw_scope import RawRuleTable

PROFILE_RAW_RULES: dict[str, RawRuleTable] = {
    module.PROFILE: RawRuleTable(module.RAW_RULES, module.NEVER_EMPTY)
    for module in (modestwear, techally, minimal, solemate)
}

__all__ = ["PROFILE_RAW_RULES"]
