"""make test-mssql: the SQL Server part of the suite against the compose stack (make up).

1. The database tests (conformance, migrations, backfill, legacy history, run integrity) once through
   pymssql (conn type mssql) and once through pyodbc with Microsoft ODBC Driver 18 (conn type odbc),
   as sa on master (the tests create and drop their own databases).
2. fondos db bootstrap-mssql of a FondosBench database: RCSI, migrations as the owner, and the pipeline
   login fondos_airflow in the role fondos_pipeline (or its password set again).
3. The plan's lock metrics (bench/mssql_counters.py) with the 50-fund run made by that pipeline login,
   not by sa; only the server counters are read as sa (they need VIEW SERVER STATE).

Passwords come from .env read literally (python-dotenv without interpolation: a `$` or `#` in a password
stays what it is) and reach the drivers inside JSON connections, never in a URI, so `@ # % / ?` are safe.
The container's certificate is self-signed: the odbc connections trust it (TrustServerCertificate=yes),
which is for this local stack only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
HOST, PORT = os.environ.get("FONDOS_MSSQL_HOST", "localhost"), int(os.environ.get("FONDOS_MSSQL_PORT", "1433"))
TESTS = ["tests/test_conformance.py", "tests/test_migrate.py", "tests/test_backfill.py", "tests/test_legacy.py",
         "tests/test_run_integrity.py", "tests/test_oracle.py", "tests/test_numeric_contract.py",
         "tests/test_promises.py"]


def connection(conn_type: str, database: str, login: str, password: str) -> str:
    conn = {"conn_type": conn_type, "host": HOST, "port": PORT, "schema": database, "login": login,
            "password": password}
    if conn_type == "odbc":
        conn["extra"] = {"TrustServerCertificate": "yes"}
    return json.dumps(conn)


def run(args: list[str], env: dict[str, str]) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, cwd=ROOT, env={**os.environ, **env}, check=True)


def main() -> int:
    values = dotenv_values(ROOT / ".env", interpolate=False)
    sa, pipeline = values.get("MSSQL_SA_PASSWORD"), values.get("FONDOS_PIPELINE_PASSWORD")
    if not sa or not pipeline:
        raise SystemExit("set MSSQL_SA_PASSWORD and FONDOS_PIPELINE_PASSWORD in .env (see .env.example), then make up")
    try:
        for driver in ("mssql", "odbc"):
            run([PY, "-m", "pytest", *TESTS, "-k", "mssql"],
                {"FONDOS_TEST_MSSQL_URL": connection(driver, "master", "sa", sa)})
        run([PY, "-m", "fondos", "db", "bootstrap-mssql", "--database", "FondosBench", "--login", "fondos_airflow"],
            {"AIRFLOW_CONN_FONDOS_ADMIN": connection("mssql", "master", "sa", sa),
             "AIRFLOW_CONN_FONDOS_OWNER": connection("mssql", "FondosBench", "sa", sa),
             "FONDOS_PIPELINE_PASSWORD": pipeline})
        run([PY, "bench/mssql_counters.py"],
            {"FONDOS_TEST_MSSQL_URL": connection("odbc", "FondosBench", "sa", sa),
             "FONDOS_TEST_MSSQL_PIPELINE_URL": connection("odbc", "FondosBench", "fondos_airflow", pipeline)})
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
