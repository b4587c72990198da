"""Legacy history (issue 8): a messy legacy database migrates whole, stays readable, and no operator
command can damage it. Runs on every reachable backend; the sabotage of 015's checks is PostgreSQL-only
(it needs triggers fired inside the migration)."""

from __future__ import annotations

from datetime import date, datetime

import legacy_messy as messy
import pytest

from fondos import cli
from fondos.db.backup import BackupPlan
from fondos.db.calls import call
from fondos.db.connection import database, open_database
from fondos.db.legacy import PreflightError, canonical_estado
from fondos.db.migrate import MigrationError, migrate, status
from fondos.errors import DataError
from fondos.pipeline import proceso
from fondos_dev.demo import NotDemoData
from fondos_dev.demo import seed as demo_seed
from legacy_data import data_fingerprints, table_fingerprint
from pipeline_helpers import FECHA, run_all, start

LOG_TABLES = ["logs.Procesos", "logs.Ejecuciones", "logs.Ejecucion_Fondos"]

TEST_COPY = BackupPlan.none("test copy: the database is dropped after the test")


@pytest.fixture
def legacy_db(fresh_db):
    db = open_database()
    migrate(db, target=11)
    yield db
    db.close()


class _FakeMssql:
    """Answers the preflight's queries as a clean legacy SQL Server would, except for sys.sql_modules."""

    dialect = "mssql"

    def __init__(self, modules: list[dict]):
        self.modules = modules
        self.seen: list[tuple[str, tuple]] = []

    def execute(self, sql, params=()):
        self.seen.append((sql, tuple(params)))
        if "sys.sql_modules" in sql:
            return self.modules
        if "sys.tables" in sql:
            return [{"x": 1}]
        if sql.startswith("SELECT COUNT(*) AS n"):
            return [{"n": 0}]
        return []

    def commit(self):
        pass


def test_preflight_refuses_modules_with_settings_off_that_write_the_filtered_tables_and_encrypted_ones():
    """SQL Server cannot run here: the check's rows are faked, its query is read. A legacy v2 procedure
    created with QUOTED_IDENTIFIER OFF that writes logs.Ejecuciones fails with error 1934 from 013 on;
    an encrypted one cannot be read, so it is unknown, never passed as fine."""
    from fondos.db import legacy

    db = _FakeMssql([
        {"modulo": "dbo.sp_Inicializar_Ejecucion", "tipo": "SQL_STORED_PROCEDURE", "ansi_nulls": True,
         "quoted_identifier": False, "cifrado": 0},
        {"modulo": "logs.tr_Ejecuciones_Audit", "tipo": "SQL_TRIGGER", "ansi_nulls": False,
         "quoted_identifier": False, "cifrado": 0},
        {"modulo": "dbo.sp_Cerrar_Ejecucion", "tipo": "SQL_STORED_PROCEDURE", "ansi_nulls": False,
         "quoted_identifier": True, "cifrado": 1},
    ])
    with pytest.raises(PreflightError) as err:
        legacy.preflight(db)
    message = str(err.value)
    assert "2 problem(s); nothing was applied" in message
    assert "dbo.sp_Inicializar_Ejecucion (SQL_STORED_PROCEDURE, QUOTED_IDENTIFIER OFF)" in message
    assert "logs.tr_Ejecuciones_Audit (SQL_TRIGGER, ANSI_NULLS and QUOTED_IDENTIFIER OFF)" in message
    assert "error 1934" in message and "SET QUOTED_IDENTIFIER ON" in message
    unknown = message[message.index("encrypted SQL Server module(s)"):]
    assert "dbo.sp_Cerrar_Ejecucion (SQL_STORED_PROCEDURE, ANSI_NULLS OFF)" in unknown
    assert "unknown, not fine" in unknown
    [(sql, params)] = [s for s in db.seen if "sys.sql_modules" in s[0]]
    assert params == legacy.WRITE_PATTERNS and sql.replace("%s", "").count("%") == 0  # LIKE patterns bound
    assert not _FakeMssql([]).modules and legacy.preflight(_FakeMssql([])) == []


