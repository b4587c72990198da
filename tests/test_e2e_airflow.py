"""End to end with the real components: Airflow API server, scheduler and DAG
processor (LocalExecutor) on a temporary AIRFLOW_HOME, driven through the REST
API exactly as an operator would at 7 a.m.:

1. trigger procesos_diarios with conf {"fecha": ...} while one fund's source
   data is missing; the run fails, the other funds are OK;
2. repair the data; clear exactly that fund's failed mapped task
   ([task_id, map_index], not a dry run) with its downstream;
3. only that fund runs again, its rows are present once, every other fund's
   rows are byte-for-byte unchanged, and the proceso shows every fund OK;
4. an invalid fecha is refused by the API and creates nothing.

Every wait is bounded; on a timeout the task and component logs are printed.
"""

from __future__ import annotations

import io
import os
import time

import pytest
from rich.console import Console

from e2e_helpers import alive
from fondos.db.connection import database, open_database
from fondos.db.migrate import migrate
from fondos.pipeline.progress import follow
from fondos_dev.local_airflow import LocalAirflow

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("airflow-b")]

FECHA = "2026-03-13"
N_FUNDS = 3
FAILING = {"map_index": 1, "id_fund": 102, "portfolio": "LAFID002"}


@pytest.fixture
def stack(fresh_pg_db, airflow_pg_metadata, tmp_path):
    db = open_database()
    migrate(db)
    db.close()
    af = LocalAirflow(tmp_path / "airflow", os.environ["AIRFLOW_CONN_FONDOS_DB"], parallelism=4,
                      metadata=airflow_pg_metadata)
    af.home.mkdir()
    af.start()
    try:
        yield af
    except (TimeoutError, RuntimeError):
        print(af.logs())
        raise
    finally:
        af.stop()
    assert alive(af) == [], "Airflow processes outlived stop()"


def _listening(port: int) -> set[str]:
    """The local addresses a TCP port listens on (/proc/net/tcp and tcp6), e.g. {'127.0.0.1'}."""
    import ipaddress

    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, hexport = local.split(":")
                if state == "0A" and int(hexport, 16) == port:  # LISTEN
                    raw = bytes.fromhex(addr)
                    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, size, 4))  # little-endian words
                    found.add(str(ipaddress.ip_address(raw)))
    return found


def _snapshot(conn, exclude_fund: int):
    from pipeline_helpers import fund_fingerprints

    rows = conn.execute("SELECT ID_Ejecucion, ID_Fund FROM logs.Ejecuciones WHERE ID_Fund <> %s", (exclude_fund,))
    return {r["id_fund"]: fund_fingerprints(conn, r["id_ejecucion"]) for r in rows}


