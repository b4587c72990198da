"""The tasks of the DAG `procesos_diarios`; the DAG file only wires them.

Nothing here touches the database at import time: the scheduler parses the
DAG file often, and only task execution opens connections.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from fondos.airflow import aviso
from fondos.errors import DataError, InvalidInput
from fondos.pipeline import proceso
from fondos.pipeline.fechas import parse_fecha, previous_business_day
from fondos.pipeline.stages import GROUP_ID  # noqa: F401  (the DAG file reads dag_tasks.GROUP_ID)
from fondos.settings import CALENDAR, MAX_MAP_LENGTH, POOL, RETRY_DELAY_S, STAGE_TIMEOUT_S, TIMEZONE

log = logging.getLogger(__name__)

STAGE_RETRIES = 2


def run_key(context: dict[str, Any]) -> str:
    """The proceso's run key: the same for every try and every clear of this DAG run."""
    return f"{context['dag'].dag_id}/{context['run_id']}"


def resolve_fecha(context: dict[str, Any]):
    """The report date: the `fecha` param of a manual run, else the business day before the run (in the
    calendar of the DAG's timetable).

    Manual and REST runs may have no logical date in Airflow 3, so the run's
    `run_after` (always set) in the DAG's timezone is the reference.
    """
    import pendulum

    value = (context.get("params") or {}).get("fecha")
    if value not in (None, ""):
        return parse_fecha(value)
    run_after = context["dag_run"].run_after
    return previous_business_day(pendulum.instance(run_after).in_timezone(TIMEZONE).date(), calendar_code(context))


def calendar_code(context: dict[str, Any]) -> str:
    """The calendar the DAG's timetable was built with (the scheduler's), not this worker's environment."""
    return getattr(getattr(context.get("dag"), "timetable", None), "calendar_code", None) or CALENDAR


@task(task_id="crear_proceso", retries=2, retry_delay=timedelta(seconds=20))
def crear_proceso() -> list[int]:
    """Create (or, on a retry or clear, find again) the proceso of this run; one ID_Ejecucion per fund.

    Only the ids go to XCom: every mapped task pulls this whole list (Airflow resolves an unmapped
    upstream's XCom whole, then picks its index), so its size is paid once per task; each task reads
    the rest of its fund from logs.vw_Ejecucion_Fondos itself."""
    context = get_current_context()
    _refuse_beyond_map_limit()
    try:
        fecha = resolve_fecha(context)
        usuario = getattr(context["dag_run"], "triggering_user_name", None) or "scheduler"
        items = proceso.inicializar_proceso(fecha, usuario, run_key(context))
    except InvalidInput as exc:
        raise AirflowFailException(f"crear_proceso refused the run, and nothing was created: {exc}") from exc
    log.info("proceso %s for %s: %d funds", items[0]["id_proceso"], fecha, len(items))
    return [int(it["id_ejecucion"]) for it in items]


def _refuse_beyond_map_limit() -> None:
    """Airflow would fail the expansion of procesar_fondo after the proceso exists; refuse before creating it."""
    from airflow.configuration import conf

    limite = conf.getint("core", "max_map_length")
    n = proceso.fondos_a_mapear()
    if n > limite:
        raise AirflowFailException(
            f"crear_proceso refused the run, and nothing was created: {n} active funds to process, one mapped task "
            f"group each, and Airflow's [core] max_map_length is {limite}. Set AIRFLOW__CORE__MAX_MAP_LENGTH to at "
            f"least {n} on the scheduler, the API server and the workers (the project sets {MAX_MAP_LENGTH}), "
            "then trigger again")


def _record(context: dict[str, Any], etapa: str, estado: str, mensaje: str) -> None:
    """Record a stage failure from a callback; a callback must never hide the original failure."""
    ti = context["ti"]
    try:
        proceso.registrar_error_por_indice(run_key(context), ti.map_index, etapa, mensaje, estado=estado)
    except Exception:
        log.exception("could not record %s for %s, map index %s", estado, etapa, ti.map_index)


def _stage_failure_callback(etapa: str):
    def callback(context: dict[str, Any]) -> None:
        reason = context.get("exception") or "the task was killed or timed out"
        _record(context, etapa, "ERROR",
                f"{etapa} task failed ({reason}); clear this fund's {etapa.lower()} task to run it again")

    return callback


def _stage_retry_callback(etapa: str):
    """A failure the task's own code could not record (a timeout is a BaseException): say REINTENTANDO."""
    def callback(context: dict[str, Any]) -> None:
        # No exception: the task process died without reporting (Airflow runs this callback for it anyway).
        reason = context.get("exception") or "the task process died without reporting: SIGKILL, OOM kill or a lost worker"
        _record(context, etapa, "REINTENTANDO",
                f"{etapa} try {context['ti'].try_number} failed ({reason}); Airflow retries it")

    return callback


