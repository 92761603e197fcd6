"""The Great Expectations suites of the gates, kept as code and versioned with the project.

`raw.py`: per raw table, checked after every extract, before dbt reads raw.
`marts.py`: per mart, checked on the shadow (`marts_next`) before publishing.
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
