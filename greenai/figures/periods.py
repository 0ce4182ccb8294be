"""Reporting periods: calendar quarters, months, years and date ranges in a time zone.

A period is half-open, ``[start, end)``, with both ends at local midnight in the configured
time zone (UTC by default). Accepted spellings:

- ``2026-Q3`` a quarter, ``2026-10`` a month, ``2026`` a year;
- ``2026-07-01..2026-09-30`` a range of whole days, both dates included;
- ``--last month|quarter|year``: the last complete calendar period before now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

from greenai.errors import ConfigError

__all__ = ["PERIOD_FORMS", "Period", "last_period", "parse_as_of", "parse_period"]

PeriodKind = Literal["quarter", "month", "year", "range"]

PERIOD_FORMS = "2026-Q3 (quarter), 2026-10 (month), 2026 (year) or 2026-07-01..2026-09-30"
"""What ``--period`` accepts, in words (used in error messages)."""

LAST_KINDS = ("month", "quarter", "year")
_COMPARED = "a period whose period before and year before are dates after year 1"

_QUARTER = re.compile(r"(\d{4})-[Qq](\d)")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"(\d{4})")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})")


def zone(name: str) -> tzinfo:
    """The time zone called ``name`` (IANA name; ``UTC`` needs no database).

    Raises:
        ConfigError: Unknown time zone.
    """
    if name == "UTC":
        return UTC
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError("timezone", name, "an IANA time zone such as Europe/Paris") from exc


def _configured_timezone() -> str:
    from greenai.config import load_settings

    return load_settings().timezone


@dataclass(frozen=True)
class Period:
    """A reporting period ``[first_day, last_day]`` in a time zone.

    Attributes:
        kind: ``quarter``, ``month``, ``year`` or ``range``.
        first_day: First day of the period (local date).
        last_day: Last day of the period, included (local date).
        timezone: IANA time zone the days are cut in.
        label: How the period is written (``2026-Q3``, ``2026-10``, ``2026``,
            ``2026-07-01..2026-09-30``).
    """

    kind: PeriodKind
    first_day: date
    last_day: date
    timezone: str = "UTC"
    label: str = ""

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ConfigError(
                "period", self.label or str(self.first_day), "a first day on or before the last"
            )
        if not self.label:
            object.__setattr__(self, "label", _label(self.kind, self.first_day, self.last_day))

    @property
    def start(self) -> datetime:
        """Local midnight at the start of the first day (aware)."""
        return datetime.combine(self.first_day, datetime.min.time(), zone(self.timezone))

    @property
    def end(self) -> datetime:
        """Local midnight after the last day (aware; excluded from the period)."""
        after = self.last_day + timedelta(days=1)
        return datetime.combine(after, datetime.min.time(), zone(self.timezone))

    @property
    def start_utc(self) -> datetime:
        """:attr:`start` in UTC."""
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """:attr:`end` in UTC."""
        return self.end.astimezone(UTC)

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Period:
        """The period of the same kind just before (a range: as many days before).

        Raises:
            ConfigError: It would start before year 1.
        """
        try:
            if self.kind == "range":
                last = self.first_day - timedelta(days=1)
                return Period("range", last - timedelta(days=self.days - 1), last, self.timezone)
            step = {"month": 1, "quarter": 3, "year": 12}[self.kind]
            first = _add_months(self.first_day, -step)
            return Period(self.kind, first, self.first_day - timedelta(days=1), self.timezone)
        except (OverflowError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError("period", self.label, _COMPARED) from exc

    def year_before(self) -> Period:
        """The same period one year earlier (29 February becomes 28 February).

        Raises:
            ConfigError: It would start before year 1.
        """
        try:
            if self.kind == "range":
                first, last = _minus_year(self.first_day), _minus_year(self.last_day)
                return Period("range", first, last, self.timezone)
            first = _add_months(self.first_day, -12)
            last = _add_months(self.last_day + timedelta(days=1), -12) - timedelta(days=1)
            return Period(self.kind, first, last, self.timezone)
        except (OverflowError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError("period", self.label, _COMPARED) from exc

    @property
    def slicing(self) -> Literal["day", "week", "month"]:
        """How :meth:`subperiods` slices it: days up to 31 days, ISO weeks up to 92 days,
        else months."""
        if self.days <= 31:
            return "day"
        return "week" if self.days <= 92 else "month"

    def subperiods(self) -> list[Period]:
        """Slices for a trend (see :attr:`slicing`), clipped to the period; labels are
        the first day, ``2026-W27`` or ``2026-07``.
        """
        if self.slicing == "day":
            return [Period("range", d, d, self.timezone, d.isoformat()) for d in _days(self)]
        if self.slicing == "week":
            return _weeks(self)
        out = []
        first = self.first_day
        while first <= self.last_day:
            following = _add_months(first.replace(day=1), 1)
            last = min(following - timedelta(days=1), self.last_day)
            out.append(Period("range", first, last, self.timezone, f"{first:%Y-%m}"))
            first = following
        return out


def _days(period: Period) -> list[date]:
    return [period.first_day + timedelta(days=i) for i in range(period.days)]


def _weeks(period: Period) -> list[Period]:
    out = []
    first = period.first_day
    while first <= period.last_day:
        last = min(first + timedelta(days=6 - first.weekday()), period.last_day)
        year, week, _ = first.isocalendar()
        out.append(Period("range", first, last, period.timezone, f"{year}-W{week:02d}"))
        first = last + timedelta(days=1)
    return out


def _add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after the month of ``day``."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _label(kind: PeriodKind, first: date, last: date) -> str:
    if kind == "quarter":
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    if kind == "month":
        return f"{first:%Y-%m}"
    if kind == "year":
        return f"{first.year}"
    return f"{first.isoformat()}..{last.isoformat()}"


def _month_period(year: int, month: int, tz: str) -> Period:
    following = _add_months(date(year, month, 1), 1)
    return Period("month", date(year, month, 1), following - timedelta(days=1), tz)


def _quarter_period(year: int, quarter: int, tz: str) -> Period:
    first = date(year, 3 * quarter - 2, 1)
    return Period("quarter", first, _add_months(first, 3) - timedelta(days=1), tz)


def parse_period(text: str, timezone: str | None = None) -> Period:
    """Parses a period (forms in the module docstring).

    Args:
        text: The period as written on the command line.
        timezone: IANA time zone the days are cut in (default: the configured ``timezone``).

    Returns:
        The period.

    Raises:
        ConfigError: Not a period, or an impossible one (month 13, Q5, a range that ends
            before it starts); the message says what is accepted.
    """
    tz = timezone if timezone is not None else _configured_timezone()
    zone(tz)
    spelt = text.strip()
    try:
        if match := _QUARTER.fullmatch(spelt):
            quarter = int(match.group(2))
            if not 1 <= quarter <= 4:
                raise ConfigError("period", text, "a quarter Q1 to Q4, such as 2026-Q3")
            return _quarter_period(int(match.group(1)), quarter, tz)
        if match := _MONTH.fullmatch(spelt):
            month = int(match.group(2))
            if not 1 <= month <= 12:
                raise ConfigError("period", text, "a month 01 to 12, such as 2026-10")
            return _month_period(int(match.group(1)), month, tz)
        if _YEAR.fullmatch(spelt):
            year = int(spelt)
            return Period("year", date(year, 1, 1), date(year, 12, 31), tz)
        if match := _RANGE.fullmatch(spelt):
            first, last = (date.fromisoformat(match.group(i)) for i in (1, 2))
            if last < first:
                raise ConfigError(
                    "period", text, "a range whose first day is on or before its last"
                )
            return Period("range", first, last, tz)
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError("period", text, f"real dates ({exc}); {PERIOD_FORMS}") from exc
    raise ConfigError("period", text, PERIOD_FORMS)


def last_period(kind: str, *, now: datetime | None = None, timezone: str | None = None) -> Period:
    """The last complete calendar month, quarter or year before ``now``.

    Args:
        kind: ``month``, ``quarter`` or ``year``.
        now: The current time (aware; default: the system clock).
        timezone: IANA time zone (default: the configured ``timezone``).

    Raises:
        ConfigError: ``kind`` is not one of the three.
    """
    if kind not in LAST_KINDS:
        raise ConfigError("last", kind, "month, quarter or year")
    tz = timezone if timezone is not None else _configured_timezone()
    today = (now or datetime.now(UTC)).astimezone(zone(tz)).date()
    if kind == "year":
        return Period("year", date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), tz)
    if kind == "month":
        previous = _add_months(today.replace(day=1), -1)
        return _month_period(previous.year, previous.month, tz)
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    previous = _add_months(quarter_start, -3)
    return _quarter_period(previous.year, (previous.month - 1) // 3 + 1, tz)


def parse_as_of(
    text: str | None, timezone: str = "UTC", *, now: datetime | None = None
) -> datetime:
    """The as-of time of a report, aware UTC, to the second.

    Args:
        text: ISO 8601 date or date-time; one without an offset is in ``timezone``
            (a date alone is its local midnight). None: ``now``.
        timezone: IANA time zone for times written without an offset.
        now: The current time (default: the system clock).

    Raises:
        ConfigError: Not an ISO 8601 date or time.
    """
    if text is None or not text.strip():
        moment = now or datetime.now(UTC)
        if moment.microsecond:  # round up: what the ledger holds now is inside
            moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError as exc:
            accepted = "an ISO 8601 date or time, such as 2026-10-01T06:00:00+00:00"
            raise ConfigError("as_of", text, accepted) from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone(timezone))
    return moment.astimezone(UTC).replace(microsecond=0)
