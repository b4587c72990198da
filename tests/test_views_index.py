"""A read of one proceso's stages seeks logs.Ejecuciones, legacy history included (issue 18, DBA review):
the view's legacy branch exposed COALESCE(ID_Proceso, ID_Ejecucion) as ID_Proceso, so every read of
`resumen_fondos` (the API, the board, the CLI, cerrar_proceso) scanned all of logs.Ejecuciones."""

from __future__ import annotations

import re

from fondos.settings import PROJECT_ROOT


def test_no_branch_of_the_stage_view_computes_id_proceso():
    for dialect in ("mssql", "postgres"):
        text = (PROJECT_ROOT / "sql" / dialect / "logs" / "vw_Ejecucion_Etapas.sql").read_text()
        assert not re.search(r"COALESCE\s*\(\s*e\.ID_Proceso", text, re.IGNORECASE), dialect
        assert len(re.findall(r"\bUNION ALL\b", text)) == 2, dialect


def test_reading_one_procesos_stages_uses_the_indexes(db):
    """PostgreSQL, with sequential scans priced out: every access to logs.Ejecuciones must seek an index
    by a condition (with the COALESCE branch the planner could only read a whole index and filter it)."""
    db.execute("SET enable_seqscan = off")
    plan = "\n".join(r["QUERY PLAN"] if "QUERY PLAN" in r else next(iter(r.values())) for r in db.execute(
        "EXPLAIN SELECT Etapa, Estado FROM logs.vw_Ejecucion_Etapas WHERE ID_Proceso = %s", (1000000000000001,)))
    db.rollback()
    nodes = re.split(r"\n\s*->", plan)
    on_ejecuciones = [n for n in nodes if re.search(r" on ejecuciones\b", n.splitlines()[0])]
    assert on_ejecuciones, plan
    for node in on_ejecuciones:
        assert "Index Cond" in node or "Recheck Cond" in node, plan
