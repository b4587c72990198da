"""The DAG `procesos_diarios`, built from the package (`build()`): the DAG file a deployment copies is three
lines, and upgrading the package upgrades the DAG. `build()` runs when the DAG file is parsed: it reads the
settings then (FONDOS_SCHEDULE, FONDOS_APROBADORES, FONDOS_PLAZO, ...) and touches no database."""


from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task_group

from fondos import settings
from fondos.airflow import aviso, dag_tasks, firma_tasks, plazo
from fondos.airflow.timetable import BusinessDayTimetable
from fondos.pipeline.fechas import FECHA_SCHEMA
from fondos.pipeline.stages import STAGES, stage_order

DOC = """
### procesos_diarios

The daily per-fund processing of one report date (FechaReporte).

* `crear_proceso` creates the **proceso** (ID_Proceso) and one **ejecución**
  (ID_Ejecucion) per active fund, keyed by this run's id, so retrying or
  clearing it never creates a second proceso.
* `procesar_fondo` is expanded once per fund: IPA → CAPM, Derivados, UBS → PNL,
  each stage working only on that fund's rows. The grid shows each fund's id
  and short name.
* `controlar_fondos` runs the plausibility checks of every fund that ended OK:
  net assets against the previous business day's approved figures, prices at
  cost or stale, custodian breaks. A fund above a threshold is held (its
  figures are not published), never failed.
* `cerrar_proceso` runs whatever the funds did, recomputes the proceso's
  figures from its funds, records the plan's metrics, logs a per-fund summary
  and the verdict, sends the morning message (once per outcome: held funds and
  where the sign-off stands), and fails the run if any fund failed.
* `firmar_dia` (with `FONDOS_APROBADORES`): the four-eyes sign-off, Airflow's
  approval task, answered by an approver other than the run's requester.
  `publicar_dia` records the decision; an approval publishes the figures the
  checks allow (logs.vw_Cifras_Aprobadas), a rejection nothing.

**Deadline**: FONDOS_PLAZO (07:30) on the report date's next business day; if
the day is not signed off by then, one message says what it waits for.

**Schedule**: 06:00 Mon–Fri in `FONDOS_TIMEZONE` (`FONDOS_SCHEDULE`; `none`
for manual runs only), never on a holiday of `FONDOS_CALENDAR` (default CL,
the `holidays` library); a scheduled run processes the previous business day.
**Manual run**: trigger with `{"fecha": "YYYY-MM-DD"}`; an empty or null fecha
means the business day before the run.
**Retry one fund**: clear that fund's failed task (its map index) with
downstream; only that fund runs again and the proceso's figures follow.
"""


def build():
    """The DAG `procesos_diarios` as the settings of this process ask for it (read now, not at import)."""
    aviso.check_config()  # an unknown FONDOS_AVISO_CANAL is an import error naming the channels, not a 7 a.m. failure

    @dag(
        dag_id=settings.DAG_ID,
        schedule=None if settings.SCHEDULE.lower() in ("", "none")
        else BusinessDayTimetable(settings.SCHEDULE, timezone=settings.TIMEZONE),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["fondos", "sql-server"],
        deadline=plazo.alerta(),  # FONDOS_PLAZO; none: no deadline alert; a malformed value is an import error
        default_args={"owner": "fondos", "retries": 1},
        params={
            "fecha": Param(
                None,
                type=["null", "string"],
                anyOf=FECHA_SCHEMA,
                title="FechaReporte (YYYY-MM-DD)",  # also appears in the refusal of a malformed value
                description="Report date in the form YYYY-MM-DD, e.g. 2026-03-13. "
                            "Empty or null: the business day before the run.",
            ),
        },
        doc_md=DOC,
    )
    def procesos_diarios():
        ejecuciones = dag_tasks.crear_proceso()

        @task_group(group_id=dag_tasks.GROUP_ID)
        def procesar_fondo(ejecucion):
            tasks = {name: dag_tasks.stage_task(name)(ejecucion) for name in stage_order()}
            for name, stage in STAGES.items():
                for upstream in stage.upstream:
                    tasks[upstream] >> tasks[name]

        fondos = procesar_fondo.expand(ejecucion=ejecuciones)
        cierre = dag_tasks.cerrar_proceso()
        # cerrar_proceso waits for the funds too: a fund retried alone (clear only_failed with downstream) does not
        # clear a controlar_fondos that succeeded, and cerrar_proceso checks that fund itself
        fondos >> firma_tasks.controlar_fondos() >> cierre
        fondos >> cierre
        if settings.APROBADORES:  # the four-eyes sign-off; without approvers nothing is ever published
            cierre >> firma_tasks.firmar_dia() >> firma_tasks.publicar_dia()

    return procesos_diarios()
