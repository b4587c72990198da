"""A local Airflow for this project: its home, its settings, its pool.

Used by `fondos run` (make run), `fondos airflow` (make airflow) and the tests.
Airflow's own metadata database is SQLite in the home folder; the fund
database is the `fondos_db` connection, handed to Airflow through
AIRFLOW_CONN_FONDOS_DB (the embedded PostgreSQL unless the user set one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fondos.settings import CONN_ID, POOL, POOL_SLOTS, PROJECT_ROOT

AIRFLOW_BIN = Path(sys.executable).parent / "airflow"


def airflow_env(home: Path, fund_db: dict | str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT / "plugins"), env.get("PYTHONPATH")])),
    })
    if fund_db is not None:
        env[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = fund_db if isinstance(fund_db, str) else json.dumps(fund_db)
    env.update(extra or {})
    return env


def airflow(env: dict[str, str], *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(AIRFLOW_BIN), *args], env=env, check=check, **kwargs)


def prepare(env: dict[str, str]) -> None:
    """Airflow's metadata database migrated and the fund-database pool created (both idempotent)."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow(env, "db", "migrate", stdout=subprocess.DEVNULL)
    airflow(env, "pools", "set", POOL, str(POOL_SLOTS), "Stage tasks hitting the fund database at once",
            stdout=subprocess.DEVNULL)
