"""The T-SQL computes what the executed twin computes (issue 18).

Every step procedure of sql/mssql runs on the embedded PostgreSQL (`fondos_dev.tsql_twin`: the T-SQL's own
statements, translated by sqlglot) on the oracle's funds (the fund worked out on paper, every demo fund
shape, random funds made per run), and every row it writes, every column, and its result are compared
with the PostgreSQL twin's (`twin_diff`), which tests/test_oracle.py proves against the oracle.

The check is general: it knows no formula. To show it is not satisfied by construction, the mutations of
`make mutate` (tests/mutations.py) are applied to copies of the T-SQL files and each must be caught,
naming the file and the column.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from datetime import date
from pathlib import Path

import pytest
from oracle_funds import RATES, feed, paper_fund, random_fund
from twin_diff import ROOT, compare_all, steps, tsql_path

from fondos.db.connection import open_database
from fondos_dev.tsql_twin import load
from pipeline_helpers import run_all, seed, start

PAPER_FECHA = date(2026, 1, 15)
RANDOM_FECHA = date(2026, 1, 22)
RUN_SEED = int(os.environ.get("FONDOS_ORACLE_SEED", time.time_ns() % 10**9))


@pytest.fixture(scope="module")
def day(pg_backend, pg_migrated_template):
    """One database where the whole day ran for the oracle's funds: (database, ejecución items)."""
    with pytest.MonkeyPatch.context() as mp:
        dbname, env_value = pg_backend.create(template=pg_migrated_template)
        mp.setenv("AIRFLOW_CONN_FONDOS_DB", env_value)
        db = open_database()
        try:
            seed(14, 40)  # every demo fund shape
            items = start("twin-demo")
            c = open_database(autocommit=True)
            paper_fund(c, PAPER_FECHA)
            rng = random.Random(RUN_SEED)
            feed(c, "source.TiposCambio", "FechaReporte, Moneda, TipoCambio", [(RANDOM_FECHA, k, v) for k, v in RATES.items()])
            for fund in range(961, 967):
                random_fund(c, rng, fund, RANDOM_FECHA)
            c.close()
            items += start("twin-paper", PAPER_FECHA, [951]) + start("twin-random", RANDOM_FECHA, list(range(961, 967)))
            results = run_all(items)
            assert all(s in ("OK", "OMITIDO") for r in results.values() for s in r.values()), results
            yield db, items
        finally:
            db.close()
            pg_backend.drop(dbname)


def test_every_tsql_step_computes_what_the_twin_computes(day):
    db, items = day
    problems, made = compare_all(db, items)
    assert made >= 17 * 14, made  # every step, every fund it applies to
    assert not problems, (f"FONDOS_ORACLE_SEED={RUN_SEED}: {len(problems)} difference(s) between sql/mssql and "
                          "the twin:\n" + "\n".join(problems[:40]))


def test_every_figure_statement_runs(day):
    """No step is compared on nothing: each runs its DELETE and INSERT, and every table it writes has rows."""
    for step in steps():
        proc = load(tsql_path(step.procedure))
        kinds = [type(st.tree).__name__ for st in proc.statements]
        assert "Insert" in kinds and "Delete" in kinds, (step.procedure, kinds)
        assert proc.targets, step.procedure


def _mutated(tmp_path: Path, file: str, old: str, new: str) -> Path:
    root = tmp_path / "sql" / "mssql"
    shutil.copytree(ROOT / "sql" / "mssql", root)
    path = next(root.rglob(file))
    text = path.read_text()
    assert text.count(old) >= 1, f"the mutation's text is not in {file} any more: update tests/mutations.py"
    path.write_text(text.replace(old, new))
    return root


def test_the_redemption_sign_in_tsql_is_caught(day, tmp_path):
    """The issue's example: CAPM_01 with `THEN ABS(m.Monto)` passed every test before this check."""
    db, items = day
    root = _mutated(tmp_path, "CAPM_01_CargarMovimientos_v2.sql", "THEN -ABS(m.Monto)", "THEN ABS(m.Monto)")
    problems, _ = compare_all(db, items, only={"staging.CAPM_01_CargarMovimientos_v2"}, tsql_root=root)
    assert problems
    assert any(p.startswith("sql/mssql/staging/CAPM_01_CargarMovimientos_v2.sql:") and "MontoLocal" in p for p in problems), \
        problems[:5]
    assert any("montobase" in p.lower() for p in problems), problems[:5]


def _mutation_ids():
    from mutations import MUTATIONS

    return [m.name for m in MUTATIONS]


@pytest.mark.parametrize("name", _mutation_ids())
def test_each_mutation_of_make_mutate_is_caught_in_tsql(day, tmp_path, name):
    from mutations import MUTATIONS

    m = next(m for m in MUTATIONS if m.name == name)
    db, items = day
    root = _mutated(tmp_path, m.file, m.tsql_old, m.tsql_new)
    procedure = next(s.procedure for s in steps() if s.procedure.endswith("." + m.file.removesuffix(".sql")))
    problems, _ = compare_all(db, items, only={procedure}, tsql_root=root)
    assert problems, f"mutation '{name}' of sql/mssql/.../{m.file} was not caught"
    assert all(m.file in p for p in problems), problems[:3]
