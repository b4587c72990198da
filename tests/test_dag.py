"""The DAG procesos_diarios: structure (DagBag), date resolution, and real runs with dag.test()."""

from __future__ import annotations

import ast
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import fresh_dag
from fondos.errors import InvalidInput
from fondos.pipeline.fechas import parse_fecha, previous_business_day
from fondos.pipeline.stages import STAGES, stage_order
from fondos.settings import POOL

ROOT = Path(__file__).resolve().parents[1]


# --- structure ---------------------------------------------------------------

@pytest.fixture(scope="module")
def dag():
    return fresh_dag()


def test_dag_file_is_thin_and_imports_no_driver():
    tree = ast.parse((ROOT / "dags" / "procesos_diarios.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.split(".")[0] in {"psycopg", "pyodbc", "pymssql", "sqlalchemy"}}
    assert all(m.startswith(("airflow.sdk", "fondos", "__future__", "datetime")) for m in imported), imported
    # a factory call: what a deployment copies is the import and one line (fondos.airflow.dag_procesos builds it)
    code = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    assert len(code) == 2 and imported == {"fondos.airflow.dag_procesos"}, ast.dump(tree)[:300]


def test_dag_metadata(dag):
    assert dag.dag_id == "procesos_diarios"
    assert {"fondos"} <= set(dag.tags)
    assert dag.owner == "fondos"
    assert dag.max_active_runs == 1 and not dag.catchup
    assert "fecha" in dag.params
    assert dag.doc_md and "cerrar_proceso" in dag.doc_md


def test_group_structure_follows_the_stage_catalog(dag):
    ids = {t.task_id for t in dag.tasks}
    # no FONDOS_APROBADORES in the test environment: no sign-off tasks (tests/test_firma_dag.py has them)
    assert ids == {"crear_proceso", "controlar_fondos", "cerrar_proceso"} | {f"procesar_fondo.{s.lower()}" for s in STAGES}
    for name, stage in STAGES.items():
        t = dag.get_task(f"procesar_fondo.{name.lower()}")
        assert {u.split(".")[-1] for u in t.upstream_task_ids} - {"crear_proceso"} == {u.lower() for u in stage.upstream}
        assert t.pool == POOL
        # what the README promises: 2 retries with exponential backoff from 30 s, a 30-minute timeout
        assert (t.retries, t.retry_exponential_backoff, t.retry_delay) == (2, True, timedelta(seconds=30))
        assert t.execution_timeout == timedelta(minutes=30)
        assert t.map_index_template == "{{ fondo | default('') }}"
        assert t.on_failure_callback
    controlar = dag.get_task("controlar_fondos")
    assert controlar.trigger_rule == "all_done"
    assert {"procesar_fondo.pnl", "procesar_fondo.ubs"} <= controlar.upstream_task_ids
    cerrar = dag.get_task("cerrar_proceso")
    assert cerrar.trigger_rule == "all_done" and "controlar_fondos" in cerrar.upstream_task_ids
    assert {"procesar_fondo.pnl", "procesar_fondo.ubs"} <= cerrar.upstream_task_ids  # waits for a fund retried alone
    assert stage_order()[0] == "IPA"


def test_schedule_is_06_00_on_chilean_business_days_in_santiago(dag):
    """The default schedule (the test environment sets no FONDOS_SCHEDULE): 06:00 Monday-Friday, Santiago,
    skipping Chile's holidays (the business-day timetable the plugin registers; tests/test_calendar.py)."""
    from fondos.airflow.timetable import BusinessDayTimetable

    assert "FONDOS_SCHEDULE" not in os.environ and "FONDOS_CALENDAR" not in os.environ
    assert isinstance(dag.timetable, BusinessDayTimetable)
    assert dag.timetable.summary == "0 6 * * 1-5 (CL business days)" and dag.timetable.calendar_code == "CL"
    assert str(dag.timetable._timezone) in ("America/Santiago", "Timezone('America/Santiago')")


# --- dates ---------------------------------------------------------------------

@pytest.mark.parametrize("value, message", [
    ("15/03/2026", "not a date in the form YYYY-MM-DD"),
    ("2026-02-30", "does not exist in the calendar"),
    ("2999-01-01", "is in the future"),
    ("", "not a date in the form"),
])
def test_bad_fecha_is_refused_with_what_was_wrong(value, message):
    with pytest.raises(InvalidInput, match=message):
        parse_fecha(value)


def test_previous_business_day():
    assert previous_business_day(date(2026, 5, 4)) == date(2026, 4, 30)  # Monday after 1 May (a Friday holiday)
    assert previous_business_day(date(2026, 3, 16)) == date(2026, 3, 13)  # Monday -> Friday
    assert previous_business_day(date(2026, 3, 15)) == date(2026, 3, 13)  # Sunday -> Friday
    assert previous_business_day(date(2026, 3, 13)) == date(2026, 3, 12)


def test_fecha_resolution_for_scheduled_and_manual_runs():
    from fondos.airflow.dag_tasks import resolve_fecha

    # scheduled Monday 06:00 Santiago (09:00 UTC): the previous business day, Friday
    run = SimpleNamespace(run_after=datetime(2026, 3, 16, 9, 0, tzinfo=UTC))
    assert resolve_fecha({"params": {"fecha": None}, "dag_run": run}) == date(2026, 3, 13)
    # the day is Santiago's, not UTC's: Tuesday 01:30 UTC is still Monday 22:30 in Santiago -> Friday
    late = SimpleNamespace(run_after=datetime(2026, 3, 17, 1, 30, tzinfo=UTC))
    assert resolve_fecha({"params": {"fecha": ""}, "dag_run": late}) == date(2026, 3, 13)
    # a manual run without a logical date but with a fecha
    assert resolve_fecha({"params": {"fecha": "2026-03-10"}, "dag_run": run}) == date(2026, 3, 10)
    with pytest.raises(InvalidInput):
        resolve_fecha({"params": {"fecha": (date.today() + timedelta(days=3)).isoformat()}, "dag_run": run})


# --- real runs -------------------------------------------------------------------

def _ti_states(dr):
    return {(ti.task_id, ti.map_index): ti.state for ti in dr.get_task_instances()}


def test_dag_run_with_one_failing_fund(fund_db):
    from pipeline_helpers import ALL_ROW_TABLES, count, seed

    seed(3, 20)
    fund_db.execute("DELETE FROM source.Geneva_Posiciones WHERE Portfolio = %s", ("LAFID002",))

    dr = fresh_dag().test(run_conf={"fecha": "2026-03-13"})

    assert dr.state == "failed"  # the run's colour tells the truth
    states = _ti_states(dr)
    assert states[("procesar_fondo.ipa", 0)] == "success"
    assert states[("procesar_fondo.ipa", 1)] == "failed"
    tries = {(ti.task_id, ti.map_index): ti.try_number for ti in dr.get_task_instances()}
    assert tries[("procesar_fondo.ipa", 1)] == 1  # a data error fails at once: no retry spent on it
    assert states[("procesar_fondo.pnl", 1)] == "upstream_failed"
    assert states[("procesar_fondo.pnl", 2)] == "success"
    assert states[("cerrar_proceso", -1)] == "failed"
    labels = {ti.map_index: ti.rendered_map_index for ti in dr.get_task_instances() if ti.task_id == "procesar_fondo.ipa"}
    assert labels[1].startswith("102 FI ")

    p = fund_db.execute("SELECT * FROM logs.vw_Procesos")[0]
    assert (p["estado"], p["totalfondos"], p["fondosexitosos"], p["fondosfallidos"]) == ("ERROR", 3, 2, 1)
    assert p["claveejecucion"] == f"procesos_diarios/{dr.run_id}"
    failed = fund_db.execute("SELECT ID_Ejecucion FROM logs.Ejecuciones WHERE ID_Fund = 102")[0]["id_ejecucion"]
    for table in ALL_ROW_TABLES:
        assert count(fund_db, f"SELECT COUNT(*) FROM {table} WHERE ID_Ejecucion = %s", (failed,)) == 0, table
    assert count(fund_db, "SELECT COUNT(*) FROM staging.IPA_Final f JOIN logs.Ejecuciones e "
                          "ON e.ID_Ejecucion = f.ID_Ejecucion WHERE e.ID_Fund IN (101, 103)") > 40
    err = fund_db.execute("SELECT Mensaje FROM logs.vw_Ejecucion_Etapas WHERE ID_Fund = 102 AND Etapa = 'IPA'")[0]
    assert "source.Geneva_Posiciones" in err["mensaje"] and "LAFID002" in err["mensaje"]

    # the run's final error names the failed fund, its stage and the reason, and what to do
    from fondos.airflow.dag_tasks import failure_message
    from fondos.pipeline.proceso import resumen_fondos

    message = failure_message(dict(p, fondos=resumen_fondos(fund_db, p["id_proceso"])))
    assert message.startswith(f"proceso {p['id_proceso']} for 2026-03-13: 1 of 3 funds failed. fund 102 (")
    assert f"IPA: {err['mensaje']}" in message and "clear the failed fund's task" in message
    assert "fund 101" not in message and "fund 103" not in message


def test_future_fecha_fails_the_first_task_and_creates_nothing(fund_db):
    from pipeline_helpers import count, seed

    seed(2, 5)
    future = (date.today() + timedelta(days=2)).isoformat()
    dr = fresh_dag().test(run_conf={"fecha": future})
    assert dr.state == "failed"
    assert _ti_states(dr)[("crear_proceso", -1)] == "failed"
    assert count(fund_db, "SELECT COUNT(*) FROM logs.Procesos") == 0


def test_malformed_fecha_is_rejected_by_the_param_schema(fund_db):
    from airflow.sdk.definitions.param import ParamValidationError

    from pipeline_helpers import count

    with pytest.raises(ParamValidationError) as err:
        fresh_dag().test(run_conf={"fecha": "15/03/2026"})
    assert "'15/03/2026' is not valid under any of the given schemas" in str(err.value)
    assert "FechaReporte (YYYY-MM-DD)" in str(err.value)
    assert count(fund_db, "SELECT COUNT(*) FROM logs.Procesos") == 0


def test_empty_fecha_runs_the_business_day_before_the_run(fund_db):
    import pendulum

    from fondos.settings import TIMEZONE
    from pipeline_helpers import seed

    expected = previous_business_day(pendulum.now(TIMEZONE).date())
    seed(4, 5, fecha=expected)
    dr = fresh_dag().test(run_conf={"fecha": ""})
    assert dr.state == "success"
    p = fund_db.execute("SELECT FechaReporte, Estado, TotalFondos FROM logs.vw_Procesos")
    assert [(r["fechareporte"], r["estado"], r["totalfondos"]) for r in p] == [(expected, "OK", 4)]
    # fund 104 has no derivatives: OMITIDO, and PNL (downstream of it) still ran, in Airflow and in the database
    assert _ti_states(dr)[("procesar_fondo.pnl", 3)] == "success"
    stages = {r["etapa"]: r["estado"] for r in fund_db.execute(
        "SELECT Etapa, Estado FROM logs.vw_Ejecucion_Etapas WHERE ID_Fund = 104")}
    assert (stages["Derivados"], stages["PNL"]) == ("OMITIDO", "OK")


def test_a_date_without_source_data_creates_nothing(fund_db):
    from pipeline_helpers import count, seed

    seed(2, 5)  # 2026-03-13 has data; 2026-03-12's feeds were never loaded
    dr = fresh_dag().test(run_conf={"fecha": "2026-03-11"})
    assert dr.state == "failed"
    assert _ti_states(dr)[("crear_proceso", -1)] == "failed"
    assert count(fund_db, "SELECT COUNT(*) FROM logs.Procesos") == 0


def test_failure_callback_records_error_when_airflow_times_the_stage_out(fund_db):
    """Through Airflow: fund 102's IPA waits on its stage lock (held here) until a real execution timeout
    (6 s, FONDOS_STAGE_TIMEOUT_S) fails its 3 tries; the task's own code never gets to record
    anything (AirflowTaskTimeout is a BaseException), so the failure callback must."""
    import subprocess
    import sys

    from fondos.db.connection import open_database
    from pipeline_helpers import seed

    seed(2, 5)
    fund_102 = 10**15 + 2  # a fresh database: proceso 10^15, then one ejecución per fund in ID_Fund order
    holder = open_database()
    holder.execute("SELECT logs.sp_Bloquear_Ejecucion(%s, %s)", (fund_102, "IPA"))
    script = ("from airflow.dag_processing.dagbag import DagBag\n"
              f"dag = DagBag({str(ROOT / 'dags')!r}).dags['procesos_diarios']\n"
              "print('RUN', dag.test(run_conf={'fecha': '2026-03-13'}).state)\n")
    env = dict(os.environ, FONDOS_STAGE_TIMEOUT_S="6", FONDOS_RETRY_DELAY_S="1")
    try:
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    finally:
        holder.rollback()
        holder.close()
    assert "RUN failed" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {r["id_fund"]: r for r in fund_db.execute(
        "SELECT ID_Fund, Estado, Mensaje, Intentos FROM logs.vw_Ejecucion_Etapas WHERE Etapa = 'IPA'")}
    assert rows[101]["estado"] == "OK"
    assert (rows[102]["estado"], rows[102]["intentos"]) == ("ERROR", 3), rows[102]  # 3 tries, each timed out
    assert rows[102]["mensaje"].startswith("IPA task failed (") and "imeout" in rows[102]["mensaje"], rows[102]
    assert "clear this fund's ipa task" in rows[102]["mensaje"]
    # while Airflow waited to retry, the retry callback said REINTENTANDO; its note travelled with the stage
    assert "IPA try 2 failed (" in rows[102]["mensaje"] and "Airflow retries it" in rows[102]["mensaje"]


def database_autocommit():
    from fondos.db.connection import database

    return database(autocommit=True)


def test_a_day_with_more_funds_than_airflow_maps_is_refused_before_anything_is_created(fund_db, monkeypatch):
    """Airflow maps at most [core] max_map_length items: a day above it would fail at the expansion, after the
    proceso exists. crear_proceso refuses it first, naming the setting and the number it needs."""
    from pipeline_helpers import count, seed

    seed(3, 5)
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "2")
    dr = fresh_dag().test(run_conf={"fecha": "2026-03-13"})
    assert dr.state == "failed"
    [ti] = [ti for ti in dr.get_task_instances() if ti.task_id == "crear_proceso"]
    assert ti.state == "failed" and ti.try_number == 1  # refused, not retried
    assert count(fund_db, "SELECT COUNT(*) FROM logs.Procesos") == 0
    from airflow.exceptions import AirflowFailException

    from fondos.airflow import dag_tasks

    with pytest.raises(AirflowFailException, match=r"3 active funds to process, one mapped task group each, and "
                                                     r"Airflow's \[core\] max_map_length is 2. Set "
                                                     r"AIRFLOW__CORE__MAX_MAP_LENGTH to at least 3"):
        dag_tasks._refuse_beyond_map_limit()
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "3")
    assert fresh_dag().test(run_conf={"fecha": "2026-03-13"}).state == "success"


def test_the_projects_airflow_maps_five_thousand_funds():
    """The project's own Airflow (make run, make airflow, the image, the compose stack) raises the limit."""
    from fondos.settings import MAX_MAP_LENGTH
    from fondos_dev.local_airflow import LocalAirflow

    assert MAX_MAP_LENGTH >= 5000
    af = LocalAirflow(Path("/nonexistent-home"), "{}", metadata=None)
    assert af.env["AIRFLOW__CORE__MAX_MAP_LENGTH"] == str(MAX_MAP_LENGTH)
    assert "AIRFLOW__CORE__MAX_MAP_LENGTH=5000" in (ROOT / "docker" / "Dockerfile").read_text()
    assert 'AIRFLOW__CORE__MAX_MAP_LENGTH: "5000"' in (ROOT / "docker-compose.yaml").read_text()
