"""A model check of the T-SQL, like an SSDT (DacFx) build: `python -m fondos_dev.tsql_check [paths]`.

SQL Server cannot run here, and sqlfluff checks syntax and style only, so a
misspelt column, a dropped parameter or a DECIMAL expression that SQL Server
silently rounds would first show on a production server. This check reads
every statement (`fondos_dev.tsql_model`) and verifies it against the schema the
migrations build:

a. every table or view a statement reads or writes exists (system objects,
   `#temp` tables created in the same file and `@table` variables declared in
   the same batch count);
b. every column exists: `alias.Column` through the statement's FROM / JOIN /
   APPLY (tables, views, table variables, temp tables, derived tables,
   VALUES and CTEs, whose columns are their output names), unqualified
   columns in some table of their query, INSERT column lists, UPDATE ... SET;
c. every `EXEC schema.proc @Name = ...` names a procedure of ours (sys.*
   procedures are trusted) with existing parameter names, and passes every
   parameter that has no default;
d. DECIMAL arithmetic that is stored or returned keeps its exact scale under
   SQL Server's result-type rules ("Precision, scale, and length
   (Transact-SQL)"): a product, sum or difference whose derived precision
   passes 38 has its scale cut and is rounded, which PostgreSQL (the tested
   twin) never does; a quotient may be cut, but to no fewer than 16 decimals.
   Types that cannot be derived are skipped, never guessed.

Each finding is printed as `path:line: message`, the line being the offending
token's; the exit status is 1 when there is any.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from fondos_dev import ROOT as PROJECT_ROOT
from fondos_dev.tsql_model import (
    DIALECT,
    Batch,
    Model,
    SqlFile,
    SqlType,
    Statement,
    build_model,
    decimal,
    qualified,
    read_sql_file,
    sql_type,
)

SYSTEM_SCHEMAS = {"sys", "information_schema"}
TABLE_FUNCTIONS = {"string_split": {"value": SqlType("nvarchar"), "ordinal": SqlType("bigint")}}
_INTEGERS = {"bit": 1, "tinyint": 3, "smallint": 5, "int": 10, "bigint": 19}  # as DECIMAL(n,0)
_OPERATORS = {exp.Mul: ("*", TokenType.STAR), exp.Div: ("/", TokenType.SLASH),
              exp.Add: ("+", TokenType.PLUS), exp.Sub: ("-", TokenType.DASH)}
_SCOPES = (exp.Select, exp.Update, exp.Delete, exp.Merge)
MIN_QUOTIENT_SCALE = 16  # PostgreSQL's numeric division keeps at least 16 significant digits


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


# --- SQL Server's DECIMAL result types -------------------------------------------------------------------

def as_decimal(t: SqlType | None) -> SqlType | None:
    """The DECIMAL an operand becomes in DECIMAL arithmetic; an integer literal is DECIMAL(digits,0)."""
    if t is None:
        return None
    if t.name == "decimal":
        return t
    if t.name == "int" and t.precision is not None:  # a literal
        return decimal(t.precision, 0)
    return decimal(_INTEGERS[t.name], 0) if t.name in _INTEGERS else None


def derived(op: str, a: SqlType, b: SqlType) -> tuple[int, int]:
    """(precision, scale) of `a op b` before the 38-digit cap."""
    p1, s1, p2, s2 = a.precision, a.scale, b.precision, b.scale
    if op == "*":
        return p1 + p2 + 1, s1 + s2
    if op == "/":
        s = max(6, s1 + p2 + 1)
        return p1 - s1 + s2 + s, s
    s = max(s1, s2)
    return s + max(p1 - s1, p2 - s2) + 1, s


def capped(op: str, a: SqlType, b: SqlType) -> tuple[int, int]:
    """(precision, scale) SQL Server gives `a op b`: above 38 digits the scale yields to the integral part.

    + and -: the scale becomes 38 - max(p1-s1, p2-s2). * and /: 38 - (p-s), but not below min(s, 6).
    """
    p, s = derived(op, a, b)
    if p <= 38:
        return p, s
    if op in "+-":
        return 38, min(s, 38 - max(a.precision - a.scale, b.precision - b.scale))
    return 38, max(38 - (p - s), min(s, 6))


def _hint(op: str, a: SqlType, b: SqlType) -> str:
    """A cast that keeps `a op b` exact: fewer integral digits on the operand that has the most."""
    ia, ib = a.precision - a.scale, b.precision - b.scale
    if op == "/":  # the capped scale is 38 - (ia + b.scale): the dividend's integral digits must yield
        room = 38 - MIN_QUOTIENT_SCALE - b.scale
        return f"cast the dividend (e.g. to DECIMAL({room + a.scale},{a.scale}))" if room >= 1 else \
            "cast the divisor to a smaller scale"
    big = a if ia >= ib else b
    p, s = derived(op, a, b)
    room = (big.precision - big.scale) - (p - 38) if op == "*" else 38 - s
    return f"cast an operand (e.g. to DECIMAL({max(room, 1) + big.scale},{big.scale}))"


def decimal_problem(op: str, a: SqlType, b: SqlType) -> str | None:
    """Why `a op b` is an error (SQL Server cuts its scale and rounds), or None."""
    p, s = derived(op, a, b)
    p2, s2 = capped(op, a, b)
    if s2 >= s or (op == "/" and s2 >= MIN_QUOTIENT_SCALE):
        return None
    rounds = "and rounds to fewer than 16 decimals" if op == "/" else "and rounds"
    return f"{a} {op} {b} needs ({p},{s}): SQL Server cuts it to ({p2},{s2}) {rounds}; {_hint(op, a, b)}"


def plain(t: SqlType | None) -> SqlType | None:
    """The type of a computed value: an integer literal's digits count only for the literal itself."""
    return SqlType(t.name) if t is not None and t.name in _INTEGERS else t


