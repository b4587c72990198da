"""The `fondos` Airflow plugin: what Airflow itself must know of this package.

- `timetables`: the DAG's business-day timetable (Airflow refuses to load a custom
  timetable that no plugin registers).
- `fastapi_apps`: the proceso API and the board, mounted by the API server under /fondos.
- `external_views`: the board's entry in the UI's navigation.
- `deadline_references`: the day's deadline (the scheduler evaluates it when it creates a run).

Airflow finds it through the `airflow.plugins` entry point of the installed `fondos` distribution
(pyproject.toml), in every Airflow process, with no plugins folder; this module only lists what lives
elsewhere in the package.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from fondos.airflow.plazo import PlazoFirma
from fondos.airflow.timetable import BusinessDayTimetable
from fondos.web.asgi import app as fondos_app  # built on the first request: every Airflow process imports this


class FondosPlugin(AirflowPlugin):
    name = "fondos"
    timetables = [BusinessDayTimetable]
    deadline_references = [PlazoFirma]
    fastapi_apps = [{"app": fondos_app, "url_prefix": "/fondos", "name": "Fondos: procesos API and board"}]
    # The board in the UI's navigation, embedded (url_route: the UI shows it at /plugin/fondos).
    external_views = [{"name": "Fondos board", "href": "/fondos/board/", "destination": "nav",
                       "url_route": "fondos", "category": "browse"}]