def stage_task(etapa: str):
    """A mapped-ready task running one stage of one fund."""

    @task(
        task_id=etapa.lower(),
        pool=POOL,
        retries=STAGE_RETRIES,
        retry_delay=timedelta(seconds=RETRY_DELAY_S),
        retry_exponential_backoff=True,
        execution_timeout=timedelta(seconds=STAGE_TIMEOUT_S),
        map_index_template="{{ fondo | default('') }}",
        on_failure_callback=_stage_failure_callback(etapa),
        on_retry_callback=_stage_retry_callback(etapa),
    )
    def run_stage(ejecucion: int) -> dict[str, Any]:
        """`ejecucion`: this fund's ID_Ejecucion, all the task receives; the rest it reads itself."""
        context = get_current_context()
        ti = context["ti"]
        reintento = (f"Airflow retries it (this was try {ti.try_number} of {ti.max_tries + 1})"
                     if ti.try_number <= ti.max_tries else None)
        try:
            item = proceso.item_de_ejecucion(int(ejecucion))
            context["fondo"] = f"{item['id_fund']} {item['fundshortname']}"
            return proceso.ejecutar_etapa(item, etapa, reintento=reintento)
        except DataError as exc:  # retrying cannot fix data: fail now, say what to do
            raise AirflowFailException(str(exc)) from exc

    return run_stage


def failure_message(p: dict[str, Any]) -> str:
    """What failed, for the run's final error: every failed fund, each failed stage and its reason."""
    failed = [f"fund {f['id_fund']} ({f['fundshortname']}): "
              + "; ".join(f"{s}: {e['mensaje'] or 'failed'}" for s, e in f["etapas"].items() if e["estado"] == "ERROR")
              for f in p["fondos"] if f["estado"] != "OK"]
    return (f"proceso {p['id_proceso']} for {p['fechareporte']}: {p['fondosfallidos']} of {p['totalfondos']} funds "
            "failed. " + " | ".join(failed)
            + " | Fix the cause, then clear the failed fund's task (with downstream) to retry it.")


def airflow_stage_states(context: dict[str, Any]) -> dict[tuple[str, int], str]:
    """Airflow's own state of every mapped stage task of this run: (stage, map index) -> state.

    Read through the Task SDK (the execution API), so the database can be told
    what Airflow knows and the task never could: that it was killed.
    """
    from fondos.pipeline.stages import STAGES

    by_task = {f"{GROUP_ID}.{name.lower()}": name for name in STAGES}
    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, task_ids=list(by_task), run_ids=[context["run_id"]])
    out: dict[tuple[str, int], str] = {}
    for key, state in (states.get(context["run_id"]) or {}).items():
        task_id, _, index = key.rpartition("_")
        if task_id in by_task and index.isdigit():
            out[(by_task[task_id], int(index))] = state
    return out


def _controlar_pendientes(context: dict[str, Any], id_proceso: int) -> None:
    """The checks of any fund that ran after controlar_fondos (a fund retried alone): only those whose checks are
    not current run. A failure here never stops the close: the fund stays unchecked, which the sign-off refuses."""
    from fondos.pipeline import firma

    try:
        firma.controlar(id_proceso, calendar_code(context))
    except Exception as exc:  # a database error after the call's retries
        log.error("the checks of proceso %s could not run (%s): its unchecked funds are not signed off until "
                  "they do; clear controlar_fondos to run them", id_proceso, exc)


@task(task_id="cerrar_proceso", trigger_rule="all_done", retries=2, retry_delay=timedelta(seconds=20))
def cerrar_proceso() -> dict[str, Any]:
    """Recompute and close the proceso, log a per-fund summary, and fail the run if a fund failed."""
    from fondos.pipeline.report import format_proceso

    context = get_current_context()
    id_proceso = proceso.proceso_de_clave(run_key(context))
    if id_proceso is None:
        raise AirflowFailException("no proceso was created for this run (crear_proceso failed: see its log)")
    _controlar_pendientes(context, id_proceso)
    p = proceso.cerrar_proceso(id_proceso, airflow=airflow_stage_states(context))
    log.info("summary\n%s", format_proceso(p))
    log.info("plan metrics of proceso %s: %s", id_proceso, p["metricas"]["texto"])
    try:  # the morning message, once per outcome; a failed send fails this try and Airflow retries it
        log.info("morning message: %s", aviso.enviar(p, context, run=run_key(context)))
    except Exception as exc:
        raise RuntimeError(f"proceso {id_proceso} closed as {p['estado']}, but the morning message could not be "
                           f"sent ({exc}); Airflow retries this task, or clear cerrar_proceso to send it") from exc
    for line in p.get("vigilancia") or []:
        log.info("rollback triggers: %s", line)
    try:  # a rollback trigger's message, once; the same retry if it cannot be sent
        for line in aviso.enviar_alertas(p, context):
            log.warning("%s", line)
    except Exception as exc:
        raise RuntimeError(f"proceso {id_proceso}: a rollback trigger fired but its message could not be sent "
                           f"({exc}); Airflow retries this task, or clear cerrar_proceso to send it") from exc
    if p["estado"] != "OK":
        raise AirflowFailException(failure_message(p))
    return {"id_proceso": id_proceso, "estado": p["estado"], "fondos": p["totalfondos"],
            "veredicto": p["metricas"]["veredicto"]}