def test_trigger_fail_repair_clear_one_fund_and_invalid_fecha(stack):
    from pipeline_helpers import count, seed

    af = stack
    seed(N_FUNDS, 30)
    with database(autocommit=True) as conn:
        saved = conn.execute("SELECT * FROM source.Geneva_Posiciones WHERE Portfolio = %s", (FAILING["portfolio"],))
        conn.execute("DELETE FROM source.Geneva_Posiciones WHERE Portfolio = %s", (FAILING["portfolio"],))

    af.ready("procesos_diarios")
    assert _listening(af.port) == {"127.0.0.1"}, "the all-admins API server must listen on this machine only"

    # 4. an invalid fecha is refused at the door and creates nothing
    status, body = af.trigger("procesos_diarios", {"fecha": "2026-02-30"})
    assert status == 400, body
    status, body = af.trigger("procesos_diarios", {"fecha": "15/03/2026"})
    assert status == 400 and "FechaReporte (YYYY-MM-DD)" in str(body), body  # the message says the format
    assert af.api("GET", "/dags/procesos_diarios/dagRuns")[1]["total_entries"] == 0

    # 1. trigger; the run fails because fund 102 has no positions
    status, body = af.trigger("procesos_diarios", {"fecha": FECHA})
    assert status == 200, body
    run_id = body["dag_run_id"]
    started = time.monotonic()
    # followed as `make run` follows it, on a console that is not a terminal: plain periodic lines
    out = io.StringIO()
    state = follow(af, "procesos_diarios", run_id, 600, every=2, console=Console(file=out, width=300))
    first_run_s = time.monotonic() - started
    assert state == "failed"
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2, lines
    assert "IPA 2/3 (1 failed)" in lines[-1] and "PNL 2/3 (1 failed)" in lines[-1], lines
    assert lines[-1].endswith("cerrar_proceso failed"), lines

    with database(autocommit=True) as conn:
        p = conn.execute("SELECT * FROM logs.vw_Procesos")[0]
        assert (p["estado"], p["fondosexitosos"], p["fondosfallidos"]) == ("ERROR", N_FUNDS - 1, 1)
        before = _snapshot(conn, FAILING["id_fund"])
        attempts_before = {r["id_fund"]: r["intentos"] for r in conn.execute(
            "SELECT ID_Fund, SUM(Intentos) AS intentos FROM logs.vw_Ejecucion_Etapas GROUP BY ID_Fund")}
        # 2. repair the fund's source data
        for r in saved:
            conn.execute("INSERT INTO source.Geneva_Posiciones (FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, "
                         "Moneda, Cantidad, CostoLocal) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         (r["fechareporte"], r["portfolio"], r["id_instrumento"], r["tipo_instrumento"], r["moneda"],
                          r["cantidad"], r["costolocal"]))

    # ... and clear exactly that fund's failed mapped task, with its downstream
    status, body = af.api("POST", "/dags/procesos_diarios/clearTaskInstances", {
        "dry_run": False, "dag_run_id": run_id, "task_ids": [["procesar_fondo.ipa", FAILING["map_index"]]],
        "include_downstream": True, "only_failed": True, "reset_dag_runs": True,
    })
    assert status == 200, body
    cleared = {(ti["task_id"], ti["map_index"]) for ti in body["task_instances"]}
    assert ("procesar_fondo.ipa", FAILING["map_index"]) in cleared
    assert all(mi in (FAILING["map_index"], -1) for _, mi in cleared), cleared  # no other fund is cleared

    started = time.monotonic()
    state = af.wait_run("procesos_diarios", run_id, 600)
    retry_s = time.monotonic() - started
    assert state == "success"

    # 3. only that fund ran again; everyone else is byte-for-byte unchanged; figures show every fund OK
    with database(autocommit=True) as conn:
        p = conn.execute("SELECT * FROM logs.vw_Procesos")[0]
        assert (p["estado"], p["fondosexitosos"], p["fondosfallidos"]) == ("OK", N_FUNDS, 0)
        assert count(conn, "SELECT COUNT(*) FROM logs.Procesos") == 1  # clearing never creates a second proceso
        assert _snapshot(conn, FAILING["id_fund"]) == before
        attempts_after = {r["id_fund"]: r["intentos"] for r in conn.execute(
            "SELECT ID_Fund, SUM(Intentos) AS intentos FROM logs.vw_Ejecucion_Etapas GROUP BY ID_Fund")}
        assert {f: n for f, n in attempts_after.items() if f != FAILING["id_fund"]} == {
            f: n for f, n in attempts_before.items() if f != FAILING["id_fund"]}
        assert attempts_after[FAILING["id_fund"]] > attempts_before[FAILING["id_fund"]]
        failing = conn.execute("SELECT ID_Ejecucion FROM logs.Ejecuciones WHERE ID_Fund = %s",
                               (FAILING["id_fund"],))[0]["id_ejecucion"]
        assert count(conn, "SELECT COUNT(*) FROM extract.IPA WHERE ID_Ejecucion = %s", (failing,)) == len(saved)
        assert count(conn, "SELECT COUNT(*) FROM staging.IPA_WorkTable WHERE ID_Ejecucion = %s", (failing,)) == len(saved)
    print(f"\ne2e: first run {first_run_s:.1f}s, retry of one fund {retry_s:.1f}s")

    # 5. an empty fecha means the business day before the run; that day has no feeds: refused, nothing created
    status, body = af.trigger("procesos_diarios", {"fecha": ""})
    assert status == 200, body
    assert af.wait_run("procesos_diarios", body["dag_run_id"], 300) == "failed"
    log = next((af.home / "logs").rglob(f"run_id={body['dag_run_id']}/task_id=crear_proceso/attempt=1.log")).read_text()
    assert "no source data for" in log and "Nothing was created" in log
    with database(autocommit=True) as conn:
        assert count(conn, "SELECT COUNT(*) FROM logs.Procesos") == 1


# --- a stage task SIGKILLed mid-stage ------------------------------------------------------------

