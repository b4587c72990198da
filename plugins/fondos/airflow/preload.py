"""Modules a stage task needs, imported once by Airflow's long-lived processes instead of by every task.

Airflow imports `airflow_local_settings` in each of its processes. The local
Airflow (fondos_dev.local_airflow) writes one into `$AIRFLOW_HOME/config/` that
imports this module, so the LocalExecutor's workers (forked from the scheduler)
and Celery's pool processes already hold these modules when they fork a task:
each of 250 task processes per run no longer imports the PostgreSQL hook,
psycopg and this package itself (about 85 ms of CPU each on this machine,
measured with `python -X importtime`; docs/benchmark.md "Performance"). In another
Airflow installation add `import fondos.airflow.preload` to its airflow_local_settings.py.
Nothing here connects to anything or reads configuration.
"""

from __future__ import annotations

import contextlib

with contextlib.suppress(ImportError):  # the fund database on PostgreSQL (the `postgres` extra)
    import psycopg  # noqa: F401
    from airflow.providers.postgres.hooks.postgres import PostgresHook  # noqa: F401

from fondos.db import calls, connection  # noqa: F401
from fondos.pipeline import metas, metrics, proceso, report, stages  # noqa: F401
