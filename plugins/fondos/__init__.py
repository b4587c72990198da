"""Fondos: the per-fund daily processing of an asset manager, orchestrated by Airflow.

The DAG file `dags/procesos_diarios.py` is three lines (fondos.airflow.dag_procesos builds it); everything it calls lives
in this package, which Airflow finds because `plugins/` is on its path.
"""
