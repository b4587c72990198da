"""Where things are and what they are called; every value can be overridden from the environment."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONN_ID = os.environ.get("FONDOS_CONN_ID", "fondos_db")
MIGRATIONS_DIR = Path(os.environ.get("FONDOS_MIGRATIONS_DIR", PROJECT_ROOT / "migrations"))
SQL_DIR = Path(os.environ.get("FONDOS_SQL_DIR", PROJECT_ROOT / "sql"))
