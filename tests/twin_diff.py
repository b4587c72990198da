"""The T-SQL against its PostgreSQL twin, step by step (used by tests/test_tsql_twin.py and bench/mutate.py).

For one step of one fund, on a database where the whole day already ran:

1. the twin (the PostgreSQL function, proven by the oracle) runs again, and its rows are read;
2. the T-SQL procedure of the same name (sql/mssql, run by `fondos_dev.tsql_twin`) runs on the same
   inputs, and its rows are read;
3. both are undone (a savepoint), so every step of every fund starts from the twin's inputs and a
   difference is named at the step that makes it.

The rows compared are the ejecución's rows of every table either side writes, every column; the
procedure's result (Filas) too; and the other ejecuciones' rows of those tables must not change.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlglot import exp

from fondos.db.calls import call_sql
from fondos.db.connection import Database
from fondos.pipeline.stages import STAGES, Step, stage_order
from fondos_dev.tsql_twin import Runner, as_number, load

ROOT = Path(__file__).resolve().parents[1]
_WRITES = re.compile(r"\b(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+([A-Za-z_]+\.[A-Za-z_]+)", re.IGNORECASE)


def steps() -> list[Step]:
    return [s for name in stage_order() for s in STAGES[name].steps]


def tsql_path(procedure: str, tsql_root: Path = ROOT / "sql" / "mssql") -> Path:
    schema, name = procedure.split(".")
    return tsql_root / schema / f"{name}.sql"


def twin_targets(procedure: str) -> set[str]:
    schema, name = procedure.split(".")
    text = (ROOT / "sql" / "postgres" / schema / f"{name}.sql").read_text()
    body = text[text.index("$$"):]
    return {t.lower() for t in _WRITES.findall(body) if not t.lower().startswith("logs.")}


def arguments(step: Step, item: dict) -> dict[str, Any]:
    return {p: (date.fromisoformat(item["fechareporte"]) if p == "FechaReporte" else item[p.lower()]) for p in step.params}


def _key_columns(cur, table: str) -> list[str]:
    """The natural key within the ejecución: the smallest unique index holding id_ejecucion."""
    cur.execute("SELECT array_agg(a.attname::text ORDER BY k.n) FROM pg_index AS i "
                "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                "JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                "WHERE i.indrelid = %s::regclass AND i.indisunique GROUP BY i.indexrelid", (table,))
    keys = [r[0] for r in cur.fetchall() if "id_ejecucion" in r[0]]
    return [c for c in min(keys, key=len) if c != "id_ejecucion"] if keys else []


def _rows(cur, table: str, id_ejecucion: int) -> list[dict]:
    cur.execute(f"SELECT * FROM {table} WHERE id_ejecucion = %s", (id_ejecucion,))  # table: from our files
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _others(cur, table: str, id_ejecucion: int) -> tuple:
    cur.execute(f"SELECT COUNT(*), SUM(hashtext(t::text)::numeric) FROM {table} AS t WHERE id_ejecucion <> %s",
                (id_ejecucion,))
    return tuple(cur.fetchone())


def _through_values(query: exp.Expression, node: exp.Expression) -> exp.Expression:
    """`v.MontoLocal` where v is `CROSS APPLY (VALUES (...)) AS v(MontoLocal, ...)`: the VALUES expression."""
    if not isinstance(node, exp.Column) or not node.table:
        return node
    for values in query.find_all(exp.Values):
        alias = values.args.get("alias")
        if alias is None or alias.name.lower() != node.table.lower():
            continue
        names = [c.name.lower() for c in alias.columns]
        row = values.expressions[0] if values.expressions else None
        if node.name.lower() in names and isinstance(row, exp.Tuple):
            return row.expressions[names.index(node.name.lower())]
    return node


def column_site(runner: Runner, table: str, column: str) -> tuple[int | None, str]:
    """(file line of the expression that fills `column` in the T-SQL INSERT into `table`, the column as
    the T-SQL spells it)."""
    for st in runner.proc.statements:
        tree = st.tree
        if not isinstance(tree, exp.Insert) or not isinstance(tree.this, exp.Schema):
            continue
        target = tree.this.this
        if f"{target.db}.{target.name}".lower() != table:
            continue
        names = [c.name for c in tree.this.expressions]
        lower = [n.lower() for n in names]
        query = tree.expression
        values = query.expressions if isinstance(query, exp.Select) else (
            query.expressions[0].expressions if isinstance(query, exp.Values) else [])
        if column in lower and lower.index(column) < len(values):
            node = _through_values(query, values[lower.index(column)])
            spots = [n.meta["start"] for n in node.walk() if "start" in n.meta]
            line = st.line + st.text[:min(spots)].count("\n") if spots else st.line
            return line, names[lower.index(column)]
        return st.line, column
    return None, column


def _rel(path: Path) -> str:
    """sql/mssql/... whether the file is the repository's or a mutated copy elsewhere."""
    parts = path.parts
    return str(Path(*parts[parts.index("sql"):])) if "sql" in parts else str(path)


