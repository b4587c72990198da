"""The plan's success metrics per proceso (issue 13, part 3): counters snapshotted at creation and close
into logs.Proceso_Metricas (both dialects), the verdict against the plan's targets, and where it shows."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import psycopg
import pytest

from conftest import STATS_WAIT
from fondos.db.calls import call
from fondos.db.connection import database
from fondos.errors import DataError
from fondos.pipeline import proceso
from fondos.pipeline.metas import MET, MISSED, TOLERATED, UNMEASURED, veredicto
from fondos.pipeline.metrics import leer_metricas
from pipeline_helpers import run_all, seed, start


@pytest.fixture
def conn(db):
    with database(autocommit=True) as c:
        yield c


SINCE = datetime(2026, 3, 1, 8, 0, 0)  # "the server started then"


def _registrar(conn, id_proceso, momento, desde=SINCE, motor=None, **counters):
    call(conn, "logs.sp_Registrar_Metricas_Proceso",
         {"ID_Proceso": id_proceso, "Momento": momento, "Motor": motor or conn.dialect,
          "Deadlocks": counters.get("d"), "LockWaits": counters.get("w"), "LockTimeouts": counters.get("t"),
          "LockEscalations": counters.get("e"), "ServidorDesde": desde})
    return leer_metricas(conn, id_proceso)


def test_a_closed_proceso_has_its_metrics_and_verdict(conn):
    seed(3, 5)
    items = start("metricas-ok")
    pid = items[0]["id_proceso"]
    opened = leer_metricas(conn, pid)
    assert opened["motor"] == conn.dialect and opened["fechacierremedicion"] is None  # snapshot at creation
    run_all(items)
    closed = proceso.cerrar_proceso(pid)
    m = leer_metricas(conn, pid)
    assert m["fechacierremedicion"] is not None and m["totalfondos"] == 3 and m["estado"] == "OK"
    assert m["deadlocks"] == 0 and m["reintentos"] == 0
    assert m["duracionsegundos"] is not None and 0 <= m["duracionsegundos"] < 60
    if conn.dialect == "postgres":  # PostgreSQL has no such counters, and says so instead of a zero
        assert m["lockwaits"] is None and m["locktimeouts"] is None and m["lockescalations"] is None
    v = closed["metricas"]
    # 3 funds in about a second, no deadlock: every measured metric is met (under a second there is no rate)
    assert v["closed"] and v["veredicto"] == MET
    assert [x["metrica"] for x in v["metricas"]] == ["deadlocks", "lockescalations", "duracionsegundos",
                                                    "fondosporhora", "locktimeouts"]
    assert {x["metrica"]: x["resultado"] for x in v["metricas"]}["deadlocks"] == MET


def test_duration_and_funds_per_hour_are_computed_from_the_proceso(conn):
    seed(4, 5)
    items = start("metricas-rate")
    pid = items[0]["id_proceso"]
    run_all(items)
    proceso.cerrar_proceso(pid)
    # the proceso took 12 minutes (moved back by hand; the real run took a second): 4 funds -> 20 per hour
    if conn.dialect == "postgres":
        conn.execute("UPDATE logs.Procesos SET FechaInicio = FechaFin - INTERVAL '12 minutes' WHERE ID_Proceso = %s",
                     (pid,))
    else:
        conn.execute("UPDATE logs.Procesos SET FechaInicio = DATEADD(MINUTE, -12, FechaFin) WHERE ID_Proceso = %s",
                     (pid,))
    m = _registrar(conn, pid, "FIN")
    assert m["duracionsegundos"] == 720 and float(m["fondosporhora"]) == 20.0
    v = veredicto(m)
    graded = {x["metrica"]: x["resultado"] for x in v["metricas"]}
    assert graded["duracionsegundos"] == TOLERATED and graded["fondosporhora"] == MISSED
    assert v["veredicto"] == MISSED and "Funds per hour 20/h (missed; target > 300, tolerance > 200)" in v["texto"]


def test_duration_is_truncated_to_whole_seconds_in_both_dialects(conn):
    """599.6 s is 599 s (met: under 10 minutes), never rounded up to 600 (within tolerance)."""
    seed(1, 5)
    items = start("metricas-599")
    run_all(items)
    pid = items[0]["id_proceso"]
    proceso.cerrar_proceso(pid)
    if conn.dialect == "postgres":
        conn.execute("UPDATE logs.Procesos SET FechaInicio = FechaFin - INTERVAL '599.6 seconds' WHERE ID_Proceso = %s",
                     (pid,))
    else:
        conn.execute("UPDATE logs.Procesos SET FechaInicio = DATEADD(MILLISECOND, -599600, FechaFin) "
                     "WHERE ID_Proceso = %s", (pid,))
    m = _registrar(conn, pid, "FIN")
    assert m["duracionsegundos"] == 599
    assert {x["metrica"]: x["resultado"] for x in veredicto(m)["metricas"]}["duracionsegundos"] == MET


def test_counters_that_restarted_between_the_snapshots_give_no_delta(conn):
    seed(1, 5)
    pid = start("metricas-restart")[0]["id_proceso"]
    conn.execute("DELETE FROM logs.Proceso_Metricas WHERE ID_Proceso = %s", (pid,))
    _registrar(conn, pid, "INICIO", d=0, w=5, t=0, e=0)
    # the server restarted: its counters began again at 0 and went past the first snapshot's values
    m = _registrar(conn, pid, "FIN", desde=SINCE + timedelta(hours=1), d=3, w=50, t=1, e=2)
    assert (m["deadlocks"], m["lockwaits"], m["locktimeouts"], m["lockescalations"]) == (None, None, None, None)
    m = _registrar(conn, pid, "FIN", desde=None, d=3, w=50, t=1, e=2)  # start time unreadable: unknown too
    assert m["deadlocks"] is None


def test_counter_deltas_first_snapshot_wins_and_a_reset_counter_is_unknown_not_negative(conn):
    seed(1, 5)
    pid = start("metricas-deltas")[0]["id_proceso"]
    conn.execute("DELETE FROM logs.Proceso_Metricas WHERE ID_Proceso = %s", (pid,))  # as for a pre-022 proceso
    _registrar(conn, pid, "INICIO", d=10, w=100, t=5, e=7)
    _registrar(conn, pid, "INICIO", d=99, w=999, t=99, e=99)  # a retried crear_proceso keeps the first
    m = _registrar(conn, pid, "FIN", d=12, w=130, t=5, e=3)
    assert (m["deadlocks"], m["lockwaits"], m["locktimeouts"]) == (2, 30, 0)
    assert m["lockescalations"] is None  # 7 -> 3: the counters restarted in between; unknown, never -4
    m = _registrar(conn, pid, "FIN", d=13, w=None, t=6, e=9)  # closed again after a retry: the whole window
    assert (m["deadlocks"], m["lockwaits"], m["locktimeouts"], m["lockescalations"]) == (3, None, 1, 2)


def test_refusals_unknown_proceso_bad_moment(conn):
    with pytest.raises(DataError, match="unknown ID_Proceso 424242"):
        _registrar(conn, 424242, "INICIO")
    seed(1, 5)
    pid = start("metricas-bad")[0]["id_proceso"]
    with pytest.raises(DataError, match="Momento must be INICIO or FIN, not LUEGO"):
        _registrar(conn, pid, "LUEGO")
    with pytest.raises(DataError, match="Momento must be INICIO or FIN, not fin"):  # binary, in both dialects
        _registrar(conn, pid, "fin")
    with pytest.raises(DataError, match="Momento must be INICIO or FIN, not FIN"):  # trailing spaces too
        _registrar(conn, pid, "FIN ")
    other = "mssql" if conn.dialect == "postgres" else "postgres"
    with pytest.raises(DataError, match=f"Motor must be {conn.dialect} on"):
        _registrar(conn, pid, "INICIO", motor=other)
    with pytest.raises(DataError, match=f"Motor must be {conn.dialect} on"):
        _registrar(conn, pid, "INICIO", motor=conn.dialect + " ")


def test_a_real_deadlock_during_the_proceso_is_counted(migrated_pg_db, monkeypatch):
    """PostgreSQL: two sessions deadlock while the proceso runs; its close counts exactly that one."""
    monkeypatch.setenv("FONDOS_METRICS_STATS_WAIT_S", STATS_WAIT)  # counting deadlocks: let backends flush them

    seed(2, 5)
    items = start("metricas-deadlock")
    with database(autocommit=True) as c:
        info = c.conn.info
        kw = {"host": info.host, "port": info.port, "user": info.user, "dbname": info.dbname, "autocommit": True}
        c.execute("CREATE TABLE public.dl (id INT PRIMARY KEY, v INT); INSERT INTO public.dl VALUES (1, 0), (2, 0)")
    a, b = psycopg.connect(**kw), psycopg.connect(**kw)
    a.execute("BEGIN"), b.execute("BEGIN")
    a.execute("UPDATE public.dl SET v = 1 WHERE id = 1")
    b.execute("UPDATE public.dl SET v = 1 WHERE id = 2")
    errors = []

    def cross(conn, row):
        try:
            conn.execute("UPDATE public.dl SET v = 2 WHERE id = %s", (row,))
        except psycopg.errors.DeadlockDetected as exc:
            errors.append(exc)
            conn.execute("ROLLBACK")

    t = threading.Thread(target=cross, args=(a, 2))
    t.start()
    cross(b, 1)
    t.join()
    for c in (a, b):
        c.execute("ROLLBACK")
        c.close()  # a backend flushes its statistics when it exits
    assert len(errors) == 1
    run_all(items)
    closed = proceso.cerrar_proceso(items[0]["id_proceso"])
    graded = {x["metrica"]: x for x in closed["metricas"]["metricas"]}
    assert graded["deadlocks"]["valor"] == 1 and graded["deadlocks"]["resultado"] == TOLERATED


@pytest.mark.parametrize("row, expected", [
    ({"deadlocks": 0, "lockescalations": 0, "duracionsegundos": 540, "fondosporhora": 333.3, "locktimeouts": 0},
     MET),
    ({"deadlocks": 1, "lockescalations": 2, "duracionsegundos": 899, "fondosporhora": 200.1, "locktimeouts": 1},
     TOLERATED),
    ({"deadlocks": 2, "lockescalations": 0, "duracionsegundos": 10, "fondosporhora": 9000, "locktimeouts": 0},
     MISSED),
    ({"deadlocks": 0, "lockescalations": 3, "duracionsegundos": 10, "fondosporhora": 9000, "locktimeouts": 0},
     MISSED),
    ({"deadlocks": 0, "lockescalations": 0, "duracionsegundos": 900, "fondosporhora": 9000, "locktimeouts": 0},
     MISSED),
    ({"deadlocks": 0, "lockescalations": 0, "duracionsegundos": 60, "fondosporhora": 200, "locktimeouts": 0},
     MISSED),
    ({"deadlocks": 0, "lockescalations": 0, "duracionsegundos": 60, "fondosporhora": 300, "locktimeouts": 0},
     TOLERATED),
    ({"deadlocks": 0, "lockescalations": 0, "duracionsegundos": 600, "fondosporhora": 301, "locktimeouts": 2},
     MISSED),
])
def test_verdict_follows_the_plans_targets_and_tolerances(row, expected):
    v = veredicto(dict(row, fechacierremedicion="2026-03-13T07:00:00"))
    assert v["veredicto"] == expected


def test_unmeasured_metrics_are_named_and_never_count_as_met():
    v = veredicto({"fechacierremedicion": "x", "deadlocks": 0, "lockescalations": None, "duracionsegundos": 30,
                   "fondosporhora": None, "locktimeouts": None})
    graded = {x["metrica"]: x["resultado"] for x in v["metricas"]}
    assert graded == {"deadlocks": MET, "lockescalations": UNMEASURED, "duracionsegundos": MET,
                      "fondosporhora": UNMEASURED, "locktimeouts": UNMEASURED}
    assert v["veredicto"] == MET and "Lock escalations n/a (not measured" in v["texto"]
    assert veredicto(None)["veredicto"] == UNMEASURED
    assert veredicto({"fechacierremedicion": None, "deadlocks": 0})["texto"].startswith("the proceso is not closed")


def test_the_cli_shows_the_metrics_and_verdict(conn, capsys):
    from fondos import cli

    seed(2, 5)
    items = start("metricas-cli")
    run_all(items)
    proceso.cerrar_proceso(items[0]["id_proceso"])
    assert cli.main(["proceso", "estado", "--id", str(items[0]["id_proceso"])]) == 0
    out = capsys.readouterr().out
    assert "plan metrics: " in out and "Deadlocks 0 (met; target 0, tolerance max 1)" in out


def test_a_failure_to_record_the_metrics_never_fails_the_proceso(conn, caplog):
    """The metrics are about the run, not part of it: without their routine the proceso still starts and
    closes, and the log says what was not recorded."""
    seed(2, 5)
    if conn.dialect == "postgres":
        conn.execute("DROP FUNCTION logs.sp_Registrar_Metricas_Proceso")
    else:
        conn.execute("DROP PROCEDURE logs.sp_Registrar_Metricas_Proceso")
    items = start("metricas-sin-rutina")
    run_all(items)
    closed = proceso.cerrar_proceso(items[0]["id_proceso"])
    assert closed["estado"] == "OK" and closed["metricas"]["veredicto"] == UNMEASURED
    assert "could not record the INICIO metrics of proceso" in caplog.text
    assert "could not record the FIN metrics of proceso" in caplog.text
