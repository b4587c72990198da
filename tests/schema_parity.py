"""What the T-SQL files define (parsed), and what a migrated PostgreSQL holds (queried).

The T-SQL side cannot be executed here, so it is read: `CREATE TABLE`,
`ALTER TABLE ... ADD <column>`, `CREATE OR ALTER PROCEDURE` with its
`@Parameters`, and `CREATE OR ALTER VIEW`. Names are compared lower-cased,
since PostgreSQL folds unquoted names.
"""

from __future__ import annotations

import re
from pathlib import Path

_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRINGS = re.compile(r"N?'(?:[^']|'')*'")
_CREATE_TABLE = re.compile(r"\bCREATE\s+TABLE\s+([\w\[\]]+\.[\w\[\]]+)\s*\(", re.I)
_ALTER_ADD = re.compile(
    r"\bALTER\s+TABLE\s+([\w\[\]]+\.[\w\[\]]+)\s+ADD\s+(?!CONSTRAINT\b)(?:COLUMN\s+)?(\w+)\s+\w", re.I
)
_PROC = re.compile(r"\bCREATE\s+OR\s+ALTER\s+PROCEDURE\s+(\w+\.\w+)(.*?)\bAS\s+BEGIN\b", re.I | re.S)
_VIEW = re.compile(r"\bCREATE\s+OR\s+ALTER\s+VIEW\s+(\w+\.\w+)", re.I)
_PARAM = re.compile(r"@(\w+)\s+[A-Za-z]")
_NOT_COLUMNS = {"constraint", "primary", "unique", "index", "foreign", "check"}


def _clean(text: str) -> str:
    return _STRINGS.sub("''", _COMMENTS.sub(" ", text))


def _name(qualified: str) -> str:
    return qualified.replace("[", "").replace("]", "").lower()


def _split_top_level(body: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def tsql_tables(files: list[Path]) -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    for f in files:
        text = _clean(f.read_text())
        for m in _CREATE_TABLE.finditer(text):
            depth, i = 1, m.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            cols = {p.split()[0].lower() for p in _split_top_level(text[m.end(): i - 1])
                    if p.split()[0].lower() not in _NOT_COLUMNS}
            tables.setdefault(_name(m.group(1)), set()).update(cols)
        for m in _ALTER_ADD.finditer(text):
            tables.setdefault(_name(m.group(1)), set()).add(m.group(2).lower())
    return tables


def tsql_procedures(files: list[Path]) -> dict[str, list[str]]:
    procs = {}
    for f in files:
        for m in _PROC.finditer(_clean(f.read_text())):
            procs[_name(m.group(1))] = [p.lower() for p in _PARAM.findall(m.group(2))]
    return procs


def tsql_views(files: list[Path]) -> set[str]:
    return {_name(m.group(1)) for f in files for m in _VIEW.finditer(_clean(f.read_text()))}


SCHEMAS = ("config", "source", "extract", "staging", "logs")


def pg_tables(db) -> dict[str, set[str]]:
    rows = db.execute(
        "SELECT c.table_schema || '.' || c.table_name AS t, c.column_name AS c FROM information_schema.columns AS c "
        "JOIN information_schema.tables AS t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE t.table_type = 'BASE TABLE' AND c.table_schema = ANY(%s)", (list(SCHEMAS),)
    )
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["t"], set()).add(r["c"])
    return out


def pg_routines(db) -> dict[str, list[str]]:
    rows = db.execute(
        "SELECT n.nspname || '.' || p.proname AS name, p.proargnames AS names, p.proargmodes AS modes "
        "FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%s)",
        (list(SCHEMAS),),
    )
    out = {}
    for r in rows:
        names, modes = r["names"] or [], r["modes"] or ["i"] * len(r["names"] or [])
        out[r["name"]] = [n for n, m in zip(names, modes, strict=False) if m in ("i", "b")]
    return out


def pg_views(db) -> set[str]:
    rows = db.execute(
        "SELECT table_schema || '.' || table_name AS v FROM information_schema.views WHERE table_schema = ANY(%s)",
        (list(SCHEMAS),),
    )
    return {r["v"] for r in rows}