def test_preflight_module_query_covers_logs_tables_triggers_and_encrypted_modules():
    import sqlglot

    from fondos.db import legacy

    sql = legacy.MODULES_SETTINGS_OFF_SQL
    for table in ("logs.Procesos", "logs.Ejecuciones", *legacy.DATA_TABLES):
        schema, name = table.split(".")
        assert f"(N'{schema}', N'{name}')" in sql
    assert "o.parent_object_id = OBJECT_ID(" in sql  # triggers on those tables
    assert "m.definition IS NULL" in sql and "AS cifrado" in sql  # encrypted: reported, not skipped
    assert "m.uses_ansi_nulls = 0 OR m.uses_quoted_identifier = 0" in sql
    sqlglot.parse_one(sql.replace("%s", "N'x'"), read="tsql")
    assert legacy.FIRST_NEW_VERSION == 12  # the check runs before 012, with the rest of the preflight


def _next_id(db) -> int:
    sql = ("SELECT NEXTVAL('logs.seq_id') AS n" if db.dialect == "postgres"
           else "SELECT NEXT VALUE FOR logs.Seq_ID AS n")
    n = db.execute(sql)[0]["n"]
    db.rollback()
    return int(n)


def _counts(db):
    per_date = db.execute(
        "SELECT p.FechaReporte AS fecha, COUNT(DISTINCT e.ID_Ejecucion) AS ejecuciones, COUNT(f.ID_Fund) AS fondos "
        "FROM logs.Procesos AS p JOIN logs.Ejecuciones AS e ON e.ID_Proceso = p.ID_Proceso "
        "LEFT JOIN logs.Ejecucion_Fondos AS f ON f.ID_Ejecucion = e.ID_Ejecucion GROUP BY p.FechaReporte")
    per_fund = db.execute(
        "SELECT f.ID_Fund AS fund, COUNT(*) AS n FROM logs.Procesos AS p "
        "JOIN logs.Ejecuciones AS e ON e.ID_Proceso = p.ID_Proceso "
        "JOIN logs.Ejecucion_Fondos AS f ON f.ID_Ejecucion = e.ID_Ejecucion GROUP BY f.ID_Fund")
    db.commit()
    return ({r["fecha"]: (r["ejecuciones"], r["fondos"]) for r in per_date}, {r["fund"]: r["n"] for r in per_fund})


def _everything(db) -> dict:
    fp = data_fingerprints(db)
    fp.update({t: table_fingerprint(db, t) for t in LOG_TABLES})
    return fp


