"""The transaction structure of every T-SQL procedure against its twin (fondos_dev.tsql_flow, issue 18).

On main every procedure keeps the rule; each way of breaking it below, done to a copy of the real text,
is named with its file and rule."""

from __future__ import annotations

import re

import pytest

from fondos.settings import PROJECT_ROOT
from fondos_dev.tsql_flow import check, compare, pairs

ROOT = PROJECT_ROOT


def _texts(rel: str) -> tuple[str, str]:
    return (ROOT / "sql" / "mssql" / rel).read_text(encoding="utf-8-sig"), (ROOT / "sql" / "postgres" / rel).read_text()


def _broken(rel: str, pattern: str, replacement: str = "", count: int = 1) -> list[str]:
    tsql, twin = _texts(rel)
    changed, n = re.subn(pattern, replacement, tsql, count=count, flags=re.DOTALL)
    assert n == count, f"the text to break is not in {rel} any more"
    return compare(changed, twin, f"sql/mssql/{rel}")


def test_every_procedure_keeps_the_twins_transaction_structure():
    assert len(pairs()) >= 30
    assert check() == []


def test_a_removed_recheck_in_a_lifecycle_procedure_is_named():
    """sp_Revertir_Ejecucion without its re-check of the stage states under the lock."""
    problems = _broken("logs/sp_Revertir_Ejecucion.sql",
                       r"IF @Etapa IS NOT NULL\s+BEGIN.*?THROW 50047, @Msg, 1;\s+END;")
    assert any(p.startswith("sql/mssql/logs/sp_Revertir_Ejecucion.sql:") and "rule 4" in p for p in problems), problems


def test_a_removed_recheck_after_the_stage_lock_is_named():
    rel = "staging/CAPM_02_ConsolidarFinal_v2.sql"
    tsql, twin = _texts(rel)
    lock = tsql.index("EXEC logs.sp_Bloquear_Ejecucion")
    after = tsql.index("EXEC logs.sp_Validar_Ejecucion", lock)  # the re-check, not the fast-fail copy above
    problems = compare(tsql[:after] + tsql[tsql.index(";", after) + 1:], twin, f"sql/mssql/{rel}")
    assert any("rule 4" in p and "CAPM_02" in p for p in problems), problems


def test_checks_made_before_the_stage_lock_are_not_rechecks():
    """The layout every data-checking step had before this issue: checks first, lock later."""
    rel = "staging/CAPM_01_CargarMovimientos_v2.sql"
    tsql, twin = _texts(rel)
    block = re.search(r"\n +BEGIN TRANSACTION;\n +EXEC logs\.sp_Bloquear_Ejecucion [^\n]*\n"
                      r" +EXEC logs\.sp_Validar_Ejecucion [^\n]*\n", tsql).group(0)
    moved = tsql.replace(block, "\n", 1).replace("        WHILE 1 = 1", block + "        WHILE 1 = 1", 1)
    problems = compare(moved, twin, f"sql/mssql/{rel}")
    assert any("rule 4" in p for p in problems), problems


def test_a_missing_proceso_row_lock_is_named():
    problems = _broken("logs/sp_Eliminar_Proceso.sql", r"WITH \(UPDLOCK, HOLDLOCK, ROWLOCK\)", "", count=1)
    assert any("rule 3" in p and "row:logs.procesos" in p for p in problems), problems


def test_a_write_outside_a_transaction_is_named():
    rel = "staging/PNL_02_ConsolidarFinal_v2.sql"
    problems = _broken(rel, r"BEGIN TRANSACTION;", "")
    assert any("rule 2" in p for p in problems), problems


def test_a_write_the_twin_does_not_make_is_named():
    problems = _broken("logs/sp_Revertir_Ejecucion.sql", r"EXEC logs\.sp_Recalcular_Proceso @ID_Proceso = @ID_Proceso;")
    assert any("rule 1" in p for p in problems), problems


@pytest.mark.parametrize("rel", ["logs/sp_Recalcular_Proceso.sql"])
def test_a_procedure_that_needs_its_callers_transaction_refuses_to_run_without_one(rel):
    tsql, _ = _texts(rel)
    assert re.search(r"IF @@TRANCOUNT = 0\s+BEGIN.*?THROW 50060", tsql, re.DOTALL)
    problems = _broken(rel, r"IF @@TRANCOUNT = 0\s+BEGIN.*?THROW 50060, @Fuera, 1;\s+END;")
    assert any("rule 2" in p for p in problems), problems
