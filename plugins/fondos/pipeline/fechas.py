"""Report dates: parsing what an operator typed, and business days."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fondos.errors import InvalidInput

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


def previous_business_day(day: date) -> date:
    """The business day before `day` (Monday -> Friday). Holidays are not modelled."""
    step = {0: 3, 6: 2}.get(day.weekday(), 1)
    return day - timedelta(days=step)
