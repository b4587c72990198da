"""The DAG's schedule: a cron time, on business days of the holiday calendar only.

`BusinessDayTimetable` is Airflow's `CronTriggerTimetable` (a run at the cron
time, a zero-length data interval) whose every candidate time is moved on to
the first cron time falling on a business day of
`fondos.pipeline.fechas.Calendar`, in the timetable's own time zone. A
non-business day is skipped whole (the search jumps to the next day, so a
cron firing every five minutes skips a weekend in two steps, not 576). So
the scheduler never creates a run on a weekend or a holiday, and the run of
the Monday after a holiday Friday processes Thursday (`crear_proceso` takes
the previous business day of the same calendar, which this timetable carries).

Airflow only deserializes custom timetables that a plugin registers: the
`fondos` plugin (`plugins/fondos/plugin.py`) lists this class.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.timetables.trigger import CronTriggerTimetable
from pendulum import DateTime

from fondos.pipeline.fechas import calendar
from fondos.settings import CALENDAR

_MAX_DAYS = 400  # a cron time that never falls on a business day is refused, not searched for ever


class BusinessDayTimetable(CronTriggerTimetable):
    """Runs at `cron` (in `timezone`) on business days of `calendar_code` (see fondos.pipeline.fechas)."""

    def __init__(self, cron: str, *, timezone: Any, calendar_code: str = CALENDAR, **kwargs: Any) -> None:
        super().__init__(cron, timezone=timezone, **kwargs)
        self.calendar_code = calendar_code
        self._calendar = calendar(calendar_code)
        self.description = f"{self.description or cron}, only on business days ({self._calendar.describe()})"

    # -- the plain cron moves (CronMixin's align methods call the overridable ones, so they are rebuilt) ----
    def _cron_next(self, when: DateTime) -> DateTime:
        return CronTriggerTimetable._get_next(self, when)

    def _cron_prev(self, when: DateTime) -> DateTime:
        return CronTriggerTimetable._get_prev(self, when)

    def _cron_align_next(self, when: DateTime) -> DateTime:
        following = self._cron_next(when)
        return when if self._cron_prev(following) == when else following

    def _cron_align_prev(self, when: DateTime) -> DateTime:
        previous = self._cron_prev(when)
        return when if self._cron_next(previous) == when else previous

    def _local_day(self, when: DateTime):
        return when.in_timezone(self._timezone).date()

    def _business(self, when: DateTime) -> bool:
        return self._calendar.is_business_day(self._local_day(when))

    def _refuse(self) -> ValueError:
        return ValueError(f"cron {self._expression!r} finds no business day of {self.calendar_code} within "
                          f"{_MAX_DAYS} days")

    def _forward(self, when: DateTime) -> DateTime:
        """`when` if it is on a business day, else the first cron time of the next business day."""
        first = self._local_day(when)
        while not self._business(when):
            start_of_next_day = when.in_timezone(self._timezone).start_of("day").add(days=1)
            when = self._cron_align_next(start_of_next_day.in_timezone("UTC"))
            if self._local_day(when) - first > timedelta(days=_MAX_DAYS):
                raise self._refuse()
        return when

    def _backward(self, when: DateTime) -> DateTime:
        """`when` if it is on a business day, else the last cron time of the business day before."""
        first = self._local_day(when)
        while not self._business(when):
            start_of_day = when.in_timezone(self._timezone).start_of("day")
            when = self._cron_prev(start_of_day.in_timezone("UTC"))
            if first - self._local_day(when) > timedelta(days=_MAX_DAYS):
                raise self._refuse()
        return when

    # -- the four moves of the cron base class, each skipping non-business days --------------------------
    def _get_next(self, current: DateTime) -> DateTime:
        return self._forward(self._cron_next(current))

    def _get_prev(self, current: DateTime) -> DateTime:
        return self._backward(self._cron_prev(current))

    def _align_to_next(self, current: DateTime) -> DateTime:
        return self._forward(self._cron_align_next(current))

    def _align_to_prev(self, current: DateTime) -> DateTime:
        return self._backward(self._cron_align_prev(current))

    def validate(self) -> None:
        """Refused when the DAG is parsed, not while scheduling: a cron time with no business day."""
        super().validate()
        import pendulum

        self._forward(self._cron_align_next(pendulum.datetime(2026, 1, 1, tz=self._timezone).in_timezone("UTC")))

    # -- what Airflow stores and shows ---------------------------------------------------------------------
    @property
    def summary(self) -> str:
        return f"{self._expression} ({self.calendar_code} business days)"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, BusinessDayTimetable) and super().__eq__(other)
                and self.calendar_code == other.calendar_code)

    def __hash__(self) -> int:
        return hash((super().__hash__(), self.calendar_code))

    def serialize(self) -> dict[str, Any]:
        return {**super().serialize(), "calendar": self.calendar_code}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> BusinessDayTimetable:
        base = CronTriggerTimetable.deserialize(data)  # the cron, time zone, interval and run_immediately
        return cls(data["expression"], timezone=base._timezone, calendar_code=data["calendar"],
                   interval=base._interval, run_immediately=base._run_immediately)
