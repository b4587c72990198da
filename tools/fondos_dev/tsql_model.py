"""The schema model of the T-SQL files, read the way an SSDT (DacFx) build reads a project.

SQL Server cannot run here, so `fondos_dev.tsql_check` verifies the T-SQL against
what it declares, and this module reads that declaration:

* tables and their column types, from the migrations in file order
  (`CREATE TABLE`, `ALTER TABLE ... ADD col type / ALTER COLUMN col type /
  DROP COLUMN col`);
* views, with the SELECT whose output columns the checker derives;
* procedures, with their parameters (type, default or not), local variables
  and table variables.

Why statements are cut here: sqlglot's `tsql` dialect parses single
statements well, but a procedure body holding `BEGIN TRY ... END TRY` becomes
one opaque Command. So a file is split into GO batches (`fondos.db.tsql`, the
runner's own splitter), each batch into sqlglot tokens (which know strings,
comments and [identifiers]), and the tokens into statements: at parenthesis
depth 0 a statement starts with its keyword and ends with `;` (this code base
ends every INSERT/UPDATE/DELETE/SELECT/SET/EXEC with one). Each statement is
parsed alone with `sqlglot.parse_one(text, read="tsql")` and remembers the
file line of its first token; the text keeps the file's line breaks, so a
line inside a statement maps back to the file exactly. `IF`/`WHILE`
conditions are kept too (parsed as `SELECT 1 WHERE <condition>`), so their
`EXISTS (SELECT ...)` subqueries are checked like any query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from fondos.db.tsql import split_batches

DIALECT = "tsql"

# Keywords that start a statement this module hands to sqlglot.
STATEMENTS = {"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "SET", "EXEC", "EXECUTE", "DECLARE"}
# Words that end an IF/WHILE condition: the statement (or block) it governs starts there.
_GOVERNED = STATEMENTS | {
    "BEGIN", "THROW", "RETURN", "BREAK", "CONTINUE", "IF", "WHILE", "COMMIT", "ROLLBACK", "CREATE", "ALTER",
    "DROP", "GRANT", "REVOKE", "DENY", "PRINT", "RAISERROR", "TRUNCATE", "WAITFOR",
}
_CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "INDEX", "DEFAULT", "PERIOD"}
_NOT_WORDS = {TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.IDENTIFIER, TokenType.NUMBER}
_COMPOUND = {TokenType.PLUS, TokenType.DASH, TokenType.STAR, TokenType.SLASH}


@dataclass(frozen=True)
class SqlType:
    """A column, parameter or expression type; precision and scale for DECIMAL only."""

    name: str  # lower case: 'decimal' (NUMERIC too), 'int', 'bigint', 'varchar', ...
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.name == "decimal":
            return f"DECIMAL({self.precision},{self.scale})"
        return self.name.upper()


def decimal(precision: int, scale: int) -> SqlType:
    return SqlType("decimal", precision, scale)


def sql_type(datatype: exp.DataType | None) -> SqlType | None:
    """The SqlType of a parsed type; DECIMAL without arguments is DECIMAL(18,0), as in SQL Server."""
    if not isinstance(datatype, exp.DataType):
        return None
    if datatype.this == exp.DataType.Type.USERDEFINED:
        return SqlType(str(datatype.args.get("kind") or "userdefined").lower())
    name = datatype.this.value.lower()
    if name in ("decimal", "numeric"):
        params = [int(p.this.name) for p in datatype.expressions if p.this.name.isdigit()]
        precision = params[0] if params else 18
        return decimal(precision, params[1] if len(params) > 1 else 0)
    return SqlType(name)


def parse_type(text: str) -> SqlType | None:
    try:
        return sql_type(exp.DataType.build(text, dialect=DIALECT, udt=True))
    except (sqlglot.errors.ParseError, ValueError):
        return None


@dataclass
class Statement:
    """One statement (or IF/WHILE condition, or declaration) of a file, parsed alone."""

    path: Path
    line: int  # file line of its first token
    text: str  # what sqlglot was given; the same line breaks as the file
    kind: str  # 'statement', 'condition', 'procedure', 'view', 'table', 'alter'
    tree: exp.Expression | None = None
    error: str | None = None  # why sqlglot could not parse it
    name: str = ""  # view, table or altered table: schema.name as written ('#x' for a temp table)
    columns: dict[str, SqlType | None] = field(default_factory=dict)  # 'table': its columns, in order
    changes: list[tuple[str, str, SqlType | None]] = field(default_factory=list)  # 'alter': (op, column, type)
    insert_exec: bool = False  # INSERT ... EXEC: only the target and its column list are checked here


@dataclass
class Parameter:
    name: str  # as declared, without '@'
    type: SqlType | None
    has_default: bool


@dataclass
class Procedure:
    name: str  # schema.name as declared
    path: Path
    line: int
    params: dict[str, Parameter]  # lower-case name without '@' -> parameter, in declaration order
    variables: dict[str, SqlType | None] = field(default_factory=dict)  # parameters and DECLAREd locals
    table_variables: dict[str, dict[str, SqlType | None]] = field(default_factory=dict)


@dataclass
class Batch:
    """A GO batch: its statements and what it declares (variables live for one batch)."""

    statements: list[Statement]
    variables: dict[str, SqlType | None] = field(default_factory=dict)  # lower-case, no '@'
    table_variables: dict[str, dict[str, SqlType | None]] = field(default_factory=dict)
    procedure: Procedure | None = None


@dataclass
class SqlFile:
    path: Path
    batches: list[Batch]


@dataclass
class Model:
    tables: dict[str, dict[str, SqlType | None]] = field(default_factory=dict)  # 'schema.table' -> columns
    views: dict[str, Statement] = field(default_factory=dict)  # 'schema.view' -> its 'view' statement
    procedures: dict[str, Procedure] = field(default_factory=dict)  # 'schema.name' (lower case) -> procedure
    names: dict[str, str] = field(default_factory=dict)  # lower-case key of a table or view -> as declared


def qualified(table: exp.Table) -> str:
    """'schema.name' (lower case) of a table reference; '' when it has no schema."""
    return f"{table.db}.{table.name}".lower() if table.db else ""


def _name(text: str) -> str:
    return text.replace("[", "").replace("]", "").replace(" ", "").replace("\n", "")


class _Cutter:
    """Cuts one batch's tokens into Statements (see the module docstring)."""

    def __init__(self, path: Path, text: str, first_line: int):
        self.path, self.text, self.first_line = path, text, first_line
        self.tokens: list[Token] = sqlglot.tokenize(text, read=DIALECT)
        self.out: list[Statement] = []

    def word(self, i: int) -> str:
        if i >= len(self.tokens) or self.tokens[i].token_type in _NOT_WORDS:
            return ""
        return self.tokens[i].text.upper()

    def kind(self, i: int) -> TokenType | None:
        return self.tokens[i].token_type if i < len(self.tokens) else None

    def end(self, i: int) -> int:
        """Index of the `;` that ends the statement starting at i (or the batch's end)."""
        depth = 0
        while i < len(self.tokens):
            k = self.tokens[i].token_type
            depth += (k == TokenType.L_PAREN) - (k == TokenType.R_PAREN)
            if k == TokenType.SEMICOLON and depth <= 0:
                return i
            i += 1
        return i

    def close(self, i: int) -> int:
        """Index of the parenthesis closing the one at i."""
        depth = 0
        for j in range(i, len(self.tokens)):
            depth += (self.kind(j) == TokenType.L_PAREN) - (self.kind(j) == TokenType.R_PAREN)
            if depth == 0:
                return j
        return len(self.tokens) - 1

    def slice(self, i: int, j: int) -> str:
        """The original text from token i to token j inclusive."""
        return self.text[self.tokens[i].start: self.tokens[j].end + 1]

    def line(self, i: int) -> int:
        return self.first_line + self.tokens[i].line - 1

    def emit(self, kind: str, i: int, j: int, text: str | None = None, **extra) -> Statement:
        st = Statement(self.path, self.line(i), self.slice(i, j) if text is None else text, kind, **extra)
        self.out.append(st)
        return st

    def cut(self) -> list[Statement]:
        i, n = 0, len(self.tokens)
        while i < n:
            w = self.word(i)
            if self.kind(i) == TokenType.SEMICOLON or w in ("END", "ELSE"):
                i += 1 + (self.word(i + 1) in ("TRY", "CATCH") and w == "END")
            elif w == "BEGIN":
                nxt = self.word(i + 1)
                i = self.end(i) + 1 if nxt in ("TRAN", "TRANSACTION", "DISTRIBUTED") else i + 1 + (nxt in ("TRY", "CATCH"))
            elif w in ("IF", "WHILE"):
                i = self.condition(i + 1)
            elif w == "CREATE":
                i = self.create(i)
            elif w == "ALTER" and self.word(i + 1) == "TABLE":
                j = self.end(i)
                self.alter_table(i, j)
                i = j + 1
            elif w in STATEMENTS:
                j = self.end(i)
                self.statement(i, j - 1)
                i = j + 1
            else:  # THROW, RETURN, BREAK, COMMIT, DROP, GRANT, SET options ...: nothing to check
                i = self.end(i) + 1
        return self.out

    def condition(self, i: int) -> int:
        j, depth = i, 0
        while j < len(self.tokens) and not (depth == 0 and j > i and self.word(j) in _GOVERNED):
            depth += (self.kind(j) == TokenType.L_PAREN) - (self.kind(j) == TokenType.R_PAREN)
            j += 1
        if j > i:
            self.emit("condition", i, j - 1, "SELECT 1 WHERE " + self.slice(i, j - 1))
        return j

    def statement(self, i: int, j: int) -> None:
        if j < i:
            return
        w = self.word(i)
        if w == "SET" and self.kind(i + 1) != TokenType.PARAMETER:
            return  # SET NOCOUNT ON, SET XACT_ABORT ON, SET ANSI_NULLS ON ...
        if w in ("EXEC", "EXECUTE") and self.kind(i + 1) == TokenType.L_PAREN:
            return  # EXEC (N'...'): dynamic SQL, not readable here
        text = self.slice(i, j)
        start = self.tokens[i].start
        if w == "SET" and self.kind(i + 4) == TokenType.EQ and self.kind(i + 3) in _COMPOUND:
            # SET @v += x  ->  SET @v = @v + (x), on the same line (so lines do not move)
            op, var = self.tokens[i + 3], self.slice(i + 1, i + 2)
            a, b = op.start - start, self.tokens[i + 4].end + 1 - start
            text = f"{text[:a]}= {var} {op.text} ({text[b:]})"
        if w == "DELETE" and self.word(i + 1) == "TOP" and self.kind(i + 2) == TokenType.L_PAREN:
            a, b = self.tokens[i + 1].start - start, self.tokens[self.close(i + 2)].end + 1 - start
            text = text[:a] + "".join(c if c == "\n" else " " for c in text[a:b]) + text[b:]
        if w == "INSERT":
            depth = 0
            for k in range(i, j + 1):
                depth += (self.kind(k) == TokenType.L_PAREN) - (self.kind(k) == TokenType.R_PAREN)
                if depth == 0 and self.word(k) in ("EXEC", "EXECUTE"):
                    self.parse(self.emit("statement", i, k - 1, self.slice(i, k - 1) + " SELECT NULL", insert_exec=True))
                    self.statement(k, j)
                    return
        self.parse(self.emit("statement", i, j, text))

    def parse(self, st: Statement) -> None:
        try:
            st.tree = sqlglot.parse_one(st.text, read=DIALECT)
        except sqlglot.errors.SqlglotError as e:
            st.error = str(e).splitlines()[0]
            return
        if isinstance(st.tree, exp.Command):
            st.error = f"sqlglot read it only as an opaque {st.tree.name} command"

    def create(self, i: int) -> int:
        k = i + 1
        while self.word(k) in ("OR", "ALTER"):
            k += 1
        what = self.word(k)
        if what in ("PROCEDURE", "PROC"):
            j = k + 1
            while j < len(self.tokens) and not (self.word(j) == "AS" and self.word(j - 1) != "EXECUTE"):
                j += 1
            self.parse(self.emit("procedure", i, j, self.slice(i, j) + " RETURN"))
            return j + 1
        if what == "VIEW":
            j = k + 1
            while j < len(self.tokens) and self.word(j) != "AS":
                j += 1
            end = self.end(j + 1)
            st = self.emit("view", j + 1, end - 1, name=_name(self.slice(k + 1, j - 1)))
            self.parse(st)
            return end + 1
        if what == "TABLE":
            j = k + 1
            while j < len(self.tokens) and self.kind(j) != TokenType.L_PAREN:
                j += 1
            name = _name(self.slice(k + 1, j - 1))
            columns = {}
            for part in self.split(j + 1, self.close(j) - 1):
                if self.word(part[0]) not in _CONSTRAINT_WORDS:
                    columns[self.tokens[part[0]].text] = self.column_type(part)
            self.emit("table", i, self.close(j), name=name, columns=columns)
            return self.end(self.close(j)) + 1
        return self.end(i) + 1  # INDEX, ROLE, SEQUENCE, SCHEMA ...

    def split(self, i: int, j: int) -> list[list[int]]:
        """Token indexes i..j split on commas at depth 0."""
        parts, current, depth = [], [], 0
        for k in range(i, j + 1):
            depth += (self.kind(k) == TokenType.L_PAREN) - (self.kind(k) == TokenType.R_PAREN)
            if depth == 0 and self.kind(k) == TokenType.COMMA:
                parts.append(current)
                current = []
            else:
                current.append(k)
        return [p for p in parts + [current] if p]

    def column_type(self, part: list[int]) -> SqlType | None:
        """The type of `Name TYPE[(args)] ...`; None for a computed column (`Name AS expr`)."""
        if len(part) < 2 or self.word(part[1]) == "AS":
            return None
        last = part[1]
        if len(part) > 2 and self.kind(part[2]) == TokenType.L_PAREN:
            last = self.close(part[2])
        return parse_type(self.slice(part[1], last))

    def alter_table(self, i: int, j: int) -> None:
        k = i + 2
        while k < j and self.word(k) not in ("ADD", "ALTER", "DROP", "WITH", "NOCHECK", "CHECK", "SET"):
            k += 1
        st = self.emit("alter", i, j - 1, name=_name(self.slice(i + 2, k - 1)))
        while self.word(k) in ("WITH", "CHECK", "NOCHECK"):
            k += 1
        op = self.word(k)
        if op == "ADD" and self.word(k + 1) not in _CONSTRAINT_WORDS:
            for part in self.split(k + 1 + (self.word(k + 1) == "COLUMN"), j - 1):
                st.changes.append(("add", self.tokens[part[0]].text, self.column_type(part)))
        elif op == "ALTER" and self.word(k + 1) == "COLUMN":
            part = list(range(k + 2, j))
            st.changes.append(("alter", self.tokens[part[0]].text, self.column_type(part)))
        elif op == "DROP" and self.word(k + 1) == "COLUMN":
            for part in self.split(k + 2, j - 1):
                st.changes.append(("drop", self.tokens[part[0]].text, None))


