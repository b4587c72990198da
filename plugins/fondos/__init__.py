"""Fondos: the per-fund daily processing of an asset manager, orchestrated by Airflow.

The DAG in `dags/procesos_diarios.py` only wires tasks; everything it calls lives
in this package, which Airflow finds because `plugins/` is on its path.
"""
