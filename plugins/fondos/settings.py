"""Where things are and what they are called; every value can be overridden from the environment."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONN_ID = os.environ.get("FONDOS_CONN_ID", "fondos_db")
MIGRATIONS_DIR = Path(os.environ.get("FONDOS_MIGRATIONS_DIR", PROJECT_ROOT / "migrations"))
SQL_DIR = Path(os.environ.get("FONDOS_SQL_DIR", PROJECT_ROOT / "sql"))

# The DAG: business days at 06:00 Santiago time by default; a scheduled run
# processes the previous business day. FONDOS_SCHEDULE=none: manual runs only.
SCHEDULE = os.environ.get("FONDOS_SCHEDULE", "0 6 * * 1-5")
TIMEZONE = os.environ.get("FONDOS_TIMEZONE", "America/Santiago")
# The pool that bounds how many stage tasks hit the fund database at once.
POOL = os.environ.get("FONDOS_POOL", "fondos_db")
POOL_SLOTS = int(os.environ.get("FONDOS_POOL_SLOTS", "16"))
# Seconds Airflow waits before retrying a stage (then doubling, exponential backoff).
RETRY_DELAY_S = int(os.environ.get("FONDOS_RETRY_DELAY_S", "30"))
# A stage task's execution timeout (Airflow's execution_timeout), in seconds.
STAGE_TIMEOUT_S = int(os.environ.get("FONDOS_STAGE_TIMEOUT_S", str(30 * 60)))
