"""Migrations 012-017 applied to a database holding real legacy history (plan FASE 1.4, risk 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fondos.db.backup import BackupPlan
from fondos.db.connection import open_database
from fondos.db.legacy import PreflightError
from fondos.db.migrate import migrate, status
from fondos.db.tsql import split_batches
from fondos.settings import MIGRATIONS_DIR
from legacy_data import LEGACY_RUNS, data_fingerprints, insert_legacy_history, table_fingerprint

TEST_COPY = BackupPlan.none("test copy: the database is dropped after the test")


@pytest.fixture
def legacy_db(fresh_db):
    db = open_database()
    migrate(db, target=11)
    insert_legacy_history(db)
    yield db
    db.close()


def _counts(db):
    per_date = db.execute(
        "SELECT p.FechaReporte AS fecha, COUNT(DISTINCT e.ID_Ejecucion) AS ejecuciones, COUNT(f.ID_Fund) AS fondos "
        "FROM logs.Procesos AS p JOIN logs.Ejecuciones AS e ON e.ID_Proceso = p.ID_Proceso "
        "LEFT JOIN logs.Ejecucion_Fondos AS f ON f.ID_Ejecucion = e.ID_Ejecucion GROUP BY p.FechaReporte"
    )
    per_fund = db.execute(
        "SELECT f.ID_Fund AS fund, COUNT(*) AS n FROM logs.Procesos AS p "
        "JOIN logs.Ejecuciones AS e ON e.ID_Proceso = p.ID_Proceso "
        "JOIN logs.Ejecucion_Fondos AS f ON f.ID_Ejecucion = e.ID_Ejecucion GROUP BY f.ID_Fund"
    )
    db.commit()
    return ({r["fecha"]: (r["ejecuciones"], r["fondos"]) for r in per_date}, {r["fund"]: r["n"] for r in per_fund})


def _expected_counts():
    per_date, per_fund = {}, {}
    for _, fecha, _, funds in LEGACY_RUNS:
        e, f = per_date.get(fecha, (0, 0))
        per_date[fecha] = (e + 1, f + len(funds))
        for id_fund, _ in funds:
            per_fund[id_fund] = per_fund.get(id_fund, 0) + 1
    return per_date, per_fund


def _run_backfill_file_again(db):
    text = (MIGRATIONS_DIR / db.dialect / "015_BACKFILL_ID_PROCESO.sql").read_text()
    if db.dialect == "postgres":
        db.execute_script(text)
    else:
        for batch in split_batches(text):
            db.execute_script(batch.sql)
    db.commit()


def test_backfill_keeps_every_historical_execution_reachable_and_every_row_intact(legacy_db):
    db = legacy_db
    before = data_fingerprints(db)
    migrate(db, backup=TEST_COPY)

    # Every historical ejecución is reachable through a proceso with its own id, date and state.
    rows = db.execute(
        "SELECT e.ID_Ejecucion AS e, p.ID_Proceso AS p, p.FechaReporte AS fecha, p.Estado AS estado, "
        "p.TotalFondos AS total FROM logs.Ejecuciones AS e JOIN logs.Procesos AS p ON p.ID_Proceso = e.ID_Proceso"
    )
    assert {(r["e"], r["p"], r["fecha"], r["estado"], r["total"]) for r in rows} == {
        (i, i, fecha, estado, len(funds)) for i, fecha, estado, funds in LEGACY_RUNS
    }
    # Counts per date and per fund are identical, and no data row was lost or rewritten.
    assert _counts(db) == _expected_counts()
    assert data_fingerprints(db) == before
    # New ids start above every historical timestamp id.
    nxt = db.execute(
        "SELECT NEXTVAL('logs.seq_id') AS n" if db.dialect == "postgres" else "SELECT NEXT VALUE FOR logs.Seq_ID AS n"
    )[0]["n"]
    assert nxt > max(r[0] for r in LEGACY_RUNS)
    db.rollback()


def test_running_the_backfill_again_changes_nothing(legacy_db):
    db = legacy_db
    migrate(db, backup=TEST_COPY)
    logs = ("logs.Procesos", "logs.Ejecuciones")
    before = (data_fingerprints(db), _counts(db), {t: table_fingerprint(db, t) for t in logs})
    assert before[2]["logs.Procesos"][0] == len(LEGACY_RUNS)
    _run_backfill_file_again(db)
    after = (data_fingerprints(db), _counts(db), {t: table_fingerprint(db, t) for t in logs})
    assert after == before  # not a row added, removed or changed, logs included


def test_orphan_fund_rows_stop_the_migration_before_anything_is_applied(legacy_db):
    db = legacy_db
    orphan = 1769999999999  # fund rows whose legacy ejecución row is missing; higher than every other id
    db.execute(
        "INSERT INTO logs.Ejecucion_Fondos (ID_Ejecucion, ID_Fund, FundShortName, Portfolio_Geneva) "
        "VALUES (%s, %s, %s, %s)", (orphan, 101, "FONDO 101", "LAFID01"),
    )
    db.commit()
    before = data_fingerprints(db)

    with pytest.raises(PreflightError) as err:
        migrate(db, backup=TEST_COPY)
    message = str(err.value)
    assert f"{orphan} (1 fund row(s))" in message and "nothing was applied" in message

    assert status(db).current_version == 11  # the preflight runs before 012
    db.commit()
    assert data_fingerprints(db) == before

    # Once the operator restores the missing ejecución, the same command goes through, and new ids
    # start above the restored one (012 had not run, but the check is repeated after every migrate).
    db.execute(
        "INSERT INTO logs.Ejecuciones (ID_Ejecucion, FechaReporte, Estado, TotalFondos) VALUES (%s, %s, %s, %s)",
        (orphan, LEGACY_RUNS[0][1], "OK", 1),
    )
    db.commit()
    migrate(db, backup=TEST_COPY)
    assert status(db).pending == []
    nxt = db.execute(
        "SELECT NEXTVAL('logs.seq_id') AS n" if db.dialect == "postgres" else "SELECT NEXT VALUE FOR logs.Seq_ID AS n"
    )[0]["n"]
    db.rollback()
    assert nxt > orphan


def test_legacy_schema_and_target_schema_files_are_numbered_as_the_plan_says():
    names = sorted(p.name for p in Path(MIGRATIONS_DIR / "postgres").glob("*.sql"))
    assert names[11:15] == [
        "012_CREATE_PROCESOS_TABLE.sql",
        "013_ALTER_EJECUCIONES_ADD_ID_PROCESO.sql",
        "014_CREATE_SP_INICIALIZAR_PROCESO.sql",
        "015_BACKFILL_ID_PROCESO.sql",
    ]
