"""The `fondos` Airflow plugin: what Airflow itself must know of this package.

- `timetables`: the DAG's business-day timetable (Airflow refuses to load a custom
  timetable that no plugin registers).
- `fastapi_apps`: the proceso API and the board, mounted by the API server under /fondos.
- `external_views`: the board's entry in the UI's navigation.

Everything lives in the `fondos` package; this file only lists it (plugins/.airflowignore keeps the plugin
manager out of plugins/fondos/ itself).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from fondos.airflow.timetable import BusinessDayTimetable


class FondosPlugin(AirflowPlugin):
    name = "fondos"
    timetables = [BusinessDayTimetable]
