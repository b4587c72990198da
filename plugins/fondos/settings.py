"""Where things are and what they are called; every value can be overridden from the environment."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The checkout this package runs from, when it runs from one (plugins/fondos/ -> the repository).
PROJECT_ROOT = PACKAGE_DIR.parents[1]
CONN_ID = os.environ.get("FONDOS_CONN_ID", "fondos_db")


def bundled(name: str) -> Path:
    """`sql` or `migrations`: inside the installed package (the wheel carries them as fondos/sql and
    fondos/migrations), else the checkout's top-level folder (an editable install, a clone). Neither: an
    installation without its SQL, refused rather than read as "nothing to migrate"."""
    inside = PACKAGE_DIR / name
    if inside.is_dir():
        return inside
    if (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / name).is_dir():
        return PROJECT_ROOT / name
    raise RuntimeError(f"the fondos package has no {name}/ folder ({inside} is missing, and {PROJECT_ROOT} is not a "
                       f"checkout): reinstall the wheel, or set FONDOS_{name.upper()}_DIR to the folder")


# FONDOS_MIGRATIONS_DIR / FONDOS_SQL_DIR override where the SQL is read from (a DBA's reviewed copy, say).
MIGRATIONS_DIR = Path(os.environ.get("FONDOS_MIGRATIONS_DIR") or bundled("migrations"))
SQL_DIR = Path(os.environ.get("FONDOS_SQL_DIR") or bundled("sql"))

# The DAG: 06:00 Santiago time Monday to Friday by default, and the timetable (fondos.airflow.timetable)
# also skips CALENDAR's holidays; a scheduled run processes the previous business day.
# FONDOS_SCHEDULE=none: manual runs only.
DAG_ID = "procesos_diarios"
SCHEDULE = os.environ.get("FONDOS_SCHEDULE", "0 6 * * 1-5")
TIMEZONE = os.environ.get("FONDOS_TIMEZONE", "America/Santiago")
# The rollback-trigger watcher (dags/vigilancia_rollback.py) while a day runs: every 10 minutes, 05:00-11:59
# Monday-Friday in FONDOS_TIMEZONE; `none` to never schedule it. Created paused: unpause it for the transition.
VIGILANCIA_SCHEDULE = os.environ.get("FONDOS_VIGILANCIA_SCHEDULE", "*/10 5-11 * * 1-5")
VIGILANCIA_DAG_ID = "vigilancia_rollback"
# Airflow maps at most [core] max_map_length items (1,024 by default): the project's Airflow sets this, and
# crear_proceso refuses a day with more active funds than the setting Airflow actually runs with.
MAX_MAP_LENGTH = int(os.environ.get("FONDOS_MAX_MAP_LENGTH", "5000"))
# Business days: the `holidays` library's calendar for this country (ISO code, `CL-RM` for a region too),
# or `none` for weekends only. Used by "previous business day" and by the DAG's timetable.
CALENDAR = os.environ.get("FONDOS_CALENDAR", "CL")
# The pool that bounds how many stage tasks hit the fund database at once.
POOL = os.environ.get("FONDOS_POOL", "fondos_db")
POOL_SLOTS = int(os.environ.get("FONDOS_POOL_SLOTS", "16"))
# Seconds Airflow waits before retrying a stage (then doubling, exponential backoff).
RETRY_DELAY_S = int(os.environ.get("FONDOS_RETRY_DELAY_S", "30"))
# A stage task's execution timeout (Airflow's execution_timeout), in seconds.
STAGE_TIMEOUT_S = int(os.environ.get("FONDOS_STAGE_TIMEOUT_S", str(30 * 60)))
# The four-eyes sign-off (issue 21): the Airflow users who may approve or reject a day, comma-separated. Empty:
# the DAG has no sign-off task and nothing is ever published (logs.vw_Cifras_Aprobadas stays empty).
APROBADORES = [u.strip() for u in os.environ.get("FONDOS_APROBADORES", "").split(",") if u.strip()]
# How long the sign-off waits for an answer (hours); then it fails and nothing is published.
FIRMA_ESPERA_H = float(os.environ.get("FONDOS_FIRMA_ESPERA_H", "24"))
# The deadline, FONDOS_PLAZO (HH:MM in FONDOS_TIMEZONE on the report date's next business day, default 07:30;
# "none": no deadline alert), is read where it is evaluated: fondos.airflow.plazo.


def usuario_local(limit: int = 100) -> str:
    """Who runs this command (recorded with a backup or a fund's move): the login name, or the uid in a
    container whose user has no passwd entry."""
    try:
        return getpass.getuser()[:limit]
    except Exception:  # getpass raises when no name can be found
        return str(os.getuid())
