"""Run integrity under faults (issue 9): no duplicate rows ever, and a demo seeder that changes only its own date."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest

from fondos.db.calls import call
from fondos.db.connection import database, open_database
from fondos.pipeline.stages import STAGES
from fondos.settings import SQL_DIR
from fondos_dev.demo import seed as demo_seed
from pipeline_helpers import ALL_ROW_TABLES, FECHA, fund_fingerprints, run_all, seed, start


@pytest.fixture
def conn(db):
    with database(autocommit=True) as c:
        yield c


def _step_params(item: dict, step) -> dict:
    return {p: (FECHA if p == "FechaReporte" else item[p.lower()]) for p in step.params}


def _run_steps(item: dict, steps) -> None:
    with database(autocommit=True) as c:
        for step in steps:
            call(c, step.procedure, _step_params(item, step))


def _rows(conn, table: str, id_ejecucion: int) -> int:
    return conn.execute(f"SELECT COUNT(*) AS n FROM {table} WHERE ID_Ejecucion = %s", (id_ejecucion,))[0]["n"]


def test_the_same_step_twice_at_once_writes_its_rows_once(conn):
    seed(1, 400)
    item = start("twice-at-once")[0]
    ipa = STAGES["IPA"].steps
    _run_steps(item, ipa[:2])  # extract and price rescue
    positions = _rows(conn, "extract.IPA", item["id_ejecucion"])
    assert positions == 400

    for _ in range(3):  # the valuation step, twice at the same moment, three times over
        barrier = threading.Barrier(2, timeout=30)
        errors: list[BaseException] = []

        def valuate(barrier=barrier, errors=errors):
            try:
                with database(autocommit=True) as c:
                    barrier.wait()
                    call(c, ipa[2].procedure, _step_params(item, ipa[2]))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=valuate) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert _rows(conn, "staging.IPA_WorkTable", item["id_ejecucion"]) == positions


def test_a_second_call_waits_for_the_first_to_commit(migrated_pg_db):
    """PostgreSQL: the step blocks on the (stage, ejecución) advisory lock held by another transaction."""
    seed(1, 50)
    item = start("waits")[0]
    ipa = STAGES["IPA"].steps
    _run_steps(item, ipa[:2])

    holder = open_database()  # a transaction holding the lock, like a killed attempt's statement still running
    holder.execute("SELECT logs.sp_Bloquear_Ejecucion(%s, %s)", (item["id_ejecucion"], "IPA"))
    done = threading.Event()
    worker = threading.Thread(target=lambda: (_run_steps(item, [ipa[2]]), done.set()))
    worker.start()
    try:
        with database(autocommit=True) as watch:
            waiting = []
            for _ in range(600):  # up to 30 s on a loaded machine
                waiting = watch.execute(
                    "SELECT a.query FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()")
                if waiting:
                    break
                time.sleep(0.05)
            assert waiting and "IPA_02_ValorizarPosiciones_v2" in waiting[0]["query"]
            assert not done.is_set()
            with database(autocommit=True) as c:
                assert _rows(c, "staging.IPA_WorkTable", item["id_ejecucion"]) == 0
    finally:
        holder.commit()
        holder.close()
    worker.join(30)
    assert done.is_set()
    with database(autocommit=True) as c:
        assert _rows(c, "staging.IPA_WorkTable", item["id_ejecucion"]) == 50


def _wait_for_advisory_lock(query_part: str) -> None:
    with database(autocommit=True) as watch:
        for _ in range(600):  # up to 30 s on a loaded machine
            waiting = watch.execute(
                "SELECT a.query FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()")
            if waiting:
                assert query_part in waiting[0]["query"]
                return
            time.sleep(0.05)
    raise AssertionError(f"nothing waited for a stage lock ({query_part})")


def test_a_revert_that_waited_for_a_proceso_deletion_says_the_ejecucion_is_gone(migrated_pg_db):
    """PostgreSQL: revertir waits for the stage locks a deletion holds; once it gets them the proceso
    is gone, and it says so (re-checked under the lock) instead of reporting 0 rows reverted."""
    from fondos.errors import DataError
    from fondos.pipeline import proceso

    seed(1, 20)
    item = start("revert-after-delete")[0]
    assert run_all([item])[item["id_fund"]] == {s: "OK" for s in STAGES}

    deleting = open_database()  # a deletion not yet committed: it holds every stage lock of the proceso
    deleting.execute("SELECT * FROM logs.sp_Eliminar_Proceso(%s)", (item["id_proceso"],))
    errors: list[BaseException] = []

    def revert():
        try:
            proceso.revertir_ejecucion(item["id_ejecucion"])
        except BaseException as exc:  # noqa: BLE001 - checked below
            errors.append(exc)

    worker = threading.Thread(target=revert)
    worker.start()
    try:
        _wait_for_advisory_lock("sp_Revertir_Ejecucion")
    finally:
        deleting.commit()
        deleting.close()
    worker.join(30)
    assert not worker.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], DataError), errors
    assert f"unknown ID_Ejecucion {item['id_ejecucion']}" in str(errors[0])


def test_a_duplicate_row_inserted_by_hand_is_refused_in_every_table(conn):
    seed(1, 20)
    item = start("dup-by-hand")[0]
    assert run_all([item])[item["id_fund"]] == {s: "OK" for s in STAGES}
    refused = []
    for table in ALL_ROW_TABLES:
        assert _rows(conn, table, item["id_ejecucion"]) > 0, table
        first = "SELECT * FROM {t} WHERE ID_Ejecucion = %s LIMIT 1" if conn.dialect == "postgres" else \
            "SELECT TOP (1) * FROM {t} WHERE ID_Ejecucion = %s"
        with pytest.raises(Exception, match=r"(?i)duplicate|unique") as err:
            conn.execute(f"INSERT INTO {table} " + first.format(t=table), (item["id_ejecucion"],))
        refused.append((table, type(err.value).__name__))
        if conn.dialect == "postgres":
            conn.conn.rollback()
    assert len(refused) == len(ALL_ROW_TABLES)


def test_every_tsql_step_takes_the_transaction_scoped_lock_inside_its_transaction():
    """SQL Server cannot run here: the lock is checked in the text of every T-SQL step."""
    lock = (SQL_DIR / "mssql/logs/sp_Bloquear_Ejecucion.sql").read_text()
    assert "@LockOwner = 'Transaction'" in lock and "@LockMode = 'Exclusive'" in lock
    for stage in STAGES.values():
        for step in stage.steps:
            schema, name = step.procedure.split(".")
            text = (SQL_DIR / "mssql" / schema / f"{name}.sql").read_text()
            text = re.sub(r"--[^\n]*", lambda m: " " * len(m.group(0)), text)  # comments may say "delete"
            begin = text.index("BEGIN TRANSACTION;")
            take = text.index(f"EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = '{stage.name}';")
            first_write = min(m.start() for m in re.finditer(r"\b(DELETE|INSERT|UPDATE|MERGE)\b", text, re.I))
            assert begin < take < first_write, step.procedure


# --- the demo seeder changes only its own date -------------------------------------------------

def _source_fingerprint(conn, fecha) -> dict:
    out = {}
    for table in ("source.Geneva_Posiciones", "source.Geneva_Precios", "source.Geneva_Caja", "source.TiposCambio",
                  "source.CAPM_Movimientos", "source.Derivados_Contratos", "source.UBS_Custodia"):
        rows = conn.execute(f"SELECT * FROM {table} WHERE FechaReporte = %s", (fecha,))
        out[table] = sorted(tuple(sorted(r.items())) for r in rows)
    return out


def test_demo_seed_of_a_date_never_changes_another_date_and_is_repeatable(conn):
    anterior = FECHA - timedelta(days=1)
    demo_seed(conn, anterior, 3, 40)
    day_before = _source_fingerprint(conn, anterior)
    first_run = start("seed-anterior-1", fecha=anterior)
    run_all(first_run)
    results = {it["id_fund"]: fund_fingerprints(conn, it["id_ejecucion"]) for it in first_run}

    demo_seed(conn, FECHA, 3, 60)  # its previous business day is `anterior`
    after = _source_fingerprint(conn, anterior)
    for table, rows in day_before.items():  # nothing of `anterior` rewritten or removed ...
        assert set(rows) <= set(after[table]), table
    assert {t: r for t, r in after.items() if t != "source.Geneva_Precios"} == \
        {t: r for t, r in day_before.items() if t != "source.Geneva_Precios"}  # ... only missing prices added

    again = start("seed-anterior-2", fecha=anterior)  # ... so the earlier date gives the same results
    run_all(again)
    assert {it["id_fund"]: fund_fingerprints(conn, it["id_ejecucion"]) for it in again} == results

    first = _source_fingerprint(conn, FECHA)
    demo_seed(conn, FECHA, 3, 60)
    assert _source_fingerprint(conn, FECHA) == first


def test_fewer_demo_funds_deactivate_the_rest(conn):
    demo_seed(conn, FECHA, 4, 10)
    demo_seed(conn, FECHA, 3, 10)
    activos = {r["id_fund"]: bool(r["activo"]) for r in conn.execute("SELECT ID_Fund, Activo FROM config.Fondos")}
    assert activos == {101: True, 102: True, 103: True, 104: False}
    assert [it["id_fund"] for it in start("fewer")] == [101, 102, 103]


def test_a_failed_attempt_with_a_retry_left_says_reintentando_with_its_error(migrated_pg_db):
    """PostgreSQL: a lock held past every in-call retry (lock_timeout 1 s) fails the attempt for a
    non-data reason; with a retry left the stage says REINTENTANDO and why, and the next attempt notes it."""
    from fondos.errors import TransientDatabaseError
    from fondos.pipeline import proceso

    seed(1, 10)
    item = start("reintentando")[0]
    assert proceso.ejecutar_fondo(item)["IPA"] == "OK"
    with database(autocommit=True) as c:
        name = c.execute("SELECT current_database() AS d")[0]["d"]
        c.execute_script(f"ALTER DATABASE {name} SET lock_timeout = '1s'")  # generated test name
    holder = open_database()
    holder.execute("SELECT 1 FROM staging.IPA_WorkTable WHERE ID_Ejecucion = %s FOR UPDATE", (item["id_ejecucion"],))
    try:
        with pytest.raises(TransientDatabaseError, match="still failing after 5 attempts"):
            proceso.ejecutar_etapa(item, "IPA", reintento="Airflow retries it (this was try 1 of 3)")
        with database(autocommit=True) as c:
            e = c.execute("SELECT Estado, Mensaje, Estado_Ejecucion FROM logs.vw_Ejecucion_Etapas "
                          "WHERE ID_Ejecucion = %s AND Etapa = 'IPA'", (item["id_ejecucion"],))[0]
        assert (e["estado"], e["estado_ejecucion"]) == ("REINTENTANDO", "EN_PROGRESO")
        assert "IPA_02_ValorizarPosiciones_v2" in e["mensaje"] and "Airflow retries it (this was try 1 of 3)" in e["mensaje"]
    finally:
        holder.commit()
        holder.close()
    proceso.ejecutar_etapa(item, "IPA")
    with database(autocommit=True) as c:
        e = c.execute("SELECT Estado, Mensaje, Intentos FROM logs.vw_Ejecucion_Etapas "
                      "WHERE ID_Ejecucion = %s AND Etapa = 'IPA'", (item["id_ejecucion"],))[0]
    assert (e["estado"], e["intentos"]) == ("OK", 3)
    assert e["mensaje"].startswith("attempt 3, after: IPA failed for fund 101")


def test_a_stage_state_sent_twice_by_one_attempt_is_recorded_once(conn):
    """Migration 027, both dialects: `call` resends a state whose answer was lost with the connection.
    The same attempt's token and state change nothing; a new attempt's token still counts and notes the
    interrupted one."""
    seed(1, 5)
    item = start("token")[0]

    def estado(estado: str, token: str):
        return call(conn, "logs.sp_Actualizar_Estado_Etapa", {"ID_Ejecucion": item["id_ejecucion"], "Etapa": "IPA",
                                                             "Estado": estado, "Intento": token})

    def stage():
        return conn.execute("SELECT Estado, Intentos, Mensaje FROM logs.vw_Ejecucion_Etapas "
                            "WHERE ID_Ejecucion = %s AND Etapa = 'IPA'", (item["id_ejecucion"],))[0]

    estado("EN_PROGRESO", "a1")
    estado("EN_PROGRESO", "a1")  # the resend
    assert (stage()["intentos"], stage()["mensaje"]) == (1, None)
    estado("EN_PROGRESO", "b2")  # a new attempt while the first one never ended: killed
    assert stage()["intentos"] == 2 and "attempt 1 was interrupted" in stage()["mensaje"]
    estado("OK", "b2")
    assert estado("OK", "b2")  # the OK's resend is not refused as "not EN_PROGRESO"
    assert (stage()["estado"], stage()["intentos"]) == ("OK", 2)
    with pytest.raises(Exception, match="not EN_PROGRESO"):
        estado("OK", "c3")  # another attempt's OK over a finished stage still is