def combined(types: list[SqlType | None]) -> SqlType | None:
    """The type of CASE / COALESCE / UNION branches (NULL branches aside); None when unknown."""
    types = [plain(t) for t in types if t is None or t.name != "null"]
    if not types or any(t is None for t in types):
        return None
    if all(t.name in _INTEGERS for t in types):
        return max(types, key=lambda t: _INTEGERS[t.name])
    if all(t == types[0] for t in types) and types[0].name != "decimal":
        return types[0]
    decimals = [as_decimal(t) for t in types]
    if any(d is None for d in decimals):
        return None
    s = max(d.scale for d in decimals)
    integral = max(d.precision - d.scale for d in decimals)
    return decimal(min(38, s + integral), min(s, 38 - integral))


# --- sources and scopes ------------------------------------------------------------------------------------

class Source:
    """What a FROM / JOIN / APPLY item offers: its columns (None: unknown, e.g. sys.*) and their types."""

    def __init__(self, label: str, columns: dict[str, SqlType | None] | None):
        self.label = label
        self.columns = None if columns is None else {k.lower(): v for k, v in columns.items()}

    def has(self, name: str) -> bool | None:
        return None if self.columns is None else name.lower() in self.columns

    def type_of(self, name: str) -> SqlType | None:
        return (self.columns or {}).get(name.lower())


def _outputs(query: exp.Expression) -> tuple[list[str | None], list[list[exp.Expression]]] | None:
    """Output names and, per column, the expression of every UNION branch / VALUES row; None for SELECT *."""
    while isinstance(query, exp.Subquery):
        query = query.this
    if isinstance(query, exp.SetOperation):
        left, right = _outputs(query.this), _outputs(query.expression)
        if left is None or right is None:
            return left
        return left[0], [a + b for a, b in zip(left[1], right[1], strict=False)]
    if isinstance(query, exp.Values):
        rows = [t.expressions for t in query.expressions]
        return [None] * len(rows[0]), [list(col) for col in zip(*rows, strict=False)]
    if not isinstance(query, exp.Select) or any(isinstance(e, exp.Star) for e in query.expressions):
        return None
    names = [e.alias_or_name if isinstance(e, exp.Alias | exp.Column) else None for e in query.expressions]
    return names, [[e.this if isinstance(e, exp.Alias) else e] for e in query.expressions]


def _from_items(node: exp.Expression) -> list[exp.Expression]:
    """The FROM / JOIN / APPLY items of a SELECT, UPDATE, DELETE or MERGE (sqlglot hangs joins on tables too)."""
    items: list[exp.Expression] = []

    def add(item: exp.Expression | None) -> None:
        if isinstance(item, exp.Expression):
            items.append(item)
            for join in item.args.get("joins") or []:
                add(join.this)

    if isinstance(node, exp.Delete | exp.Merge):
        add(node.this)
        add(node.args.get("using"))
    from_ = node.args.get("from_")
    add(from_.this if from_ else None)
    for join in node.args.get("joins") or []:
        add(join.this)
    return items


