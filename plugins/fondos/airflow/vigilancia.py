"""The DAG `vigilancia_rollback`: the plan's Escenario 1 watched while a day runs.

Every 10 minutes of the morning (`FONDOS_VIGILANCIA_SCHEDULE`), for every
proceso of procesos_diarios still EN_PROGRESO: are more than 50 % of its funds
failed within its first 2 hours? A trigger that fires is recorded once
(logs.Proceso_Alertas) and its message sent once through the morning message's
channel (fondos.airflow.aviso.enviar_alertas); cerrar_proceso evaluates both
triggers again when the day closes. Created paused: unpause it for the
transition weeks (README: The transition week).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task

from fondos.airflow import aviso
from fondos.pipeline import proceso
from fondos.settings import TIMEZONE, VIGILANCIA_DAG_ID, VIGILANCIA_SCHEDULE

log = logging.getLogger(__name__)


@task(task_id="vigilar", retries=1, retry_delay=timedelta(seconds=30))
def vigilar() -> list[dict]:
    """Evaluate, record and send; return what it found per proceso (for the task's XCom and log)."""
    context = get_current_context()
    found = []
    for p in proceso.vigilar_en_curso():
        for line in p["vigilancia"]:
            log.warning("proceso %s: %s", p["id_proceso"], line)
        for line in aviso.enviar_alertas(p, context):
            log.warning("proceso %s: %s", p["id_proceso"], line)
        found.append({"id_proceso": p["id_proceso"], "alertas": [a["disparador"] for a in p["alertas"]]})
    if not found:
        log.info("no proceso of procesos_diarios is running")
    return found


def build():
    schedule = None if VIGILANCIA_SCHEDULE.strip().lower() == "none" else VIGILANCIA_SCHEDULE

    @dag(dag_id=VIGILANCIA_DAG_ID, schedule=schedule, catchup=False, max_active_runs=1,
         is_paused_upon_creation=True, tags=["fondos"], doc_md=__doc__,
         start_date=datetime(2026, 1, 1, tzinfo=pendulum.timezone(TIMEZONE)))
    def vigilancia_rollback():
        vigilar()

    return vigilancia_rollback()
