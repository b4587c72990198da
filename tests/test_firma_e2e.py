"""The day signed off, end to end with Airflow's real components (issue 21): API server, scheduler, DAG processor
and triggerer, named users of the simple auth manager, the fund database and an SMTP sink.

1. Day 1 (three funds, nothing to compare with), triggered by `admin`: the approval asks `aprobador` only (admin,
   the requester, is listed in FONDOS_APROBADORES and still left out); admin's own answer is refused by Airflow;
   `aprobador` approves through the REST API; every fund is published; the run ends before its deadline, which
   Airflow removes: no deadline message.
2. Day 2, fund 101's holdings tripled: held. The run is triggered with an early `run_after`, so its deadline
   (FONDOS_PLAZO_SEGUNDOS after it) passes while the approval waits: exactly one deadline message, naming the
   held fund and the approval. Then `aprobador` approves: logs.vw_Cifras_Aprobadas shows the two other
   funds and not the held one.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from e2e_helpers import alive
from fondos.db.connection import database, open_database
from fondos.db.migrate import migrate
from fondos.pipeline import firma
from fondos_dev.local_airflow import LocalAirflow
from pipeline_helpers import seed

# xdist groups (make test): at most two Airflow stacks at once, this one after the board test on one worker
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("airflow-a")]

D1, D2 = date(2026, 3, 12), date(2026, 3, 13)
PLAZO_S = 600  # a run's deadline: this long after its run_after
LATE_AFTER_S = 40  # day 2's deadline passes this long after its trigger: its checks ran ~10-20 s in (2x margin)
DAG = "procesos_diarios"


def _triple(fund: int, fecha: date) -> None:
    with database(autocommit=True) as db:
        g = db.execute("SELECT Portfolio_Geneva, Portfolio_UBS FROM config.Fondos WHERE ID_Fund = %s", (fund,))[0]
        db.execute("UPDATE source.Geneva_Posiciones SET Cantidad = Cantidad * 3, CostoLocal = CostoLocal * 3 "
                   "WHERE Portfolio = %s AND FechaReporte = %s", (g["portfolio_geneva"], fecha))
        db.execute("UPDATE source.UBS_Custodia SET Cantidad = Cantidad * 3 WHERE Cuenta = %s AND FechaReporte = %s",
                   (g["portfolio_ubs"], fecha))
        # the demo draws each day's holdings afresh (up to ~15 % apart): the operator's threshold for it
        db.execute("UPDATE config.Controles SET Umbral = 50 WHERE Control = 'PATRIMONIO'")


def _awaiting(af, run_id: str) -> dict:
    from urllib.parse import quote

    af.await_input(DAG, run_id, "firmar_dia")
    status, detail = af.api("GET", f"/dags/{DAG}/dagRuns/{quote(run_id, safe='')}/taskInstances/firmar_dia/-1/hitlDetails")
    assert status == 200, detail
    return detail


def _deadlines(metadata_url: str, run_id: str) -> list[tuple]:
    url = metadata_url.replace("postgresql+psycopg://", "postgresql://").replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(url) as c:
        return c.execute("SELECT d.missed FROM deadline AS d JOIN dag_run AS r ON r.id = d.dagrun_id "
                         "WHERE r.run_id = %s", (run_id,)).fetchall()


def _late(smtp) -> list:
    return [m for m in smtp.messages if m["Subject"].startswith("[Fondos] LATE")]


def test_held_fund_four_eyes_approval_through_the_api_publication_and_the_deadline(
        fresh_pg_db, airflow_pg_metadata, tmp_path, smtp):
    db = open_database()
    migrate(db)
    db.close()
    seed(3, 200, D1)
    seed(3, 200, D2)
    _triple(101, D2)
    af = LocalAirflow(tmp_path / "airflow", os.environ["AIRFLOW_CONN_FONDOS_DB"], parallelism=4,
                      metadata=airflow_pg_metadata, all_admins=False, triggerer=True,
                      users={"admin": "admin", "aprobador": "user"},
                      extra={"FONDOS_APROBADORES": "admin,aprobador", "FONDOS_PLAZO_SEGUNDOS": str(PLAZO_S)})
    af.home.mkdir()
    af.start()
    try:
        af.ready(DAG)

        # --- day 1: approved in time by the second user ---
        status, body = af.trigger_as(DAG, {"fecha": D1.isoformat()}, "admin")
        assert status == 200, body
        run1 = body["dag_run_id"]
        detail = _awaiting(af, run1)
        assert _deadlines(airflow_pg_metadata, run1) == [(False,)]  # created with the run, not passed
        assert [u["id"] for u in detail["assigned_users"]] == ["aprobador"]  # the requester is not asked
        assert "3 funds: 3 OK, 0 held" in detail["body"] and "/fondos/board/?fecha=2026-03-12" in detail["body"]
        status, refused = af.responder(DAG, run1, "firmar_dia", "Approve", user="admin")
        assert status == 403 and "not a respondent" in str(refused), refused
        status, answer = af.responder(DAG, run1, "firmar_dia", "Approve", user="aprobador",
                                      params={"comentario": "checked against the custodian's statement"})
        assert status == 200, answer
        assert af.wait_run(DAG, run1, 300) == "success"
        assert _deadlines(airflow_pg_metadata, run1) == []  # ended before its deadline: Airflow removed it
        with database() as conn:
            day1 = firma.cifras_aprobadas(conn, D1)
        assert [r["id_fund"] for r in day1] == [101, 102, 103]
        assert {r["aprobador"] for r in day1} == {"aprobador"}
        with database() as conn:
            (decision,) = firma.firmas(conn, day1[0]["id_proceso"])
        assert (decision["decision"], decision["usuario"], decision["solicitante"], decision["comentario"]) == \
            ("APROBADO", "aprobador", "admin", "checked against the custodian's statement")

        # --- day 2: fund 101 held; late; then approved ---
        run_after = (datetime.now(UTC) - timedelta(seconds=PLAZO_S - LATE_AFTER_S)).isoformat()
        status, body = af.trigger_as(DAG, {"fecha": D2.isoformat()}, "admin", run_after=run_after)
        assert status == 200, body
        run2 = body["dag_run_id"]
        detail = _awaiting(af, run2)
        assert "3 funds: 3 OK, 1 held" in detail["body"], detail["body"]
        assert "fund 101" in detail["body"] and "net assets moved" in detail["body"]
        af.wait_for("the deadline's message", lambda: _late(smtp), LATE_AFTER_S + 120)
        (late,) = _late(smtp)
        text = late.get_body(("plain", "html")).get_content()
        assert late["Subject"] == "[Fondos] LATE 2026-03-13: not signed off by " + late["Subject"].split(" by ", 1)[1]
        assert "held fund 101" in text and "net assets moved" in text, text
        assert "the approval of aprobador (task firmar_dia)" in text, text
        assert _deadlines(airflow_pg_metadata, run2) == [(True,)]
        status, answer = af.responder(DAG, run2, "firmar_dia", "Approve", user="aprobador")
        assert status == 200, answer
        assert af.wait_run(DAG, run2, 300) == "success"
        with database() as conn:
            day2 = firma.cifras_aprobadas(conn, D2)
            held = conn.execute("SELECT Verificacion FROM logs.vw_Ejecucion_Verificacion WHERE ID_Fund = 101 "
                                "AND FechaReporte = %s", (D2,))[0]["verificacion"]
        assert [r["id_fund"] for r in day2] == [102, 103] and held == "RETENIDO"
        assert all(r["patrimoniobase"] > Decimal(0) for r in day2)
        assert len(_late(smtp)) == 1  # one deadline message in all: day 1 none, day 2 once
        subjects = [m["Subject"] for m in smtp.messages]
        assert any(s.startswith("[Fondos] 2026-03-12 OK: 3 OK, 0 failed of 3 · approved by aprobador")
                   for s in subjects), subjects
        assert any(s.startswith("[Fondos] 2026-03-13 OK: 3 OK, 0 failed of 3 · 1 held · awaiting sign-off")
                   for s in subjects), subjects
    except (TimeoutError, RuntimeError, AssertionError):
        print(af.logs())
        for f in sorted((af.home / "logs").rglob("task_id=firmar_dia/*.log")):  # the approval's own log, whole
            print(f"===== {f} =====\n" + f.read_text()[-20000:])
        print("\n".join(line for line in (af.home / "scheduler.out").read_text().splitlines() if "firmar_dia" in line
                        or "rror" in line)[-20000:])
        raise
    finally:
        af.stop()
    assert alive(af) == [], "Airflow processes outlived stop()"
