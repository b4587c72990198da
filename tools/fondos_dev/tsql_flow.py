"""Compare the transaction structure of each T-SQL procedure with its PostgreSQL twin's.

`python -m fondos_dev.tsql_flow` (in `make lint` and `make test`). The executed differential check
(`fondos_dev.tsql_twin`) proves what the T-SQL computes; this one proves how it protects what it writes,
which no single-session run can see. Each procedure of both dialects is read as a sequence of events:

* WRITE  an INSERT / UPDATE / DELETE / MERGE of a table (table variables aside), or a call to one of
         our procedures that is not a lock or a check (it writes, or decides what is written);
* LOCK   `stage`: logs.sp_Bloquear_Ejecucion; `app`: sp_getapplock / pg_advisory_xact_lock(_shared);
         `row:<table>`: a row lock read (T-SQL UPDLOCK/XLOCK/HOLDLOCK/REPEATABLEREAD/SERIALIZABLE hints,
         PostgreSQL FOR UPDATE/SHARE);
* CHECK  a refusal branch (T-SQL `THROW <number>`, PostgreSQL `RAISE EXCEPTION`) or a call to a check
         procedure (sp_Validar_Ejecucion, sp_Rechazar_Legado, sp_Validar_TiposCambio);
* BEGIN / COMMIT of a T-SQL transaction. A PostgreSQL function is one transaction: the caller's.

The rule, for every procedure:

1. the tables (and procedures) written come in the same order in both dialects, each counted at its
   first write (a batched DELETE and the INSERT after it write one table);
2. every T-SQL write is inside an explicit transaction (a procedure whose one write is a single
   statement and that takes no lock is a transaction as it is; one that refuses to run outside its
   caller's transaction, `IF @@TRANCOUNT = 0 THROW`, writes inside that one);
3. before each first write, inside its own transaction, the T-SQL holds every kind of lock the twin holds
   before the same write (it may hold more: UPDLOCK reads that READ_COMMITTED_SNAPSHOT needs);
4. between its transaction's first lock and each write, the T-SQL makes at least as many checks of
   each kind as the twin makes between its first lock and the same write: the re-checks under the
   lock. (Checks before the lock are fast-fail copies and are not counted.)

A T-SQL procedure may split its work into several transactions (logs.sp_Eliminar_Proceso commits
each ejecución apart, below the lock-escalation threshold), as long as each transaction takes its
own locks and re-checks before its writes. Findings are printed as `path: message`.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fondos_dev import ROOT as PROJECT_ROOT

CHECK_PROCEDURES = {"logs.sp_validar_ejecucion", "logs.sp_rechazar_legado", "logs.sp_validar_tiposcambio"}
LOCK_PROCEDURES = {"logs.sp_bloquear_ejecucion": "stage"}
_ROW_HINTS = re.compile(r"\b(UPDLOCK|XLOCK|HOLDLOCK|REPEATABLEREAD|SERIALIZABLE)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Event:
    kind: str  # WRITE, LOCK, CHECK, BEGIN, COMMIT
    what: str  # table or procedure (lower case), lock kind, check kind
    line: int


@dataclass
class Guard:
    """What protects one write: its transaction, the locks held and the re-checks made in it before it."""

    write: Event
    in_transaction: bool
    locks: set[str] = field(default_factory=set)
    rechecks: Counter = field(default_factory=Counter)


def _blank(text: str, pattern: str) -> str:
    """Comments and string literals replaced by spaces (line breaks kept, so lines do not move)."""
    return re.sub(pattern, lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.DOTALL)


_TSQL_NOISE = r"--[^\n]*|/\*.*?\*/|N?'(?:[^']|'')*'"
_PG_NOISE = r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'"
def _n(tag: str) -> str:
    """schema.name (optionally [bracketed]) as the groups <tag>_s and <tag>_n."""
    return rf"\[?(?P<{tag}_s>\w+)\]?\.\[?(?P<{tag}_n>\w+)\]?"


def _named(m: re.Match, tag: str) -> str:
    return f"{m.group(tag + '_s')}.{m.group(tag + '_n')}".lower()


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _call(name: str, line: int) -> Event:
    name = name.lower()
    if name in LOCK_PROCEDURES:
        return Event("LOCK", LOCK_PROCEDURES[name], line)
    if name in CHECK_PROCEDURES:
        return Event("CHECK", name, line)
    return Event("WRITE", name, line)


def _update_target(stmt: str, target: str) -> str:
    """`UPDATE t SET ... FROM logs.X AS t`: the aliased table."""
    if "." in target:
        return target.lower()
    m = re.search(rf"\b(?:FROM|JOIN)\s+{_n('t')}\s+(?:AS\s+)?{re.escape(target)}\b", stmt, re.IGNORECASE)
    return _named(m, "t") if m else target.lower()


def tsql_events(text: str, offset_line: int = 0) -> list[Event]:
    src = _blank(text, _TSQL_NOISE)
    body = re.search(r"\bCREATE\s+(?:OR\s+ALTER\s+)?PROC(?:EDURE)?\b.*?\bAS\b", src, re.IGNORECASE | re.DOTALL)
    start = body.end() if body else 0
    pattern = re.compile(
        r"(?P<begin>\bBEGIN\s+TRAN(?:SACTION)?\b)"
        r"|(?P<commit>\bCOMMIT(?:\s+TRAN(?:SACTION)?)?\b)"
        r"|(?P<applock>\bsp_getapplock\b)"
        r"|(?P<exec>\bEXEC(?:UTE)?\s+(?:@\w+\s*=\s*)?" + _n("e") + r")"
        r"|(?P<hint>\b(?:FROM|JOIN)\s+" + _n("h") + r"(?:\s+AS\s+\w+)?\s+WITH\s*\((?P<hints>[^)]*)\))"
        r"|(?P<throw>\bTHROW\s+\d)"
        r"|(?P<insert>\bINSERT\s+INTO\s+" + _n("w1") + r")"
        r"|(?P<delete>\bDELETE\s+(?:TOP\s*\([^)]*\)\s*)?FROM\s+" + _n("w2") + r")"
        r"|(?P<update>\bUPDATE\s+(?P<utarget>\w+(?:\.\w+)?)\s+SET\b)"
        r"|(?P<merge>\bMERGE\s+(?:INTO\s+)?" + _n("w3") + r")",
        re.IGNORECASE)
    events = []
    for m in pattern.finditer(src, start):
        line = offset_line + _line(src, m.start())
        if m.group("begin"):
            events.append(Event("BEGIN", "", line))
        elif m.group("commit"):
            events.append(Event("COMMIT", "", line))
        elif m.group("applock"):
            events.append(Event("LOCK", "app", line))
        elif m.group("exec"):
            if _named(m, "e") == "sys.sp_getapplock":
                events.append(Event("LOCK", "app", line))
            elif m.group("e_s").lower() != "sys":
                events.append(_call(_named(m, "e"), line))
        elif m.group("hint"):
            if _ROW_HINTS.search(m.group("hints")):
                events.append(Event("LOCK", "row:" + _named(m, "h"), line))
        elif m.group("throw"):
            events.append(Event("CHECK", "throw", line))
        elif m.group("update"):
            stmt = src[m.start(): src.find(";", m.start())]
            events.append(Event("WRITE", _update_target(stmt, m.group("utarget")), line))
        else:
            tag = next(t for t in ("w1", "w2", "w3") if m.group(t + "_s"))
            events.append(Event("WRITE", _named(m, tag), line))
    return events


def pg_events(text: str) -> list[Event]:
    src = _blank(text, _PG_NOISE)
    a = src.find("$$")
    b = src.find("$$", a + 2)
    if a < 0 or b < 0:
        return []
    pattern = re.compile(
        r"(?P<commit>\bCOMMIT\b)"
        r"|(?P<applock>\bpg_advisory_xact_lock(?:_shared)?\b)"
        r"|(?P<call>\b(?:PERFORM|FROM|SELECT)\s+" + _n("c") + r"\s*\()"
        r"|(?P<forupdate>\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b)"
        r"|(?P<raise>\bRAISE\s+EXCEPTION\b)"
        r"|(?P<insert>\bINSERT\s+INTO\s+" + _n("w1") + r")"
        r"|(?P<delete>\bDELETE\s+FROM\s+" + _n("w2") + r")"
        r"|(?P<update>\bUPDATE\s+" + _n("w4") + r")"
        r"|(?P<merge>\bMERGE\s+INTO\s+" + _n("w3") + r")",
        re.IGNORECASE)
    events = []
    for m in pattern.finditer(src, a + 2, b):
        line = _line(src, m.start())
        if m.group("commit"):
            events.append(Event("COMMIT", "", line))
        elif m.group("applock"):
            events.append(Event("LOCK", "app", line))
        elif m.group("call"):
            name = _named(m, "c")
            if name.startswith(("logs.", "staging.", "extract.")) and name.split(".")[1].startswith("sp_"):
                events.append(_call(name, line))
        elif m.group("forupdate"):
            stmt_start = max(src.rfind(";", a, m.start()), src.rfind("BEGIN", a, m.start()), a)
            table = re.search(r"\bFROM\s+" + _n("f"), src[stmt_start: m.start()], re.IGNORECASE)
            if table:
                events.append(Event("LOCK", "row:" + _named(table, "f"), line))
        elif m.group("raise"):
            events.append(Event("CHECK", "throw", line))
        else:
            tag = next(t for t in ("w1", "w2", "w3", "w4") if m.group(t + "_s"))
            events.append(Event("WRITE", _named(m, tag), line))
    return events


def guards(events: list[Event], whole_transaction: bool) -> list[Guard]:
    """Each write with what protects it. whole_transaction: the body is one transaction (PostgreSQL)."""
    out, depth = [], 1 if whole_transaction else 0
    locks: set[str] = set()
    rechecks: Counter = Counter()
    locked = False
    for e in events:
        if e.kind == "BEGIN":
            depth += 1
            if depth == 1:
                locks, rechecks, locked = set(), Counter(), False
        elif e.kind == "COMMIT":
            depth = max(0, depth - 1)
            if depth == 0:
                locks, rechecks, locked = set(), Counter(), False
        elif e.kind == "LOCK" and depth > 0:
            locks.add(e.what)
            locked = True
        elif e.kind == "CHECK" and locked:
            rechecks[e.what] += 1
        elif e.kind == "WRITE":
            out.append(Guard(e, depth > 0, set(locks), Counter(rechecks)))
    return out


def first_writes(gs: list[Guard]) -> list[Guard]:
    """The first write of each table or procedure, in order (a batched DELETE loop and the INSERT that
    follows it write one table; the first write is the one the locks must protect first)."""
    seen, out = set(), []
    for g in gs:
        if g.write.what not in seen:
            seen.add(g.write.what)
            out.append(g)
    return out


def compare(tsql_text: str, pg_text: str, name: str) -> list[str]:
    """Findings for one procedure: [] when the T-SQL keeps every rule against the twin."""
    # A procedure that refuses to run outside its caller's transaction writes inside one, like the twin.
    inside = re.search(r"\bIF\s+@@TRANCOUNT\s*=\s*0\s+(?:BEGIN\b(?:(?!\bEND\b).)*?)?\bTHROW\s+\d",
                       _blank(tsql_text, _TSQL_NOISE), re.IGNORECASE | re.DOTALL)
    all_t = guards(tsql_events(tsql_text), whole_transaction=bool(inside))
    t = first_writes(all_t)
    p = first_writes(guards(pg_events(pg_text), whole_transaction="COMMIT" not in [e.kind for e in pg_events(pg_text)]))
    problems = []
    tw, pw = [g.write.what for g in t], [g.write.what for g in p]
    if tw != pw:
        return [f"{name}: writes {tw}, the twin writes {pw} (rule 1: the same writes in the same order)"]
    # Rule 2 spares a procedure whose one write is one statement with no lock: that is a transaction.
    single = len(all_t) == 1 and not any(e.kind == "LOCK" for e in tsql_events(tsql_text))
    for tg, pg in zip(t, p, strict=True):
        where = f"{name}:{tg.write.line}: write of {tg.write.what}"
        if not tg.in_transaction and not single:
            problems.append(f"{where} is outside a transaction (rule 2)")
        missing = pg.locks - tg.locks
        if missing:
            problems.append(f"{where} does not hold {sorted(missing)} in its transaction, the twin does (rule 3)")
        fewer = {k: v for k, v in pg.rechecks.items() if tg.rechecks[k] < v}
        if fewer:
            problems.append(f"{where}: {dict(tg.rechecks)} re-checks under the lock, the twin makes {dict(pg.rechecks)} "
                            f"(rule 4: a re-check is missing)")
    return problems


def pairs(root: Path = PROJECT_ROOT) -> list[tuple[Path, Path]]:
    """(T-SQL file, twin file) of every procedure."""
    out = []
    for tsql in sorted((root / "sql" / "mssql").rglob("*.sql")):
        text = tsql.read_text(encoding="utf-8-sig")
        if not re.search(r"\bCREATE\s+(?:OR\s+ALTER\s+)?PROC", text, re.IGNORECASE):
            continue
        twin = root / "sql" / "postgres" / tsql.relative_to(root / "sql" / "mssql")
        out.append((tsql, twin))
    return out


def check(root: Path = PROJECT_ROOT) -> list[str]:
    problems = []
    for tsql, twin in pairs(root):
        rel = str(tsql.relative_to(root))
        if not twin.exists():
            problems.append(f"{rel}: no PostgreSQL twin")
            continue
        problems += compare(tsql.read_text(encoding="utf-8-sig"), twin.read_text(), rel)
    return problems


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0]) if argv else PROJECT_ROOT
    problems = check(root)
    for p in problems:
        print(p)
    print(f"tsql_flow: {len(pairs(root))} procedures compared with their twins, {len(problems)} finding(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
