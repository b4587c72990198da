"""Report dates: parsing what an operator typed, and business days from a real holiday calendar.

The calendar is the `holidays` library's (maintained, with Chile's movable and
law-made holidays), country `FONDOS_CALENDAR` (default `CL`, public holidays;
`CL-RM` adds a region's; `CL+bank` adds the holidays of another category, here
Chile's bank holiday of 31 December; `none` means weekends only). Weekends are
never business days.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache

import holidays

from fondos.errors import InvalidInput
from fondos.settings import CALENDAR

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The DAG param's JSON schema: null or empty (the business day before the run), or a real
# calendar date YYYY-MM-DD (format: date refuses 2026-02-30 at the API, before a run exists).
# `format: date` alone would refuse the empty string the README promises.
FECHA_SCHEMA = [{"type": "null"}, {"type": "string", "maxLength": 0}, {"type": "string", "format": "date"}]


def parse_fecha(value: object, today: date | None = None) -> date:
    """A report date from 'YYYY-MM-DD' (or a date); refuse malformed, impossible and future dates."""
    today = today or date.today()
    if isinstance(value, date):
        fecha = value
    else:
        text = str(value).strip() if value is not None else ""
        if not _ISO.match(text):
            raise InvalidInput(f"fecha {value!r} is not a date in the form YYYY-MM-DD (for example 2026-03-13)")
        try:
            fecha = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"fecha {text} does not exist in the calendar") from None
    if fecha > today:
        raise InvalidInput(f"fecha {fecha} is in the future (today is {today}): funds can only be processed "
                           "for today or earlier")
    return fecha


class Calendar:
    """Business days of one calendar: Monday to Friday, minus the country's (and region's) public holidays."""

    def __init__(self, code: str = CALENDAR):
        self.code = (code or "none").strip()
        if self.code.lower() == "none":
            self._holidays: holidays.HolidayBase | None = None
            return
        place, *extra = self.code.split("+")
        country, _, subdiv = place.partition("-")
        categories = ("public", *(c.strip().lower() for c in extra if c.strip()))
        try:
            self._holidays = holidays.country_holidays(country.upper(), subdiv=subdiv.upper() or None,
                                                       categories=categories)
        except NotImplementedError:
            raise InvalidInput(f"FONDOS_CALENDAR={self.code!r}: the holidays library has no country {country!r}; "
                               "use an ISO code such as CL, or CL-RM for a region, or none for weekends only") from None
        except ValueError as exc:
            raise InvalidInput(f"FONDOS_CALENDAR={self.code!r}: {exc} (CL+bank adds Chile's bank holidays)") from None

    def holiday(self, day: date) -> str | None:
        """The holiday's name on `day`, or None."""
        return None if self._holidays is None else self._holidays.get(day)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and self.holiday(day) is None

    def previous_business_day(self, day: date) -> date:
        """The last business day strictly before `day`."""
        day -= timedelta(days=1)
        while not self.is_business_day(day):
            day -= timedelta(days=1)
        return day

    def describe(self) -> str:
        return "Monday to Friday" if self._holidays is None else f"Monday to Friday except {self.code} public holidays"


@lru_cache(maxsize=8)
def calendar(code: str = CALENDAR) -> Calendar:
    return Calendar(code)


def is_business_day(day: date, code: str = CALENDAR) -> bool:
    return calendar(code).is_business_day(day)


def previous_business_day(day: date, code: str = CALENDAR) -> date:
    """The business day before `day` in the configured calendar (Monday after a holiday Friday -> Thursday)."""
    return calendar(code).previous_business_day(day)


def next_business_day(day: date, code: str = CALENDAR) -> date:
    """The first business day after `day` (weekends and the calendar's holidays skipped)."""
    nxt = day + timedelta(days=1)
    while not is_business_day(nxt, code):
        nxt += timedelta(days=1)
    return nxt
