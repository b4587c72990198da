"""The DAG's schedule: a cron time, on business days of the holiday calendar only.

`BusinessDayTimetable` is Airflow's `CronTriggerTimetable` (a run at the cron
time, a zero-length data interval) whose every candidate time is moved on to
the next one falling on a business day of `fondos.pipeline.fechas.Calendar`, in
the timetable's own time zone. So the scheduler never creates a run on a
weekend or a holiday, and the run of the Monday after a holiday Friday
processes Thursday (the DAG's `crear_proceso` takes the previous business day).

Airflow only deserializes custom timetables that a plugin registers: the
`fondos` plugin (`plugins/fondos_plugin.py`) lists this class.
"""

from __future__ import annotations

from typing import Any

from airflow.timetables.trigger import CronTriggerTimetable
from pendulum import DateTime

from fondos.pipeline.fechas import calendar
from fondos.settings import CALENDAR

# A cron time that never falls on a business day (e.g. "0 6 * * 6,0") would loop for ever: stop after a year.
_MAX_SKIPS = 366


class BusinessDayTimetable(CronTriggerTimetable):
    """Runs at `cron` (in `timezone`) on business days of `calendar_code` (see fondos.pipeline.fechas)."""

    def __init__(self, cron: str, *, timezone: Any, calendar_code: str = CALENDAR) -> None:
        super().__init__(cron, timezone=timezone)
        self.calendar_code = calendar_code
        self._calendar = calendar(calendar_code)
        self.description = f"{self.description or cron}, only on business days ({self._calendar.describe()})"

    # -- the four moves of the cron base class, each skipping non-business days --------------------------
    def _business(self, when: DateTime) -> bool:
        return self._calendar.is_business_day(when.in_timezone(self._timezone).date())

    def _forward(self, when: DateTime) -> DateTime:
        for _ in range(_MAX_SKIPS):
            if self._business(when):
                return when
            when = super()._get_next(when)
        raise ValueError(f"cron {self._expression!r} finds no business day of {self.calendar_code} within a year")

    def _backward(self, when: DateTime) -> DateTime:
        for _ in range(_MAX_SKIPS):
            if self._business(when):
                return when
            when = super()._get_prev(when)
        raise ValueError(f"cron {self._expression!r} finds no business day of {self.calendar_code} within a year")

    def _get_next(self, current: DateTime) -> DateTime:
        return self._forward(super()._get_next(current))

    def _get_prev(self, current: DateTime) -> DateTime:
        return self._backward(super()._get_prev(current))

    def _align_to_next(self, current: DateTime) -> DateTime:
        return self._forward(super()._align_to_next(current))

    def _align_to_prev(self, current: DateTime) -> DateTime:
        return self._backward(super()._align_to_prev(current))

    # -- what Airflow stores and shows ---------------------------------------------------------------------
    @property
    def summary(self) -> str:
        return f"{self._expression} ({self.calendar_code} business days)"

    def serialize(self) -> dict[str, Any]:
        return {**super().serialize(), "calendar": self.calendar_code}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> BusinessDayTimetable:
        from airflow._shared.timezones.timezone import parse_timezone

        return cls(data["expression"], timezone=parse_timezone(data["timezone"]), calendar_code=data["calendar"])