def _alias(item: exp.Expression) -> str:
    return (item.alias_or_name if isinstance(item, exp.Table) else item.alias).lower()


class QuerySource(Source):
    """A derived table, APPLY, VALUES, CTE, view or SELECT INTO: its columns are the query's output names."""

    def __init__(self, label: str, query: exp.Expression, checker: Checker, names: list[str] | None = None):
        outputs = _outputs(query)
        self.exprs: dict[str, list[exp.Expression]] = {}
        if outputs is not None:
            for i, (name, exprs) in enumerate(zip(outputs[0], outputs[1], strict=False)):
                name = names[i] if names and i < len(names) else name
                if name:
                    self.exprs.setdefault(name.lower(), exprs)
        super().__init__(label, None if outputs is None else dict.fromkeys(self.exprs))
        self.checker = checker

    def type_of(self, name: str) -> SqlType | None:
        return combined([self.checker.type_of(e) for e in self.exprs.get(name.lower(), [])])


@dataclass
class Scope:
    sources: dict[str, Source]  # alias (lower case) -> source
    parent: Scope | None

    def find(self, alias: str) -> Source | None:
        scope = self
        while scope:
            if alias.lower() in scope.sources:
                return scope.sources[alias.lower()]
            scope = scope.parent
        return None


# --- positions ---------------------------------------------------------------------------------------------

class Positions:
    """File lines of a parsed statement's nodes (sqlglot keeps offsets on identifiers and literals)."""

    def __init__(self, st: Statement):
        self.st = st
        self.tokens = sqlglot.tokenize(st.text, read=DIALECT)
        self.params: dict[int, tuple[int, int]] = {}
        seen: dict[str, int] = {}
        places: dict[str, list[tuple[int, int]]] = {}
        for a, b in zip(self.tokens, self.tokens[1:], strict=False):
            if a.token_type == TokenType.PARAMETER and b.token_type == TokenType.VAR:
                places.setdefault(b.text.lower(), []).append((a.start, b.end))
        for node in st.tree.walk(bfs=False) if st.tree else []:
            if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Var):
                name = node.name.lower()
                spots = places.get(name, [])
                if spots:
                    self.params[id(node)] = spots[min(seen.get(name, 0), len(spots) - 1)]
                seen[name] = seen.get(name, 0) + 1

    def span(self, node: exp.Expression) -> tuple[int, int] | None:
        spots = [self.params[id(n)] if id(n) in self.params else (n.meta["start"], n.meta["end"])
                 for n in node.walk() if id(n) in self.params or "start" in n.meta]
        return (min(a for a, _ in spots), max(b for _, b in spots)) if spots else None

    def line_at(self, offset: int) -> int:
        return self.st.line + self.st.text.count("\n", 0, offset)

    def line(self, node: exp.Expression) -> int:
        if type(node) in _OPERATORS:
            left, right = self.span(node.this), self.span(node.expression)
            kind = _OPERATORS[type(node)][1]
            found = [t.start for t in self.tokens if t.token_type == kind
                     and (left is None or t.start > left[1]) and (right is None or t.end < right[0])]
            if found and (left or right):
                return self.line_at(found[-1] if right else found[0])
        while node is not None:
            spot = self.span(node)
            if spot:
                return self.line_at(spot[0])
            node = node.parent
        return self.st.line


# --- the checker --------------------------------------------------------------------------------------------

