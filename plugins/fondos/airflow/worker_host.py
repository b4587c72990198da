"""Airflow's `[core] hostname_callable` for several Celery workers on one machine.

Airflow records on each task instance the hostname its worker reported. Two
workers on the same machine would report the same name; each local worker is
started with FONDOS_WORKER_HOSTNAME (its Celery name) so Airflow's records say
which worker ran which task.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("FONDOS_WORKER_HOSTNAME") or socket.getfqdn()