def _task_pid(ti: dict) -> int | None:
    """The task process of a running task instance: the pid Airflow records for it, checked against the
    process title the task runner sets (`airflow worker -- <ti uuid>`; the LocalExecutor's own worker
    process also names the uuid, after "LocalExecutor:", and must not be the one killed)."""
    from pathlib import Path

    try:
        cmd = Path(f"/proc/{ti['pid']}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, TypeError, KeyError):
        return None
    return ti["pid"] if cmd.strip() == f"airflow worker -- {ti['id']}" else None


def _running_try(af, run_id: str, map_index: int) -> dict | None:
    status, ti = af.api("GET", f"/dags/procesos_diarios/dagRuns/{run_id}/taskInstances/procesar_fondo.ipa/{map_index}")
    return ti if status == 200 and ti.get("state") == "running" else None


def _kill_running_try(af, conn, run_id: str, map_index: int, id_ejecucion: int, try_number: int) -> None:
    """Wait until this try of the fund's IPA task runs and has recorded EN_PROGRESO, then SIGKILL its process."""
    import signal

    def ready():
        ti = _running_try(af, run_id, map_index)
        if not ti or ti["try_number"] != try_number:
            return None
        row = conn.execute("SELECT Estado, Intentos FROM logs.vw_Ejecucion_Etapas WHERE ID_Ejecucion = %s "
                           "AND Etapa = 'IPA'", (id_ejecucion,))[0]
        if (row["estado"], row["intentos"]) != ("EN_PROGRESO", try_number):
            return None
        return _task_pid(ti)

    pid = af.wait_for(f"try {try_number} of IPA, map index {map_index}, running", ready, 240, interval=0.5)
    os.kill(pid, signal.SIGKILL)


def test_a_stage_killed_on_every_try_is_recorded_as_killed_and_one_retried_ends_ok(fresh_pg_db, airflow_pg_metadata,
                                                                                    tmp_path):
    """Fund 101's IPA is SIGKILLed on each of its 3 tries; fund 102's once, then it is let through.

    Both block inside IPA_00 on a table lock the test holds (so each try is surely mid-stage when killed,
    and the killed try's statement is still on the server when the retry arrives)."""
    from pipeline_helpers import count, seed

    db = open_database()
    migrate(db)
    db.close()
    af = LocalAirflow(tmp_path / "airflow", os.environ["AIRFLOW_CONN_FONDOS_DB"], parallelism=4,
                      metadata=airflow_pg_metadata, extra={"FONDOS_RETRY_DELAY_S": "1"})
    af.home.mkdir()
    af.start()
    holder = open_database()
    try:
        seed(2, 30)
        af.ready("procesos_diarios")
        holder.execute("LOCK TABLE extract.IPA IN SHARE MODE")  # every IPA_00 insert waits behind it
        status, body = af.trigger("procesos_diarios", {"fecha": FECHA})
        assert status == 200, body
        run_id = body["dag_run_id"]
        with database(autocommit=True) as conn:
            ids = af.wait_for("the proceso", lambda: {r["id_fund"]: r["id_ejecucion"] for r in conn.execute(
                "SELECT ID_Fund, ID_Ejecucion FROM logs.Ejecuciones WHERE ID_Fund IS NOT NULL")} or None, 120)
            _kill_running_try(af, conn, run_id, 1, ids[102], 1)
            for attempt in (1, 2, 3):
                _kill_running_try(af, conn, run_id, 0, ids[101], attempt)
            holder.rollback()  # fund 102's second try (waiting behind the lock) goes through
            state = af.wait_run("procesos_diarios", run_id, 600)
            assert state == "failed"

            stages = {(r["id_fund"], r["etapa"]): r for r in conn.execute(
                "SELECT ID_Fund, Etapa, Estado, Intentos, Mensaje, Filas FROM logs.vw_Ejecucion_Etapas")}
            killed = stages[(101, "IPA")]
            assert (killed["estado"], killed["intentos"]) == ("ERROR", 3)
            assert killed["mensaje"].startswith("IPA was killed on try 3 (SIGKILL, OOM kill or timeout)"), killed
            # never-run stages: PENDIENTE, as behind a data failure (test_dag_run_with_one_failing_fund)
            assert {s: stages[(101, s)]["estado"] for s in ("CAPM", "Derivados", "UBS", "PNL")} == \
                {"CAPM": "PENDIENTE", "Derivados": "PENDIENTE", "UBS": "PENDIENTE", "PNL": "PENDIENTE"}
            # The last killed try's INSERT may still finish on the server if the lock frees before the server
            # notices its client is gone (client_connection_check_interval): its rows exist once or not at all,
            # and the next steps, which only the dead process would have called, never ran.
            assert count(conn, "SELECT COUNT(*) FROM extract.IPA WHERE ID_Ejecucion = %s", (ids[101],)) in (0, 30)
            for table in ("staging.IPA_Precios", "staging.IPA_WorkTable"):
                assert count(conn, f"SELECT COUNT(*) FROM {table} WHERE ID_Ejecucion = %s", (ids[101],)) == 0

            retried = stages[(102, "IPA")]
            assert (retried["estado"], retried["intentos"]) == ("OK", 2)
            # Try 1's death is recorded either by the retry callback (Airflow ran it for the killed task) or,
            # had it not run, by try 2 finding the stage still EN_PROGRESO; the note stays after OK.
            assert ("attempt 2, after: IPA try 1 failed (the task process died without reporting"
                    in retried["mensaje"] or retried["mensaje"].startswith("attempt 1 was interrupted")), retried
            assert all(stages[(102, s)]["estado"] == "OK" for s in ("CAPM", "Derivados", "UBS", "PNL"))
            # its rows exist once: one per position, one price per instrument
            assert count(conn, "SELECT COUNT(*) FROM extract.IPA WHERE ID_Ejecucion = %s", (ids[102],)) == 30
            assert count(conn, "SELECT COUNT(*) FROM staging.IPA_WorkTable WHERE ID_Ejecucion = %s", (ids[102],)) == 30
            p = conn.execute("SELECT Estado, FondosExitosos, FondosFallidos FROM logs.vw_Procesos")[0]
            assert (p["estado"], p["fondosexitosos"], p["fondosfallidos"]) == ("ERROR", 1, 1)
    except (TimeoutError, RuntimeError, AssertionError):
        print(af.logs())
        raise
    finally:
        holder.close()
        af.stop()
    assert alive(af) == [], "Airflow processes outlived stop()"