class Checker:
    """Checks the statements of T-SQL files against a Model; collects Findings."""

    def __init__(self, model: Model, root: Path = PROJECT_ROOT):
        self.model, self.root = model, root
        self.findings: list[Finding] = []
        self.scopes: dict[int, Scope] = {}
        self.reported: set[tuple[int, str]] = set()
        self.typing: set[int] = set()
        self.batch = Batch([])
        self.temp: dict[str, Source] = {}
        self.pos: Positions | None = None
        self.st: Statement | None = None

    # reporting
    def display(self, path: Path) -> str:
        """A repository file relative to the repository (as `make lint` shows it); any other as given."""
        full = path.resolve()
        return full.relative_to(self.root.resolve()).as_posix() if full.is_relative_to(self.root.resolve()) else str(path)

    def report(self, node: exp.Expression | None, message: str, line: int | None = None) -> None:
        line = line if line is not None else self.pos.line(node)
        if (line, message) not in self.reported:
            self.reported.add((line, message))
            self.findings.append(Finding(self.display(self.st.path), line, message))

    # files and statements
    def check_file(self, sql_file: SqlFile) -> None:
        self.temp = {}
        for batch in sql_file.batches:
            self.batch = batch
            for st in batch.statements:
                self.check_statement(st)

    def check_statement(self, st: Statement) -> None:
        self.st, self.reported = st, set()
        if st.error:
            self.report(None, f"cannot check this statement: {st.error}", st.line)
            return
        if st.kind == "table" and st.name.startswith("#"):
            self.temp[st.name.lower()] = Source(st.name, st.columns)
        if st.kind == "alter" and st.name.lower() not in self.model.tables:
            self.report(None, f"unknown table {st.name} in ALTER TABLE", st.line)
        if st.tree is None or st.kind in ("procedure", "table", "alter"):
            return
        self.pos = Positions(st)
        self.build_scopes(st.tree)
        self.check_tables(st.tree)
        self.check_columns(st.tree)
        for node in st.tree.find_all(exp.Insert):
            self.check_insert(node)
        for node in st.tree.find_all(exp.Execute, exp.ExecuteSql):
            self.check_exec(node)
        self.check_decimals(st.tree)
        into = st.tree.args.get("into") if isinstance(st.tree, exp.Select) else None
        if into is not None and isinstance(into.this, exp.Table):
            name = "#" + into.this.name.lstrip("#")
            self.temp[name.lower()] = QuerySource(name, st.tree, self)

    # scopes
    def build_scopes(self, tree: exp.Expression) -> None:
        ctes = {cte.alias.lower(): cte for cte in tree.find_all(exp.CTE)}
        for node in tree.walk():
            if isinstance(node, _SCOPES) and id(node) not in self.scopes:
                self.scopes[id(node)] = Scope(self.sources(node, ctes), self.scope_of(node.parent))

    def scope_of(self, node: exp.Expression | None) -> Scope | None:
        while node is not None and id(node) not in self.scopes:
            node = node.parent
        return self.scopes.get(id(node)) if node is not None else None

    def sources(self, node: exp.Expression, ctes: dict[str, exp.CTE]) -> dict[str, Source]:
        """alias -> Source of a query's FROM / JOIN / APPLY items (and an UPDATE's own target)."""
        out = {_alias(item): self.source(item, ctes) for item in _from_items(node)}
        if isinstance(node, exp.Update) and isinstance(node.this, exp.Table) and node.this.name.lower() not in out:
            out[node.this.name.lower()] = self.source(node.this, ctes)
        return out

    def source(self, item: exp.Expression, ctes: dict[str, exp.CTE]) -> Source:
        alias = item.args.get("alias")
        names = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) and alias.columns else None
        if isinstance(item, exp.Lateral | exp.Subquery | exp.Values):
            what = {exp.Lateral: "APPLY", exp.Subquery: "derived table", exp.Values: "VALUES"}[type(item)]
            return QuerySource(f"{what} {item.alias}", item.this if isinstance(item, exp.Lateral) else item, self, names)
        if not isinstance(item, exp.Table):
            return Source(item.sql(DIALECT), None)
        if isinstance(item.this, exp.Parameter):
            return Source("@" + item.name, self.batch.table_variables.get(item.name.lower()))
        if isinstance(item.this, exp.Func):
            return Source(item.this.sql(DIALECT), TABLE_FUNCTIONS.get(str(item.this.name).lower()))
        name = qualified(item)
        if self.is_temp(item):
            return self.temp.get(self.temp_name(item), Source(item.name, None))
        if name in self.model.tables:
            return Source(self.model.names[name], self.model.tables[name])
        if name in self.model.views:
            view = self.model.views[name]
            self.build_scopes(view.tree)
            return QuerySource(view.name, view.tree, self)
        if not item.db and item.name.lower() in ctes:
            cte = ctes[item.name.lower()]
            cols = [c.name for c in cte.args["alias"].columns] if cte.args["alias"].columns else None
            return QuerySource(f"CTE {item.name}", cte.this, self, cols)
        return Source(name or item.name, None)

    @staticmethod
    def is_temp(table: exp.Table) -> bool:
        return bool(table.this.args.get("temporary")) or table.name.startswith("#")

    @staticmethod
    def temp_name(table: exp.Table) -> str:
        return "#" + table.name.lower().lstrip("#")

    # rule a: tables and views
    def check_tables(self, tree: exp.Expression) -> None:
        ctes = {cte.alias.lower() for cte in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            parent = table.parent
            if isinstance(parent, exp.Execute | exp.ExecuteSql) or isinstance(table.this, exp.Func):
                continue
            if isinstance(parent, exp.Into):
                continue  # SELECT ... INTO #x creates it
            if isinstance(table.this, exp.Parameter):
                if table.name.lower() not in self.batch.table_variables:
                    self.report(table, f"unknown table variable @{table.name} (not declared in this batch)")
            elif self.is_temp(table):
                if self.temp_name(table) not in self.temp:
                    self.report(table, f"unknown temp table #{table.name.lstrip('#')} (not created earlier in this file)")
            elif table.db:
                name = qualified(table)
                if table.db.lower() not in SYSTEM_SCHEMAS and name not in self.model.tables and name not in self.model.views:
                    self.report(table, f"unknown table or view {table.db}.{table.name}")
            elif table.name.lower() not in ctes and not self.is_target_alias(table):
                self.report(table, f"unknown table {table.name} (not a CTE or an alias; tables here are schema-qualified)")

    @staticmethod
    def is_target_alias(table: exp.Table) -> bool:
        """UPDATE t ... FROM x AS t / DELETE t FROM x AS t: the target names an alias of the statement's FROM."""
        holder = table.parent
        if isinstance(holder, exp.Update | exp.Delete):
            return table.name.lower() in {_alias(item) for item in _from_items(holder) if item is not table}
        return False

    # rule b: columns
    def check_columns(self, tree: exp.Expression) -> None:
        for column in tree.find_all(exp.Column):
            if column.find_ancestor(exp.NextValueFor) or isinstance(column.this, exp.Star):
                continue
            scope = self.scope_of(column)
            if scope is None:
                continue
            if column.table:
                source = scope.find(column.table)
                if source is None:
                    self.report(column, f"unknown alias {column.table} in {column.table}.{column.name}")
                elif source.has(column.name) is False:
                    self.report(column, f"unknown column {column.table}.{column.name} ({column.table} is {source.label})")
                continue
            update = column.parent if isinstance(column.parent, exp.EQ) else None
            holder = update.parent if update is not None else None
            if isinstance(holder, exp.Update) and update.this is column:
                target = scope.find(holder.this.name)
                if target is not None and target.has(column.name) is False:
                    self.report(column, f"unknown column {column.name} in UPDATE {target.label} SET")
                continue
            self.check_unqualified(column, scope)

    def check_unqualified(self, column: exp.Column, scope: Scope) -> None:
        select = column.find_ancestor(exp.Select)
        if column.find_ancestor(exp.Order) and select is not None and column.name.lower() in {
                e.alias.lower() for e in select.expressions if isinstance(e, exp.Alias)}:
            return  # ORDER BY a select-list alias
        labels, current = [], scope
        while current:
            answers = [s.has(column.name) for s in current.sources.values()]
            if True in answers or None in answers:
                return
            labels += [s.label for s in current.sources.values()]
            current = current.parent
        where = f"not in {', '.join(labels)}" if labels else "no table in scope"
        self.report(column, f"unknown column {column.name} ({where})")

    def check_insert(self, insert: exp.Insert) -> None:
        schema = insert.this
        table = schema.this if isinstance(schema, exp.Schema) else schema
        if not isinstance(table, exp.Table):
            return
        target = self.source(table, {})
        columns = schema.expressions if isinstance(schema, exp.Schema) else []
        for ident in columns:
            if target.has(ident.name) is False:
                self.report(ident, f"unknown column {ident.name} in INSERT INTO {target.label}")
        outputs = _outputs(insert.expression) if insert.expression is not None else None
        if columns and outputs and not self.st.insert_exec and len(outputs[0]) != len(columns):
            self.report(table, f"INSERT INTO {target.label} lists {len(columns)} columns but its query gives "
                               f"{len(outputs[0])} values")

    # rule c: procedures
    def check_exec(self, node: exp.Expression) -> None:
        name_node = node.this
        if not isinstance(name_node, exp.Table) or (name_node.db or "").lower() in SYSTEM_SCHEMAS:
            return
        if not name_node.db:
            if not name_node.name.lower().startswith(("sp_", "xp_")):  # sp_/xp_ resolve to master's system procedures
                self.report(name_node, f"unknown procedure {name_node.name} (procedures here are schema-qualified)")
            return
        proc = self.model.procedures.get(qualified(name_node))
        if proc is None:
            self.report(name_node, f"unknown procedure {name_node.db}.{name_node.name}")
            return
        passed, positional = set(), 0
        for arg in node.expressions:
            arg = arg.this if isinstance(arg, exp.Alias) else arg  # @P = @v OUTPUT
            if isinstance(arg, exp.EQ) and isinstance(arg.this, exp.Parameter):
                name = arg.this.name
                if name.lower() not in proc.params:
                    known = ", ".join("@" + p.name for p in proc.params.values()) or "none"
                    self.report(arg.this, f"unknown parameter @{name} of {proc.name} (its parameters: {known})")
                passed.add(name.lower())
            else:
                positional += 1
        missing = [p for p in list(proc.params)[positional:] if p not in passed and not proc.params[p].has_default]
        for p in missing:
            self.report(name_node, f"EXEC {proc.name} does not pass @{proc.params[p].name}, which has no default")

    # rule d: DECIMAL typing
    def check_decimals(self, tree: exp.Expression) -> None:
        roots: list[exp.Expression] = []
        for node in tree.walk():
            if isinstance(node, exp.Select):
                roots += node.expressions
            elif isinstance(node, exp.Values):
                roots += [e for row in node.expressions for e in row.expressions]
            elif isinstance(node, exp.Update | exp.Set):
                roots += [e.this if isinstance(e, exp.SetItem) else e for e in node.expressions]
            elif isinstance(node, exp.DeclareItem) and node.args.get("default") is not None:
                roots.append(node.args["default"])
        for root in roots:
            if isinstance(root, exp.EQ):  # SELECT @v = expr, SET @v = expr, UPDATE ... SET c = expr
                root = root.expression
            self.type_of(root.this if isinstance(root, exp.Alias) else root, check=True)

    def type_of(self, node: exp.Expression | None, check: bool = False) -> SqlType | None:
        """The SqlType of an expression (None: unknown); with check, report DECIMAL arithmetic that is cut."""
        if node is None or id(node) in self.typing:
            return None
        self.typing.add(id(node))
        try:
            return self._type_of(node, check)
        finally:
            self.typing.discard(id(node))

    def _type_of(self, node: exp.Expression, check: bool) -> SqlType | None:
        t = self.type_of
        if isinstance(node, exp.Paren | exp.Neg):
            return t(node.this, check)
        if isinstance(node, exp.Abs | exp.Round | exp.Max | exp.Min | exp.Window):  # the argument's type
            return plain(t(node.this, check))
        if isinstance(node, exp.Cast | exp.TryCast):
            t(node.this, check)
            return sql_type(node.args.get("to"))
        if isinstance(node, exp.Convert):
            t(node.expression, check)
            return sql_type(node.this)
        if type(node) in _OPERATORS:
            return self.arithmetic(node, t(node.this, check), t(node.expression, check), check)
        if isinstance(node, exp.Sum | exp.Avg):
            inner = plain(t(node.this, check))
            if inner is None or inner.name != "decimal":
                return inner if inner is not None and inner.name in _INTEGERS else None
            return decimal(38, inner.scale if isinstance(node, exp.Sum) else max(inner.scale, 6))
        if isinstance(node, exp.Count):
            return SqlType("int")
        if isinstance(node, exp.Coalesce):
            types = [t(node.this, check)] + [t(e, check) for e in node.expressions]
            return plain(types[0]) if node.args.get("is_null") and types[0] and types[0].name != "null" else combined(types)
        if isinstance(node, exp.Nullif):
            return plain(t(node.this, check))
        if isinstance(node, exp.Case):
            branches = [t(w.args.get("true"), check) for w in node.args.get("ifs") or []]
            return combined(branches + ([t(node.args["default"], check)] if node.args.get("default") else []))
        if isinstance(node, exp.If):
            return combined([t(node.args.get("true"), check), t(node.args.get("false"), check)])
        if isinstance(node, exp.Subquery):
            outputs = _outputs(node)
            return combined([t(e) for e in outputs[1][0]]) if outputs and outputs[1] else None
        return self.leaf_type(node)

    def leaf_type(self, node: exp.Expression) -> SqlType | None:
        if isinstance(node, exp.Null):
            return SqlType("null")
        if isinstance(node, exp.Literal):
            if node.is_string:
                return SqlType("varchar")
            digits = node.this.lstrip("-+")
            if "e" in digits.lower():
                return SqlType("float")
            if "." not in digits:
                return SqlType("int", len(digits)) if int(digits) <= 2**31 - 1 else decimal(len(digits), 0)
            whole, frac = digits.split(".")
            return decimal(max(len(whole.lstrip("0")) + len(frac), 1), len(frac))
        if isinstance(node, exp.Parameter):
            if isinstance(node.this, exp.Parameter):
                return SqlType("int")  # @@ROWCOUNT, @@TRANCOUNT ...
            return self.batch.variables.get(node.name.lower())
        if isinstance(node, exp.Column) and not node.find_ancestor(exp.NextValueFor):
            scope = self.scope_of(node)
            if scope is None:
                return None
            if node.table:
                source = scope.find(node.table)
                return source.type_of(node.name) if source else None
            while scope:
                having = [s for s in scope.sources.values() if s.has(node.name)]
                if having:
                    return having[0].type_of(node.name) if len(having) == 1 else None
                scope = scope.parent
        return None

    def arithmetic(self, node: exp.Expression, a: SqlType | None, b: SqlType | None, check: bool) -> SqlType | None:
        op = _OPERATORS[type(node)][0]
        if a is None or b is None or "null" in (a.name, b.name):
            return None
        if a.name != "decimal" and b.name != "decimal":
            both = [x for x in (a, b) if x.name in _INTEGERS or x.name == "int"]
            return combined([a, b]) if len(both) == 2 else None
        da, db = as_decimal(a), as_decimal(b)
        if da is None or db is None:
            return None
        if check:
            problem = decimal_problem(op, da, db)
            if problem:
                self.report(node, problem)
        return decimal(*capped(op, da, db))


def default_paths(root: Path = PROJECT_ROOT) -> list[Path]:
    return [root / "migrations" / "mssql", root / "sql" / "mssql"]


def sql_files(paths: list[Path]) -> list[Path]:
    """The .sql files of the given files and folders, migrations in file order, folders sorted."""
    out: list[Path] = []
    for p in paths:
        for f in sorted(p.rglob("*.sql")) if p.is_dir() else [p]:
            if f.resolve() not in {x.resolve() for x in out}:
                out.append(f)
    return out


def check(paths: list[Path], model_paths: list[Path] | None = None, root: Path = PROJECT_ROOT) -> list[Finding]:
    """Findings for the files under `paths`, against the model of `model_paths` (the repository's) plus them."""
    targets = [read_sql_file(f) for f in sql_files(paths)]
    target_paths = {f.path.resolve() for f in targets}
    extra = [read_sql_file(f) for f in sql_files(model_paths if model_paths is not None else default_paths(root))
             if f.resolve() not in target_paths]
    model = build_model(extra + targets)
    checker = Checker(model, root)
    for f in targets:
        start = len(checker.findings)
        checker.check_file(f)
        checker.findings[start:] = sorted(checker.findings[start:], key=lambda x: x.line)
    return checker.findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fondos_dev.tsql_check", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path,
                        help="T-SQL files or folders to check (default: migrations/mssql and sql/mssql)")
    parser.add_argument("--model", action="append", type=Path,
                        help="files or folders the model is built from besides PATHS "
                             "(default: the repository's migrations/mssql and sql/mssql)")
    args = parser.parse_args(argv)
    paths = args.paths or default_paths()
    findings = check(paths, args.model)
    for finding in findings:
        print(finding)
    files = len(sql_files(paths))
    print(f"tsql_check: {len(findings)} error(s) in {files} file(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
