"""Both dialects define the same files, tables, columns, routines, parameters and views.

SQL Server cannot run here, so its side is parsed from the T-SQL files; the
PostgreSQL side is read from a database migrated by the real runner.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fondos.db.connection import open_database
from fondos.db.migrate import migrate
from schema_parity import pg_routines, pg_tables, pg_views, tsql_procedures, tsql_tables, tsql_views

ROOT = Path(__file__).resolve().parents[1]


def _sql_files(top: str, dialect: str) -> list[Path]:
    return sorted((ROOT / top / dialect).rglob("*.sql"))


@pytest.mark.parametrize("top", ["migrations", "sql"])
def test_same_file_names_in_both_dialects(top):
    names = {d: [p.relative_to(ROOT / top / d).as_posix() for p in _sql_files(top, d)] for d in ("mssql", "postgres")}
    assert names["mssql"] == names["postgres"]
    if top == "migrations":
        assert len(names["mssql"]) >= 15


@pytest.fixture(scope="module")
def migrated_pg(pg_backend):
    import os

    dbname, env_value = pg_backend.create()
    old = os.environ.get("AIRFLOW_CONN_FONDOS_DB")
    os.environ["AIRFLOW_CONN_FONDOS_DB"] = env_value
    db = open_database()
    migrate(db)
    yield db
    db.close()
    if old is None:
        os.environ.pop("AIRFLOW_CONN_FONDOS_DB")
    else:
        os.environ["AIRFLOW_CONN_FONDOS_DB"] = old
    pg_backend.drop(dbname)


def test_same_tables_and_columns(migrated_pg):
    tsql = tsql_tables(_sql_files("migrations", "mssql"))
    pg = pg_tables(migrated_pg)
    assert sorted(tsql) == sorted(pg)
    for table in tsql:
        assert tsql[table] == pg[table], table
    # the contract's shape: six extract tables, 13 or more staging tables, the three logs tables
    assert {t for t in pg if t.startswith("extract.")} == {
        "extract.ipa", "extract.capm", "extract.posmodrf", "extract.sona", "extract.derivados", "extract.ubs"}
    assert len([t for t in pg if t.startswith("staging.")]) >= 13
    assert {"logs.procesos", "logs.ejecuciones", "logs.ejecucion_fondos"} <= set(pg)
    assert {"id_proceso", "id_fund"} <= pg["logs.ejecuciones"]


def test_same_routines_with_the_same_parameters_in_order(migrated_pg):
    tsql = tsql_procedures(_sql_files("sql", "mssql") + _sql_files("migrations", "mssql"))
    pg = pg_routines(migrated_pg)
    assert sorted(tsql) == sorted(pg)
    for name in tsql:
        assert tsql[name] == pg[name], name


def test_same_views(migrated_pg):
    assert tsql_views(_sql_files("sql", "mssql")) == pg_views(migrated_pg)


def test_the_tsql_reader_sees_what_it_should(tmp_path):
    """The parser is what makes the parity test meaningful: check it on a known script."""
    f = tmp_path / "x.sql"
    f.write_text(
        "-- CREATE TABLE x.Comment (a INT)\n"
        "CREATE TABLE s.T (\n  A INT NOT NULL, B DECIMAL(19, 4) NULL,\n"
        "  CONSTRAINT PK_T PRIMARY KEY (A, B)\n);\nGO\n"
        "ALTER TABLE s.T ADD C VARCHAR(10) NULL;\nALTER TABLE s.T ADD CONSTRAINT CK CHECK (A > 0);\n"
        "CREATE OR ALTER PROCEDURE s.P\n  @Uno BIGINT,\n  @Dos VARCHAR(10) = NULL\nAS\nBEGIN\n"
        "  DECLARE @Local INT;\nEND;\nGO\nCREATE OR ALTER VIEW s.V AS SELECT 1 AS X;\n"
    )
    assert tsql_tables([f]) == {"s.t": {"a", "b", "c"}}
    assert tsql_procedures([f]) == {"s.p": ["uno", "dos"]}
    assert tsql_views([f]) == {"s.v"}
