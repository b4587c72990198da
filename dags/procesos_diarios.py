"""procesos_diarios: the daily per-fund processing, built by the fondos package (fondos.airflow.dag_procesos;
its documentation is the DAG's doc in the UI)."""

from fondos.airflow.dag_procesos import build

dag = build()