def _fmt(v: Any) -> str:
    return "NULL" if v is None else str(v)


def _diff(path: Path, runner: Runner, table: str, keys: list[str], twin: list[dict], tsql: list[dict], label: str) -> list[str]:
    rel = _rel(path)
    name = runner.proc.target_names.get(table, table)
    freeze = lambda r: tuple(sorted((k, v) for k, v in r.items()))  # noqa: E731
    if Counter(map(freeze, twin)) == Counter(map(freeze, tsql)):
        return []
    problems = []
    by_key = lambda rows: {tuple(r[k] for k in keys): r for r in rows}  # noqa: E731
    a, b = by_key(twin), by_key(tsql)
    columns: dict[str, list[str]] = {}
    for k in a.keys() & b.keys():
        for col, v in a[k].items():
            if b[k].get(col) != v or (isinstance(v, Decimal) and str(b[k].get(col)) != str(v)):
                columns.setdefault(col, []).append(f"key {k}: T-SQL {_fmt(b[k].get(col))}, twin {_fmt(v)}")
    for col, cases in sorted(columns.items()):
        line, spelled = column_site(runner, table, col)
        problems.append(f"{rel}:{line}: {name}.{spelled} differs from the twin in {len(cases)} of {len(a)} rows of {label}; "
                        f"e.g. {cases[0]}")
    only_twin, only_tsql = a.keys() - b.keys(), b.keys() - a.keys()
    if only_twin or only_tsql or len(twin) != len(tsql):
        line = column_site(runner, table, keys[0])[0] if keys else None
        problems.append(f"{rel}:{line}: {name} rows differ from the twin for {label}: {len(tsql)} rows from the T-SQL, "
                        f"{len(twin)} from the twin; keys only in the twin {sorted(only_twin)[:3]}, "
                        f"only in the T-SQL {sorted(only_tsql)[:3]}")
    return problems


def compare_step(db: Database, step: Step, item: dict, tsql_root: Path = ROOT / "sql" / "mssql") -> list[str]:
    """Differences between the T-SQL step and its twin for one fund; [] when every row and the result agree."""
    path = tsql_path(step.procedure, tsql_root)
    rel = _rel(path)
    label = f"fund {item['id_fund']} (ID_Ejecucion {item['id_ejecucion']})"
    proc = load(path)
    tables = sorted(proc.targets | twin_targets(step.procedure))
    if proc.targets != twin_targets(step.procedure):
        return [f"{rel}: writes {sorted(proc.targets)}, the twin writes {sorted(twin_targets(step.procedure))}"]
    args = arguments(step, item)
    cur = db.conn.cursor()
    keys = {t: _key_columns(cur, t) for t in tables}
    others = {t: _others(cur, t, item["id_ejecucion"]) for t in tables}
    cur.execute("SAVEPOINT twin_diff")
    try:
        cur.execute(call_sql(db, step.procedure, list(args)), list(args.values()))
        twin_result = as_number(cur.fetchone()[0])
        twin_rows = {t: _rows(cur, t, item["id_ejecucion"]) for t in tables}
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT twin_diff")
    runner = Runner(proc, db.conn)
    problems: list[str] = []
    try:
        tsql_result = as_number(runner.run(args))
        tsql_rows = {t: _rows(cur, t, item["id_ejecucion"]) for t in tables}
        for t in tables:
            if _others(cur, t, item["id_ejecucion"]) != others[t]:
                problems.append(f"{rel}: changed rows of other ejecuciones in {t} while running {label}")
    except psycopg.Error as exc:  # the T-SQL failed where the twin did not: name the statement
        line = runner.current.line if runner.current else "?"
        return [f"{rel}:{line}: failed on {label} where the twin ran: {str(exc).splitlines()[0]}"]
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT twin_diff")
    if tsql_result != twin_result:
        problems.append(f"{rel}: returns Filas {tsql_result} for {label}, the twin {twin_result}")
    for t in tables:
        problems += _diff(path, runner, t, keys[t], twin_rows[t], tsql_rows[t], label)
    return problems


def compare_all(db: Database, items: list[dict], only: set[str] | None = None,
                tsql_root: Path = ROOT / "sql" / "mssql") -> tuple[list[str], int]:
    """Every step of every fund's applicable stages; (differences, comparisons made)."""
    problems, made = [], 0
    for step in steps():
        if only and step.procedure not in only:
            continue
        etapa = next(name for name, s in STAGES.items() if step in s.steps)
        for item in items:
            if etapa in item["etapas"]:
                problems += compare_step(db, step, item, tsql_root)
                made += 1
    return problems, made
