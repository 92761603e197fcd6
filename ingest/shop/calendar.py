"""The shop's time axis and seasonality, shared by the generator and the simulator.

Times are int64 seconds since the Unix epoch, UTC. The generated history never looks at
the wall clock: it ends at a fixed date (``DEFAULT_END_DATE`` unless told otherwise) so a
seed always gives the same shop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

DEFAULT_END_DATE = date(2026, 11, 1)
HISTORY_YEARS = 3
DAY = 86_400
HOUR = 3_600
YEAR = 365.25 * DAY

# Monday .. Sunday: people shop on Sunday evening and Monday, less on Friday and Saturday.
WEEKDAY_FACTORS = np.array([1.08, 1.02, 1.0, 0.98, 0.9, 0.86, 1.12])
WEEKDAY_FACTORS = WEEKDAY_FACTORS / WEEKDAY_FACTORS.mean()

# January .. December, before the holiday events below.
MONTH_FACTORS = np.array([0.86, 0.84, 0.94, 0.95, 1.0, 0.96, 1.0, 0.98, 0.95, 1.0, 1.05, 1.0])

# Hour of day (UTC, the shop's local time): quiet nights, lunch and evening peaks.
HOUR_WEIGHTS = np.array([
    0.35, 0.22, 0.15, 0.12, 0.12, 0.18, 0.35, 0.6, 0.85, 1.0, 1.1, 1.2,
    1.3, 1.25, 1.15, 1.1, 1.1, 1.15, 1.3, 1.5, 1.6, 1.5, 1.1, 0.7,
])  # fmt: skip
HOUR_WEIGHTS = HOUR_WEIGHTS / HOUR_WEIGHTS.mean()


@dataclass(frozen=True)
class Timeline:
    """History from ``start`` (inclusive) to ``end`` (exclusive), both at midnight UTC."""

    start: int
    end: int

    @classmethod
    def ending(cls, end_date: date, years: int = HISTORY_YEARS) -> Timeline:
        start_date = end_date.replace(year=end_date.year - years)
        return cls(start=epoch_seconds(start_date), end=epoch_seconds(end_date))

    @property
    def days(self) -> int:
        return (self.end - self.start) // DAY

    def day_starts(self) -> np.ndarray:
        """Epoch seconds of each history day's midnight."""
        return self.start + DAY * np.arange(self.days, dtype=np.int64)


def epoch_seconds(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def to_datetime(seconds: int | float) -> datetime:
    return datetime.fromtimestamp(float(seconds), tz=UTC)


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def _holiday_factors(year: int) -> dict[date, float]:
    """Multipliers of the days around Black Friday, Christmas and the midsummer deals."""
    friday = black_friday(year)
    factors = {friday + timedelta(days=offset): 1.3 for offset in range(-7, -1)}
    factors |= {
        friday - timedelta(days=1): 0.9,  # Thanksgiving
        friday: 3.2,
        friday + timedelta(days=1): 2.0,
        friday + timedelta(days=2): 1.8,
        friday + timedelta(days=3): 2.8,  # Cyber Monday
        friday + timedelta(days=4): 1.4,
    }
    for day in range(1, 21):
        factors[date(year, 12, day)] = 1.85
    for day in range(21, 25):
        factors[date(year, 12, day)] = 1.4
    factors[date(year, 12, 25)] = 0.6
    for day in range(26, 32):
        factors[date(year, 12, day)] = 1.1
    for day in (14, 15, 16):
        factors[date(year, 7, day)] = 1.6
    return factors


def day_factors(day_starts: np.ndarray) -> np.ndarray:
    """Relative demand of each day: weekday x month x holiday events (mean about 1)."""
    days = np.asarray(day_starts, dtype=np.int64) // DAY
    as_dates = days.astype("datetime64[D]")
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    month = as_dates.astype("datetime64[M]").astype(np.int64) % 12
    factors = WEEKDAY_FACTORS[weekday] * MONTH_FACTORS[month]
    years = as_dates.astype("datetime64[Y]").astype(np.int64) + 1970
    for year in np.unique(years):
        for day, factor in _holiday_factors(int(year)).items():
            factors[days == epoch_seconds(day) // DAY] *= factor / MONTH_FACTORS[day.month - 1]
    return factors


def month_index(seconds: np.ndarray) -> np.ndarray:
    """0 = January .. 11 = December of each time."""
    return (np.asarray(seconds, dtype=np.int64) // DAY).astype("datetime64[D]").astype(
        "datetime64[M]"
    ).astype(np.int64) % 12


def seconds_into_day(rng: np.random.Generator, count: int) -> np.ndarray:
    """Times of day following ``HOUR_WEIGHTS``, in seconds after midnight."""
    cumulative = np.cumsum(HOUR_WEIGHTS) / HOUR_WEIGHTS.sum()
    hours = np.searchsorted(cumulative, rng.random(count), side="right")
    return hours * HOUR + rng.integers(0, HOUR, count)