def _cli(capsys, *argv) -> tuple[int, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


# --- the preflight -----------------------------------------------------------------------------

def test_estado_spellings_map_to_the_three_states_and_nothing_else_is_guessed():
    assert [canonical_estado(v) for v in ("ok", " ERROR ", "En_Progreso", "OK")] == ["OK", "ERROR", "EN_PROGRESO", "OK"]
    assert [canonical_estado(v) for v in ("COMPLETADO", "CANCELADO", "", "O K", "EN PROGRESO")] == [None] * 5


def test_unmigratable_history_is_refused_before_anything_is_applied(legacy_db):
    db = legacy_db
    history = messy.build(db, unknown_estado=True, orphan=True)
    before = _everything_legacy(db)

    with pytest.raises(PreflightError) as err:
        migrate(db, backup=TEST_COPY)
    message = str(err.value)
    # every problem, with its value or id and its count, why, and what to do
    assert "2 problem(s); nothing was applied" in message
    assert f"{messy.ORPHAN} (1 fund row(s))" in message and "restore the missing logs.Ejecuciones rows" in message
    assert f"'COMPLETADO' (1 row(s), e.g. ID_Ejecucion {history[7]['id']})" in message
    assert "UPDATE logs.Ejecuciones SET Estado" in message
    # the known spellings are not listed as problems
    assert "'ok'" not in message and "' ERROR '" not in message

    assert status(db).current_version == 11
    assert _everything_legacy(db) == before  # not even the known spellings were normalised

    # The DBA decides what COMPLETADO meant and restores the missing run: the same command goes through.
    db.execute("UPDATE logs.Ejecuciones SET Estado = 'OK' WHERE Estado = 'COMPLETADO'")
    messy.restore_orphan_run(db)
    migrate(db, backup=TEST_COPY)
    assert status(db).pending == []


def _everything_legacy(db) -> dict:
    fp = data_fingerprints(db)
    fp["logs.Ejecuciones"] = table_fingerprint(db, "logs.Ejecuciones")
    return fp


# --- the whole messy history -------------------------------------------------------------------

@pytest.fixture
def migrated_history(legacy_db):
    db = legacy_db
    history = messy.build(db)
    data_before = data_fingerprints(db)
    with pytest.raises(PreflightError, match=str(messy.ORPHAN)):
        migrate(db, backup=TEST_COPY)
    messy.restore_orphan_run(db)  # the advice followed: restore, migrate again
    migrate(db, backup=TEST_COPY)
    return db, history, data_before


def test_messy_history_migrates_with_every_row_and_count_intact(migrated_history):
    db, history, data_before = migrated_history
    assert data_fingerprints(db) == data_before  # every extract/staging/fund row, byte for byte
    assert _counts(db) == messy.expected_counts(history)

    # every historical run is a legacy proceso with its own id, date and (normalised) state
    rows = db.execute("SELECT ID_Proceso, FechaReporte, Estado, Legado FROM logs.vw_Procesos")
    db.commit()
    got = {r["id_proceso"]: (r["fechareporte"], r["estado"], bool(r["legado"])) for r in rows}
    expected = {r["id"]: (r["fecha"], canonical_estado(r["estado"]), True) for r in history}
    expected[messy.ORPHAN] = (messy.FIRST_DATE, "OK", True)
    assert got == expected
    assert got[history[1]["id"]][1] == "OK" and got[history[2]["id"]][1] == "ERROR"
    assert got[history[5]["id"]][1] == "EN_PROGRESO"

    # new ids start at 10^15, above every historical id ...
    assert _next_id(db) >= 10**15 > messy.EXTRACT_ONLY > messy.ORPHAN


def test_ids_stay_above_rows_that_appear_after_the_migration(db):
    """A row written outside the sequence in the new range (a restore, a hand fix) pushes new ids above it,
    on the next migrate and on the next proceso: the sequence never hands out an id that exists."""
    high = _next_id(db) + 1000
    db.execute("INSERT INTO extract.IPA (ID_Ejecucion, FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, "
                "Moneda, Cantidad, CostoLocal) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (high, FECHA, "X", "X", "RV", "USD", 1, 1))
    db.commit()
    migrate(db, backup=TEST_COPY)
    assert _next_id(db) > high
    higher = high + 5000
    db.execute("INSERT INTO staging.UBS_Final (ID_Ejecucion, ID_Fund, NumInstrumentos, NumQuiebres) "
               "VALUES (%s, %s, %s, %s)", (higher, 1, 0, 0))
    db.commit()
    demo_seed(db, FECHA, 2, 5)
    items = start("above-new-rows")
    assert min([items[0]["id_proceso"]] + [it["id_ejecucion"] for it in items]) > higher


def test_legacy_history_is_readable_per_fund_and_stage(migrated_history, capsys):
    db, history, _ = migrated_history
    failed = history[3]  # date 3: fund 104 failed IPA and CAPM, the other 49 are OK
    rows = db.execute("SELECT ID_Fund, FundShortName, Etapa, Estado, Estado_Ejecucion, Legado, DuracionSegundos "
                      "FROM logs.vw_Ejecucion_Etapas WHERE ID_Proceso = %s", (failed["id"],))
    db.commit()
    assert len(rows) == 50 * 5 and all(r["legado"] for r in rows)
    by_key = {(r["id_fund"], r["etapa"]): r for r in rows}
    assert by_key[(104, "IPA")]["estado"] == "ERROR" and by_key[(104, "PNL")]["estado"] is None
    assert by_key[(102, "IPA")]["estado"] == "OK" and by_key[(102, "Derivados")]["estado"] is None
    assert {r["estado_ejecucion"] for r in rows} == {"ERROR"}

    # impossible durations are unknown, never negative
    dur = {r["id_proceso"]: r["duracionsegundos"] for r in db.execute(
        "SELECT ID_Proceso, DuracionSegundos FROM logs.vw_Procesos")}
    db.commit()
    assert dur[history[4]["id"]] is None and dur[history[5]["id"]] is None
    assert dur[history[0]["id"]] == 25 * 60

    code, out = _cli(capsys, "proceso", "estado", "--id", str(history[7]["id"]))
    assert code == 0, out
    assert "legacy history" in out and "FONDO O'HIGGINS ÑUÑOA" in out and 'RENTA "PLUS" €' in out
    code, out = _cli(capsys, "proceso", "estado", "--fecha", failed["fecha"].isoformat())
    assert code == 1  # that run failed
    assert out.startswith(f"proceso {failed['id']}  fecha {failed['fecha']}  estado ERROR  fondos 50  OK 49  ERROR 1")
    # the run that died before registering any fund
    code, out = _cli(capsys, "proceso", "estado", "--id", str(history[-1]["id"]))
    assert code == 1 and "no fund rows recorded" in out


def test_no_operator_command_can_change_legacy_history(migrated_history, capsys):
    db, history, _ = migrated_history
    before = _everything(db)
    shared = history[3]  # 50 funds share this ID_Ejecucion

    crashed = history[5]  # EN_PROGRESO forever
    for argv, fecha in ((("proceso", "revertir", "--ejecucion", str(shared["id"])), shared["fecha"]),
                        (("proceso", "eliminar", "--id", str(shared["id"])), shared["fecha"]),
                        (("proceso", "cerrar", "--id", str(shared["id"])), shared["fecha"]),
                        (("proceso", "cerrar", "--id", str(crashed["id"])), crashed["fecha"])):
        code, out = _cli(capsys, *argv)
        assert code == 1, argv
        assert "legacy history" in out and "nothing was changed" in out, out
        assert "shared by 50 fund row(s)" in out and f"trigger procesos_diarios with fecha={fecha}" in out, out

    with database(autocommit=True) as c:
        for procedure, params in (
            ("logs.sp_Actualizar_Estadisticas_Proceso", {"ID_Proceso": shared["id"], "Cerrar": False}),
            ("logs.sp_Actualizar_Estado_Etapa", {"ID_Ejecucion": shared["id"], "Etapa": "IPA", "Estado": "OK",
                                                 "Filas": 1, "Mensaje": None}),
            ("logs.sp_Revertir_Ejecucion", {"ID_Ejecucion": messy.ORPHAN}),
            ("logs.sp_Borrar_Filas_Ejecucion", {"ID_Ejecucion": shared["id"]}),
            ("logs.sp_Recalcular_Proceso", {"ID_Proceso": shared["id"]}),
            # issue 13: history has no metrics and gets no morning message
            ("logs.sp_Registrar_Metricas_Proceso", {"ID_Proceso": shared["id"], "Momento": "FIN",
                                                    "Motor": c.dialect}),
            ("logs.sp_Reservar_Aviso", {"ID_Proceso": shared["id"], "Firma": "0" * 64, "Canal": "smtp",
                                        "Estado": "OK"}),
        ):
            with pytest.raises(DataError, match="legacy history"):
                call(c, procedure, params)
        # closing "every proceso still EN_PROGRESO" leaves the crashed legacy run alone
        assert proceso.cerrar_procesos_en_progreso() == []
    assert _everything(db) == before


def test_a_new_proceso_after_the_migration_never_touches_history(migrated_history):
    db, history, _ = migrated_history
    demo_seed(db, FECHA, 3, 10)
    before = data_fingerprints(db)
    items = start("after-legacy")
    ids = [items[0]["id_proceso"]] + [it["id_ejecucion"] for it in items]
    assert min(ids) > messy.EXTRACT_ONLY
    assert all(r == {s: "OK" for s in r} for r in run_all(items).values())
    after = data_fingerprints(db)
    # the history's rows (every id at or below the extract-only one) are exactly as before
    for table in ("extract.IPA", "staging.IPA_WorkTable", "staging.CAPM_Final"):
        old = db.execute(f"SELECT COUNT(*) AS n FROM {table} WHERE ID_Ejecucion <= %s", (messy.EXTRACT_ONLY,))
        assert old[0]["n"] == before[table][0], table
    assert after["logs.Ejecucion_Fondos"][0] == before["logs.Ejecucion_Fondos"][0] + 3
    db.commit()


# --- 015's proof: each check can fail ---------------------------------------------------------

SABOTAGE = {
    # a trigger that undoes one ejecución's link: check 2 (reaches a proceso of its own date)
    "unlinked": ("logs.Ejecuciones", "BEFORE UPDATE",
                 "IF NEW.id_ejecucion = {id} THEN NEW.id_proceso := NULL; END IF; RETURN NEW;",
                 "do not reach a proceso of their own report date"),
    # a trigger that moves one proceso to another date: check 3 (per report date)
    "moved date": ("logs.Procesos", "BEFORE INSERT",
                   "IF NEW.id_proceso = {id} THEN NEW.fechareporte := NEW.fechareporte + 1; END IF; RETURN NEW;",
                   "do not reach a proceso of their own report date"),
    # a trigger that re-attributes one fund row to another fund: check 4 (per fund) alone
    "wrong fund": ("logs.Ejecuciones", "AFTER UPDATE",
                   "IF NEW.id_ejecucion = {id} THEN UPDATE logs.ejecucion_fondos SET id_fund = 999 "
                   "WHERE id_ejecucion = {id} AND id_fund = 101; END IF; RETURN NEW;",
                   "fund rows per fund differ after the backfill (ID_Fund 101: before 32 rows, after 31; "
                   "ID_Fund 999: before 0 rows, after 1)"),
    # a trigger that drops a fund row: check 3 (per date) sees it first
    "lost row": ("logs.Ejecuciones", "AFTER UPDATE",
                 "IF NEW.id_ejecucion = {id} THEN DELETE FROM logs.ejecucion_fondos "
                 "WHERE id_ejecucion = {id} AND id_fund = 102; END IF; RETURN NEW;",
                 "counts per report date differ after the backfill (2025-09-01: before 2 ejecuciones/51 fund rows, "
                 "after 2/50)"),
}


@pytest.mark.parametrize("case", list(SABOTAGE))
def test_each_check_of_the_backfill_can_fail_and_rolls_it_back(fresh_pg_db, case):
    db = open_database()
    migrate(db, target=11)
    history = messy.build(db)
    messy.restore_orphan_run(db)
    migrate(db, target=14, backup=TEST_COPY)
    table, when, body, expected = SABOTAGE[case]
    db.execute_script(
        "CREATE FUNCTION public.sabotaje() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + body.format(id=history[0]["id"]) + " END $$;"
        f"CREATE TRIGGER sabotaje {when} ON {table} FOR EACH ROW EXECUTE FUNCTION public.sabotaje();")
    db.commit()
    before = _everything(db)

    with pytest.raises(MigrationError) as err:
        migrate(db, backup=TEST_COPY)
    message = str(err.value)
    assert "015_BACKFILL_ID_PROCESO" in message and expected in message, message
    assert "015 was rolled back; nothing of it was kept" in message
    assert "nothing else was applied in this run" in message
    assert status(db).current_version == 14
    assert _everything(db) == before
    db.close()


def test_an_orphan_created_after_the_preflight_still_stops_015(legacy_db):
    db = legacy_db
    messy.build(db, orphan=False)
    migrate(db, target=12, backup=TEST_COPY)  # the preflight passed; 012 committed
    db.execute("INSERT INTO logs.Ejecucion_Fondos (ID_Ejecucion, ID_Fund, FundShortName, Portfolio_Geneva) "
               "VALUES (%s, %s, %s, %s)", (messy.ORPHAN, 101, "FONDO 101", "LAFID01"))
    db.commit()
    with pytest.raises(MigrationError) as err:
        migrate(db, backup=TEST_COPY)
    message = str(err.value)
    assert f"have no row in logs.Ejecuciones ({messy.ORPHAN})" in message
    assert ("committed before it in this run: migrations/013_ALTER_EJECUCIONES_ADD_ID_PROCESO.sql, "
            "migrations/014_CREATE_SP_INICIALIZAR_PROCESO.sql") in message
    assert status(db).current_version == 14


# --- the transition week: the legacy v2 writer on the migrated schema --------------------------

def test_runs_written_by_the_legacy_writer_after_the_migration_are_legacy_history(db, capsys):
    v2_id = int(datetime(2026, 3, 16, 7, 0).timestamp() * 1000)  # the v2 backend's clock id
    fecha = date(2026, 3, 13)
    # what sp_Inicializar_Ejecucion and the v2 stages write: one shared id, no ID_Proceso, no ID_Fund in extract
    db.execute("INSERT INTO logs.Ejecuciones (ID_Ejecucion, FechaReporte, Estado, Usuario, TotalFondos) "
               "VALUES (%s, %s, %s, %s, %s)", (v2_id, fecha, "EN_PROGRESO", "node-backend", 2))
    for k in (101, 102):
        db.execute("INSERT INTO logs.Ejecucion_Fondos (ID_Ejecucion, ID_Fund, FundShortName, Portfolio_Geneva, "
                   "Estado_Process_IPA) VALUES (%s, %s, %s, %s, %s)", (v2_id, k, f"FONDO {k}", f"LAFID{k}", "OK"))
        db.execute("INSERT INTO extract.IPA (ID_Ejecucion, FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, "
                   "Moneda, Cantidad, CostoLocal) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                   (v2_id, fecha, f"LAFID{k}", "INS1", "RV", "USD", 1, 1))
        db.execute("INSERT INTO extract.IPA (ID_Ejecucion, FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, "
                   "Moneda, Cantidad, CostoLocal) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                   (v2_id, fecha, f"LAFID{k}", "INS1", "RV", "USD", 1, 1))  # the old writer's exact duplicate
    db.execute("UPDATE logs.Ejecuciones SET Estado = 'OK', FechaFin = FechaInicio, FondosExitosos = 2 "
               "WHERE ID_Ejecucion = %s", (v2_id,))
    db.commit()
    before = _everything(db)

    row = db.execute("SELECT Estado, Legado, TotalFondos FROM logs.vw_Procesos WHERE ID_Proceso = %s", (v2_id,))
    assert [(r["estado"], bool(r["legado"]), r["totalfondos"]) for r in row] == [("OK", True, 2)]
    code, out = _cli(capsys, "proceso", "estado", "--id", str(v2_id))
    assert code == 0 and "legacy history" in out and "FONDO 102" in out
    for argv in (("proceso", "revertir", "--ejecucion", str(v2_id)), ("proceso", "eliminar", "--id", str(v2_id)),
                 ("proceso", "cerrar", "--id", str(v2_id))):
        code, out = _cli(capsys, *argv)
        assert code == 1 and "legacy history" in out, (argv, out)

    # v3 resumes: its ids never collide with the v2 run's, and the v2 rows stay as they were
    demo_seed(db, fecha, 2, 5)
    items = start("v3-after-v2", fecha=fecha)
    assert min(it["id_ejecucion"] for it in items) > v2_id
    run_all(items)
    assert table_fingerprint(db, "logs.Ejecucion_Fondos")[0] == before["logs.Ejecucion_Fondos"][0] + 2
    assert db.execute("SELECT COUNT(*) AS n FROM extract.IPA WHERE ID_Ejecucion = %s", (v2_id,))[0]["n"] == 4
    db.commit()


def test_a_legacy_run_spanning_more_than_68_years_reads_with_its_duration(db):
    """A legacy row with a default start of 1900-01-01: more seconds than an INT holds. The views must
    still answer (T-SQL: DATEDIFF raised error 535 on every read; PostgreSQL: integer out of range)."""
    v2_id = int(datetime(2026, 3, 16, 7, 0).timestamp() * 1000)
    inicio, fin = datetime(1900, 1, 1), datetime(2026, 3, 16, 7, 0, 0, 600000)
    db.execute("INSERT INTO logs.Ejecuciones (ID_Ejecucion, FechaReporte, Estado, Usuario, TotalFondos, FechaInicio, "
               "FechaFin) VALUES (%s, %s, %s, %s, %s, %s, %s)", (v2_id, date(2026, 3, 13), "OK", "node-backend", 1,
                                                                  inicio, fin))
    db.execute("INSERT INTO logs.Ejecucion_Fondos (ID_Ejecucion, ID_Fund, FundShortName, Portfolio_Geneva, "
               "Estado_Process_IPA) VALUES (%s, %s, %s, %s, %s)", (v2_id, 101, "FONDO 101", "LAFID101", "OK"))
    db.commit()
    rows = db.execute("SELECT DuracionSegundos FROM logs.vw_Procesos WHERE ID_Proceso = %s", (v2_id,))
    assert [r["duracionsegundos"] for r in rows] == [round((fin - inicio).total_seconds())]  # .6 s rounds up
    assert round((fin - inicio).total_seconds()) > 2**31
    assert len(db.execute("SELECT DuracionSegundos FROM logs.vw_Ejecucion_Etapas WHERE ID_Ejecucion = %s",
                          (v2_id,))) == 5
    db.commit()


# --- demo seed never touches real data ---------------------------------------------------------

def test_demo_seed_refuses_to_overwrite_funds_it_did_not_create(db):
    db.execute("INSERT INTO config.Fondos (ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM, Activo) "
               "VALUES (%s, %s, %s, %s, %s)", (102, "FONDO REAL", "REAL01", "CAPMR1", False))
    db.execute("INSERT INTO config.Fondos (ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM) "
               "VALUES (%s, %s, %s, %s)", (7, "OTRO REAL", "LAFID003", "CAPMR2"))
    db.commit()
    before = {t: table_fingerprint(db, t) for t in ("config.Fondos", "source.Geneva_Posiciones")}
    with pytest.raises(NotDemoData) as err:
        demo_seed(db, FECHA, 5, 10)
    message = str(err.value)
    assert "fund 102 'FONDO REAL' on demo id 102" in message
    assert "fund 7 'OTRO REAL' using demo portfolio code(s) ['LAFID003']" in message
    assert "Nothing was changed" in message
    db.rollback()
    assert {t: table_fingerprint(db, t) for t in before} == before
    # below the real funds it is fine
    demo_seed(db, FECHA, 1, 10)
