"""noop_procesos: the shape of procesos_diarios with tasks that do nothing.

The yardstick for `make bench`: Airflow's own cost of one run of a DAG with
one task, N mapped groups of the stage catalog's tasks in the same pool, and a final task.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag, get_current_context, task, task_group

from fondos.pipeline.stages import STAGES, stage_order
from fondos.settings import POOL

N = int(os.environ.get("FONDOS_BENCH_FONDOS", "50"))


@dag(dag_id="noop_procesos", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["bench"])
def noop_procesos():
    @task
    def crear_proceso():
        return [10**15 + i for i in range(N)]  # ids, as procesos_diarios' crear_proceso returns

    @task_group(group_id="procesar_fondo")
    def procesar_fondo(ejecucion):
        def stage(name):
            @task(task_id=name.lower(), pool=POOL, map_index_template="{{ fondo | default('') }}")
            def run(ejecucion):
                get_current_context()["fondo"] = str(ejecucion)
                return name

            return run

        tasks = {name: stage(name)(ejecucion) for name in stage_order()}
        for name, s in STAGES.items():
            for upstream in s.upstream:
                tasks[upstream] >> tasks[name]

    @task(trigger_rule="all_done")
    def cerrar_proceso():
        return "ok"

    procesar_fondo.expand(ejecucion=crear_proceso()) >> cerrar_proceso()


noop_procesos()
