"""Fondos' development tools, apart from the runtime package (`fondos`) and never in its wheel:

- `tsql_model`, `tsql_check`, `tsql_flow`, `tsql_twin`: the T-SQL model check, its transaction structure against
  the PostgreSQL twin, and the T-SQL run on PostgreSQL (make lint, the differential tests);
- `local_airflow`, `redis_local`: Airflow's real components on this machine (make run, make airflow, the tests);
- `embedded`: the embedded PostgreSQL (the default database of a checkout);
- `demo`: the demo seeder; `cli`: `python -m fondos_dev` (the `fondos` command plus all of the above).

They may import `fondos`; `fondos` never imports them (tests/test_layers.py).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout: tools/fondos_dev/ -> the repository
