"""Business days from a real holiday calendar (the `holidays` library, Chile by default) and the DAG's
timetable, which never fires on a weekend or a Chilean holiday (issue 13, part 4)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

from fondos.airflow.timetable import BusinessDayTimetable
from fondos.errors import InvalidInput
from fondos.pipeline.fechas import Calendar, is_business_day, previous_business_day

SANTIAGO = pendulum.timezone("America/Santiago")


@pytest.mark.parametrize("day, expected, why", [
    (date(2026, 5, 4), date(2026, 4, 30), "Monday after Labour Day, Friday 1 May"),
    (date(2026, 4, 6), date(2026, 4, 2), "Monday after Good Friday"),
    (date(2026, 9, 21), date(2026, 9, 17), "Monday after the national holidays, Friday 18 and Saturday 19 September"),
    (date(2026, 6, 30), date(2026, 6, 26), "Tuesday after Saint Peter and Saint Paul, Monday 29 June"),
    (date(2026, 3, 16), date(2026, 3, 13), "an ordinary Monday"),
    (date(2026, 3, 15), date(2026, 3, 13), "a Sunday"),
    (date(2026, 3, 13), date(2026, 3, 12), "an ordinary Friday"),
    (date(2026, 1, 2), date(2025, 12, 31), "the day after New Year's Day"),
])
def test_previous_business_day_follows_the_chilean_calendar(day, expected, why):
    assert previous_business_day(day) == expected, why


def test_the_holidays_are_not_business_days_and_have_names():
    cl = Calendar("CL")
    assert cl.holiday(date(2026, 5, 1)) and not cl.is_business_day(date(2026, 5, 1))
    assert cl.holiday(date(2026, 9, 18)) and cl.holiday(date(2026, 9, 19))
    assert cl.holiday(date(2026, 4, 30)) is None and is_business_day(date(2026, 4, 30))


def test_the_calendar_is_configurable():
    weekends_only = Calendar("none")
    assert weekends_only.previous_business_day(date(2026, 5, 4)) == date(2026, 5, 1)
    assert previous_business_day(date(2026, 5, 4), "none") == date(2026, 5, 1)
    us = Calendar("US")  # 4 July 2025 was a Friday in the US, an ordinary day in Chile
    assert us.previous_business_day(date(2025, 7, 7)) == date(2025, 7, 3)
    assert Calendar("CL").previous_business_day(date(2025, 7, 7)) == date(2025, 7, 4)
    assert Calendar("CL-RM").is_business_day(date(2026, 4, 30))


def test_an_unknown_country_is_refused_with_what_to_do():
    with pytest.raises(InvalidInput, match="no country 'XX'.*CL-RM.*none"):
        Calendar("XX")


def _runs(timetable, start, end):
    """Every run the scheduler would create between start and end, as Airflow asks for them (catchup)."""
    restriction = TimeRestriction(earliest=start, latest=end, catchup=True)
    runs, last = [], None
    while (info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)):
        runs.append(info.run_after)
        last = info.data_interval
        assert len(runs) < 400
    return runs


# Chile's public holidays of 2026 that fall on a weekday (Ley 2.977 and later laws; Diario Oficial),
# written out here so the timetable is checked against the calendar, not against its own library.
CL_2026_WEEKDAY_HOLIDAYS = {date(2026, 1, 1), date(2026, 4, 3), date(2026, 5, 1), date(2026, 5, 21),
                            date(2026, 6, 29), date(2026, 7, 16), date(2026, 9, 18), date(2026, 10, 12),
                            date(2026, 12, 8), date(2026, 12, 25)}


def test_no_scheduled_run_falls_on_a_chilean_holiday_or_a_weekend_in_2026():
    timetable = BusinessDayTimetable("0 6 * * 1-5", timezone=SANTIAGO, calendar_code="CL")
    runs = _runs(timetable, pendulum.datetime(2026, 1, 1, tz=SANTIAGO), pendulum.datetime(2026, 12, 31, 23, tz=SANTIAGO))
    days = [r.in_timezone(SANTIAGO).date() for r in runs]
    weekdays = [d for d in (date(2026, 1, 1) + timedelta(n) for n in range(365)) if d.weekday() < 5]
    assert len(weekdays) == 261 and len(days) == 251
    assert days == [d for d in weekdays if d not in CL_2026_WEEKDAY_HOLIDAYS]  # each business day once, in order
    assert all(r.in_timezone(SANTIAGO).hour == 6 for r in runs)


def test_a_sub_daily_cron_skips_a_long_weekend_by_days_not_by_firings():
    timetable = BusinessDayTimetable("*/5 * * * *", timezone=SANTIAGO, calendar_code="CL")
    thursday_last = pendulum.datetime(2026, 4, 30, 23, 55, tz=SANTIAGO)  # Friday 1 May is Labour Day
    info = timetable.next_dagrun_info(last_automated_data_interval=DataInterval(thursday_last, thursday_last),
                                      restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    assert info.run_after.in_timezone(SANTIAGO) == pendulum.datetime(2026, 5, 4, 0, 0, tz=SANTIAGO)
    monday_first = pendulum.datetime(2026, 5, 4, 0, 0, tz=SANTIAGO)
    assert timetable._get_prev(monday_first).in_timezone(SANTIAGO) == thursday_last


def test_bank_holidays_are_a_configurable_category():
    assert Calendar("CL").is_business_day(date(2026, 12, 31))
    assert not Calendar("CL+bank").is_business_day(date(2026, 12, 31))
    assert Calendar("CL+bank").previous_business_day(date(2027, 1, 4)) == date(2026, 12, 30)
    with pytest.raises(InvalidInput, match="CL\\+bank adds"):
        Calendar("CL+nonsense")


def test_the_scheduled_run_takes_the_previous_business_day_of_the_timetables_calendar():
    from types import SimpleNamespace

    from fondos.airflow.dag_tasks import resolve_fecha

    monday = SimpleNamespace(run_after=pendulum.datetime(2026, 5, 4, 6, tz=SANTIAGO))
    for code, expected in (("CL", date(2026, 4, 30)), ("none", date(2026, 5, 1))):
        dag = SimpleNamespace(timetable=BusinessDayTimetable("0 6 * * 1-5", timezone=SANTIAGO, calendar_code=code))
        assert resolve_fecha({"params": {"fecha": None}, "dag_run": monday, "dag": dag}) == expected


def test_the_calendar_comes_from_the_environment():
    import os
    import subprocess
    import sys

    code = ("from datetime import date; from fondos.pipeline.fechas import previous_business_day; "
            "print(previous_business_day(date(2026, 5, 4)))")
    for env_value, expected in (("none", "2026-05-01"), ("CL", "2026-04-30")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "FONDOS_CALENDAR": env_value}).stdout.strip()
        assert out == expected, env_value


def test_after_a_holiday_friday_the_next_run_is_monday_and_processes_thursday():
    timetable = BusinessDayTimetable("0 6 * * 1-5", timezone=SANTIAGO, calendar_code="CL")
    thursday = pendulum.datetime(2026, 4, 30, 6, tz=SANTIAGO)
    info = timetable.next_dagrun_info(last_automated_data_interval=DataInterval(thursday, thursday),
                                      restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    run_day = info.run_after.in_timezone(SANTIAGO)
    assert run_day.date() == date(2026, 5, 4) and run_day.hour == 6
    assert previous_business_day(run_day.date()) == date(2026, 4, 30)


def test_the_timetable_survives_airflow_serialization_and_describes_itself():
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    timetable = BusinessDayTimetable("0 6 * * 1-5", timezone=SANTIAGO, calendar_code="CL")
    encoded = encode_timetable(timetable)  # refuses a custom timetable no plugin registers
    assert encoded["__type"] == "fondos.airflow.timetable.BusinessDayTimetable"
    back = decode_timetable(encoded)
    assert isinstance(back, BusinessDayTimetable) and back.calendar_code == "CL" and back == timetable
    eager = BusinessDayTimetable("0 6 * * 1-5", timezone=SANTIAGO, calendar_code="CL+bank", run_immediately=True)
    again = decode_timetable(encode_timetable(eager))
    assert again._run_immediately is True and again.calendar_code == "CL+bank" and again != back
    assert back.summary == "0 6 * * 1-5 (CL business days)"
    assert "business days" in back.description and "CL public holidays" in back.description
    assert "Monday through Friday" in back.description


def test_a_cron_time_with_no_business_day_is_refused():
    timetable = BusinessDayTimetable("0 6 * * 6,0", timezone=SANTIAGO, calendar_code="CL")
    with pytest.raises(ValueError, match="no business day"):  # when the DAG is parsed ...
        timetable.validate()
    with pytest.raises(ValueError, match="no business day"):  # ... and if it were ever asked to schedule
        timetable.next_dagrun_info(last_automated_data_interval=None,
                                   restriction=TimeRestriction(earliest=datetime(2026, 1, 1, tzinfo=SANTIAGO),
                                                               latest=None, catchup=True))
