"""Error kinds the pipeline tells apart: what to retry and what to fail at once."""

from __future__ import annotations


class FondosError(RuntimeError):
    """Base class: a message a person can act on."""


class InvalidInput(FondosError):
    """Bad input from the operator (date, fund list): nothing was created."""


class DataError(FondosError):
    """The database refused the work for a data reason (missing source data,
    unknown fund, a check failed). Retrying will not help; fix the data, then
    clear the fund's task."""


class TransientDatabaseError(FondosError):
    """Deadlock victim, serialization failure or lost connection, still failing
    after the layer's own retries. Airflow's task retries may get through."""
