"""Run a T-SQL step procedure on PostgreSQL, to prove it computes what its PostgreSQL twin computes.

SQL Server cannot run here, and the model check (`fondos_dev.tsql_check`) proves names and DECIMAL types,
not what a formula computes. This module executes the T-SQL itself: the statements of the procedure, as
written in `sql/mssql`, are read by the model's statement cutter (`fondos_dev.tsql_model`), translated one
by one from T-SQL to PostgreSQL by sqlglot (a maintained transpiler: `CROSS APPLY (VALUES ...)` becomes
`JOIN LATERAL`, `ISNULL` `COALESCE`, `TOP (1)` `LIMIT 1`, `DATEADD`/`DATEDIFF` date arithmetic) and run
on the embedded PostgreSQL, with the procedure's variables kept here and bound as typed parameters.
Nothing of the PostgreSQL twin is read: a T-SQL formula, join, filter, GROUP BY or CASE that differs from
the twin's computes different rows, which `tests/test_tsql_twin.py` compares with the twin's, row by row.

What runs, in file order:
* the figure statements: every INSERT, UPDATE, DELETE and MERGE, and every variable assignment
  (`DECLARE @v T = x`, `SET @v = x`, `SELECT @v = x FROM ...`) whose variable flows, directly or
  through other variables, into one of them or into the procedure's result (`SELECT @Filas AS Filas`);
* `@@ROWCOUNT` after a statement, as SQL Server sets it (the rows of the last DML; 1 after an
  assignment); a value assigned to a variable is cast to the variable's declared type, as SQL Server
  converts it; a `SELECT @v = ...` that finds no row leaves `@v` unchanged.

What does not run, and what covers it instead:
* `EXEC` of our procedures (the ejecución checks and the stage lock) and the validation branches
  (`IF ... THROW`): their transaction structure is compared with the twin's by `fondos_dev.tsql_flow`;
* `WHILE` batching of deletes: one DELETE without `TOP` removes what the batches remove together;
* `COLLATE` clauses are dropped: PostgreSQL's comparisons are exact already, which is what the
  T-SQL's binary collations ask for;
* DECIMAL result types: PostgreSQL computes each operation exactly where SQL Server's derived type is
  exact, which the model check proves for every stored or returned expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlglot import exp

from fondos_dev.tsql_model import Batch, SqlType, Statement, read_sql_file

_DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge)
_STRINGS = {"char", "nchar", "varchar", "nvarchar", "text", "ntext", "sysname"}
_PG_TYPES = {"int": "INTEGER", "integer": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT",
             "tinyint": "SMALLINT", "bit": "BOOLEAN", "date": "DATE", "datetime": "TIMESTAMP",
             "datetime2": "TIMESTAMP", "smalldatetime": "TIMESTAMP", "datetimeoffset": "TIMESTAMPTZ",
             "time": "TIME", "uniqueidentifier": "UUID", "float": "DOUBLE PRECISION", "real": "REAL",
             "money": "NUMERIC(19,4)"}


class NotExecutable(RuntimeError):
    """A figure statement uses something this translation cannot run: say so, never skip it."""


def pg_type(t: SqlType | None, where: str) -> str:
    if t is None:
        raise NotExecutable(f"{where}: the variable's type is unknown")
    if t.name == "decimal":
        return f"NUMERIC({t.precision},{t.scale})"
    if t.name in _STRINGS:
        return "TEXT"
    if t.name not in _PG_TYPES:
        raise NotExecutable(f"{where}: no PostgreSQL type for T-SQL {t}")
    return _PG_TYPES[t.name]


def _variable(node: exp.Expression) -> str | None:
    """'name' (lower case, no @) of a T-SQL @variable; '@rowcount' style for @@ system variables."""
    if not isinstance(node, exp.Parameter):
        return None
    inner = node.this
    if isinstance(inner, exp.Parameter):
        return "@" + inner.name.lower()
    name = inner.name if isinstance(inner, exp.Expression) else str(inner)
    return ("@" + name[1:].lower()) if name.startswith("@") else name.lower()


def _assignments(tree: exp.Expression) -> list[tuple[str, exp.Expression]]:
    """[(variable, expression)] that the statement assigns: SET @v = x, SELECT @v = x, DECLARE @v T = x."""
    out = []
    if isinstance(tree, exp.Set):
        for item in tree.expressions:
            eq = item.this if isinstance(item, exp.SetItem) else item
            if isinstance(eq, exp.EQ) and _variable(eq.this):
                out.append((_variable(eq.this), eq.expression))
    elif isinstance(tree, exp.Select):
        for e in tree.expressions:
            if isinstance(e, exp.EQ) and _variable(e.this):
                out.append((_variable(e.this), e.expression))
    elif isinstance(tree, exp.Declare):
        for item in tree.expressions:
            names = item.this if isinstance(item.this, list) else [item.this]
            default = item.args.get("default")
            if isinstance(default, exp.Expression):
                out += [(_variable(n) or n.name.lower(), default) for n in names]
    return out


def _references(tree: exp.Expression, skip_targets: bool = True) -> set[str]:
    """The variables a statement reads (assignment targets excluded)."""
    targets = {id(e.this) for e in tree.find_all(exp.EQ) if skip_targets and _variable(e.this)
               and isinstance(e.parent, (exp.Select, exp.SetItem, exp.Set))}
    return {v for n in tree.find_all(exp.Parameter) if id(n) not in targets and (v := _variable(n))
            and not isinstance(n.parent, exp.Parameter)}


@dataclass
class Executed:
    """One statement as it ran: its file line, what it was, the PostgreSQL text, the rows it touched."""

    line: int
    kind: str
    sql: str
    rowcount: int


@dataclass
class TsqlProcedure:
    path: Path
    name: str
    parameters: list[str]  # as declared, without '@'
    types: dict[str, SqlType | None]  # lower-case variable -> declared type (parameters too)
    statements: list[Statement]  # the figure statements, in file order
    skipped: list[Statement] = field(default_factory=list)  # read but not run, each for a reason above

    @property
    def targets(self) -> set[str]:
        """The tables the procedure writes (lower case 'schema.table')."""
        return set(self.target_names)

    @property
    def target_names(self) -> dict[str, str]:
        """Lower-case 'schema.table' -> as the T-SQL spells it, for every table the procedure writes."""
        out = {}
        for st in self.statements:
            if isinstance(st.tree, _DML):
                t = st.tree.this if not isinstance(st.tree.this, exp.Schema) else st.tree.this.this
                out[f"{t.db}.{t.name}".lower()] = f"{t.db}.{t.name}"
        return out

    def result_variable(self) -> str | None:
        """The variable of the procedure's result set (`SELECT @Filas AS Filas`; of its first column when it
        has several, `SELECT @Filas AS Filas, @Retenidos AS Retenidos`: the others are in Runner.values)."""
        for st in reversed(self.statements):
            if isinstance(st.tree, exp.Select) and not _assignments(st.tree):
                first = st.tree.expressions[0] if st.tree.expressions else None
                refs = _references(first) if first is not None else set()
                return next(iter(refs)) if len(refs) == 1 else None
        return None


def _procedure_batch(path: Path) -> Batch:
    batches = [b for b in read_sql_file(path).batches if b.procedure]
    if len(batches) != 1:
        raise NotExecutable(f"{path}: expected one CREATE PROCEDURE, found {len(batches)}")
    return batches[0]


def load(path: Path) -> TsqlProcedure:
    """Read a T-SQL procedure file and keep the statements its stored rows and result depend on."""
    batch = _procedure_batch(path)
    body = [st for st in batch.statements if st.kind == "statement"]
    for st in body:
        if st.tree is None or st.error:
            raise NotExecutable(f"{path}:{st.line}: sqlglot could not read the statement ({st.error})")
    needed: set[str] = set()
    for st in body:
        if isinstance(st.tree, _DML):
            needed |= _references(st.tree)
        elif isinstance(st.tree, exp.Select) and not _assignments(st.tree) and st.tree.find(exp.Parameter):
            needed |= _references(st.tree)  # the result set
    grown = True
    while grown:  # variables that feed needed variables are needed too
        grown = False
        for st in body:
            for var, _value in _assignments(st.tree):
                if var in needed:
                    more = _references(st.tree)
                    if more - needed:
                        needed |= more
                        grown = True
    kept, skipped = [], []
    for st in body:
        assigns = [v for v, _ in _assignments(st.tree)]
        is_result = isinstance(st.tree, exp.Select) and not assigns
        if isinstance(st.tree, _DML) or is_result or any(v in needed for v in assigns):
            kept.append(st)
        else:
            skipped.append(st)
    proc = batch.procedure
    return TsqlProcedure(path, proc.name, [p.name for p in proc.params.values()], dict(batch.variables), kept, skipped)


def _strip(tree: exp.Expression) -> exp.Expression:
    def fn(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Collate):
            return node.this
        return node

    return tree.copy().transform(fn)


class Runner:
    """Runs one TsqlProcedure on a psycopg connection (inside the caller's transaction)."""

    def __init__(self, proc: TsqlProcedure, conn: Any):
        self.proc, self.conn = proc, conn
        self.values: dict[str, Any] = {}
        self.rowcount = 0
        self.log: list[Executed] = []
        self.current: Statement | None = None  # the statement running (or that failed)

    def where(self, st: Statement) -> str:
        return f"{self.proc.path.name}:{st.line}"

    def render(self, tree: exp.Expression, st: Statement) -> tuple[str, dict[str, Any]]:
        """PostgreSQL text with every variable as a typed, bound parameter."""
        markers: dict[str, str] = {}

        def fn(node: exp.Expression) -> exp.Expression:
            var = _variable(node)
            if var is None or isinstance(node.parent, exp.Parameter):
                return node
            marker = f"zzv{len(markers)}zz"
            markers[marker] = var
            return exp.column(marker)

        text = _strip(tree).transform(fn).sql(dialect="postgres")
        text = text.replace("%", "%%")
        params: dict[str, Any] = {}
        for marker, var in markers.items():
            if var == "@rowcount":
                params[marker] = self.rowcount
                typed = f"CAST(%({marker})s AS BIGINT)"
            elif var.startswith("@"):
                raise NotExecutable(f"{self.where(st)}: @{var} is not run here")
            else:
                if var not in self.proc.types:
                    raise NotExecutable(f"{self.where(st)}: @{var} is not declared")
                params[marker] = self.values.get(var)
                typed = f"CAST(%({marker})s AS {pg_type(self.proc.types[var], self.where(st))})"
            text = re.sub(rf"\b{marker}\b", typed, text)
        return text, params

    def run(self, arguments: dict[str, Any]) -> Any:
        """Run the figure statements with the procedure's parameters; returns the result variable's value."""
        known = {p.lower(): p for p in self.proc.parameters}
        unknown = {a for a in arguments if a.lower() not in known}
        if unknown:
            raise NotExecutable(f"{self.proc.path.name}: no parameter {sorted(unknown)}")
        self.values = {a.lower(): v for a, v in arguments.items()}
        for st in self.proc.statements:
            self.current = st
            self.statement(st)
        result = self.proc.result_variable()
        return self.values.get(result) if result else None

    def statement(self, st: Statement) -> None:
        tree = st.tree
        cur = self.conn.cursor()
        if isinstance(tree, _DML):
            text, params = self.render(tree, st)
            cur.execute(text, params)
            self.rowcount = cur.rowcount
            self.log.append(Executed(st.line, type(tree).__name__.upper(), text, cur.rowcount))
            return
        pairs = _assignments(tree)
        if isinstance(tree, exp.Select) and not pairs:
            return  # the result set: its variable is read by run()
        if isinstance(tree, exp.Select) and (tree.args.get("from") or tree.args.get("where")):
            query = tree.copy()
            query.set("expressions", [self.cast(value, var, st) for var, value in pairs])
            text, params = self.render(query, st)
            cur.execute(text, params)
            rows = cur.fetchall()
            if rows:  # SQL Server: no row leaves the variables as they were; several, the last one wins
                for (var, _), value in zip(pairs, rows[-1], strict=True):
                    self.values[var] = value
        else:
            query = exp.select(*[self.cast(value, var, st) for var, value in pairs])
            text, params = self.render(query, st)
            cur.execute(text, params)
            for (var, _), value in zip(pairs, cur.fetchone(), strict=True):
                self.values[var] = value
        self.rowcount = 1
        self.log.append(Executed(st.line, "SET", text, 1))

    def cast(self, value: exp.Expression, var: str, st: Statement) -> exp.Expression:
        if var not in self.proc.types:
            raise NotExecutable(f"{self.where(st)}: @{var} is not declared")
        to = exp.DataType.build(pg_type(self.proc.types[var], self.where(st)), dialect="postgres")
        return exp.Cast(this=value.copy(), to=to)


def run_procedure(path: Path, conn: Any, arguments: dict[str, Any]) -> tuple[Any, Runner]:
    """Load and run one T-SQL procedure file; (result value, the runner with its log)."""
    runner = Runner(load(path), conn)
    return runner.run(arguments), runner


def as_number(value: Any) -> Any:
    """Result values compare as numbers whatever the driver returned (int, Decimal)."""
    return int(value) if isinstance(value, Decimal) and value == value.to_integral_value() else value
