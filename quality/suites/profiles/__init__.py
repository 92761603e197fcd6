"""The raw rules of every source profile besides the canonical shop, one module each.

Each module holds ``RAW_RULES`` (per table of the profile's shop schema, in its load
order: the rules the gate evaluates, in the order it reports them) and ``NEVER_EMPTY``
(together its ``RULE_TABLE``), written from the profile's own seed: its keys and unique
constraints, its foreign keys, its NOT NULL columns, its CHECKs (status values spelled as
the seed spells them, money not negative, ratings 1 to 5) and its identities.
``ingest/profiles/<profile>/schema.sql`` is that seed's DDL; a rule here restates one of
its constraints on what the extract loaded, so a load the shop's constraints would refuse
is stopped before dbt reads it.

Each module also declares ``NOT_CARRIED``: the mart columns its shop cannot carry (NULL in
its marts) and the marts it leaves empty; the mart gate expects them so
(:mod:`quality.suites.profiles.not_carried`).

The canonical shop's rules stay in :mod:`quality.suites.raw`.
"""

from quality.suites.profiles import minimal, modestwear, solemate, techally
from quality.suites.profiles.minimal import RULE_TABLE as MINIMAL
from quality.suites.profiles.modestwear import RULE_TABLE as MODESTWEAR
from quality.suites.profiles.not_carried import NotCarried
from quality.suites.profiles.solemate import RULE_TABLE as SOLEMATE
from quality.suites.profiles.techally import RULE_TABLE as TECHALLY
from quality.suites.raw_scope import RawRuleTable

# By profile name, as `ingest/profiles/__init__.py` registers them.
PROFILE_RAW_RULES: dict[str, RawRuleTable] = {
    "modestwear": MODESTWEAR,
    "techally": TECHALLY,
    "minimal": MINIMAL,
    "solemate": SOLEMATE,
}

# By profile name: the mart columns each cannot carry (NULL) and the marts it leaves
# empty, which the mart gate expects so (quality/suites/profiles/not_carried.py).
PROFILE_NOT_CARRIED: dict[str, NotCarried] = {
    "modestwear": modestwear.NOT_CARRIED,
    "techally": techally.NOT_CARRIED,
    "minimal": minimal.NOT_CARRIED,
    "solemate": solemate.NOT_CARRIED,
}

__all__ = ["PROFILE_NOT_CARRIED", "PROFILE_RAW_RULES"]