def _declarations(batch: Batch) -> None:
    """Fill the batch's procedure, variables and table variables from its parsed statements."""
    for st in batch.statements:
        if st.kind == "procedure" and isinstance(st.tree, exp.Create):
            proc = st.tree.this
            params = {}
            for p in proc.expressions:
                if isinstance(p, exp.ColumnDef):
                    param = Parameter(p.this.name, sql_type(p.args.get("kind")), p.args.get("default") is not None)
                    params[param.name.lower()] = param
                    batch.variables[param.name.lower()] = param.type
            batch.procedure = Procedure(f"{proc.this.db}.{proc.this.name}", st.path, st.line, params,
                                        batch.variables, batch.table_variables)  # filled by the DECLAREs below
        elif isinstance(st.tree, exp.Declare):
            for item in st.tree.expressions:
                names = item.this if isinstance(item.this, list) else [item.this]
                kind = item.args.get("kind")
                for name in names:
                    if isinstance(kind, exp.Schema):
                        batch.table_variables[name.name.lower()] = {
                            c.name: sql_type(c.args.get("kind")) for c in kind.expressions if isinstance(c, exp.ColumnDef)
                        }
                    else:
                        batch.variables[name.name.lower()] = sql_type(kind)


def read_sql_file(path: Path) -> SqlFile:
    """Split, cut and parse one T-SQL file."""
    batches = []
    for b in split_batches(path.read_text(encoding="utf-8-sig")):
        batch = Batch(_Cutter(path, b.sql, b.start_line).cut())
        _declarations(batch)
        batches.append(batch)
    return SqlFile(path, batches)


def build_model(files: list[SqlFile]) -> Model:
    """Tables from CREATE/ALTER TABLE in file order; views and procedures (a later file wins)."""
    model = Model()
    for f in files:
        for batch in f.batches:
            if batch.procedure:
                model.procedures[batch.procedure.name.lower()] = batch.procedure
            for st in batch.statements:
                if st.kind in ("table", "view"):
                    model.names[st.name.lower()] = st.name
                if st.kind == "table" and not st.name.startswith("#"):
                    model.tables[st.name.lower()] = {c.lower(): t for c, t in st.columns.items()}
                elif st.kind == "alter" and st.name.lower() in model.tables:
                    columns = model.tables[st.name.lower()]
                    for op, column, type_ in st.changes:
                        if op == "drop":
                            columns.pop(column.lower(), None)
                        else:
                            columns[column.lower()] = type_
                elif st.kind == "view" and st.tree is not None:
                    model.views[st.name.lower()] = st
    return model
