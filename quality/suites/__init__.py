"""The Great Expectations suites of the gates, kept as code and versioned with the project.

`rules.py`: the kinds of rule (Key, NotNull, InSet, References, RowsRule, ...) and how
each becomes GX expectations; `suite.py`: a suite and the relation it reads.
`raw.py`: the rule table of the raw tables, checked after every extract, before dbt reads.
`marts.py`: the rule table of the marts, checked on the shadow (`marts_next`) before
publishing; `agreements.py`: their cross-mart rules and engine-specific SQL.
"""

from quality.suites.marts import known_segments, mart_suites
from quality.suites.raw import RawSuiteOptions, minimum_row_count, raw_suites
from quality.suites.suite import Relation, TableSuite, rule_of

__all__ = [
    "RawSuiteOptions",
    "Relation",
    "TableSuite",
    "known_segments",
    "mart_suites",
    "minimum_row_count",
    "raw_suites",
    "rule_of",
]
