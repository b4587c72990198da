"""Legacy history: the preflight that runs before the first new migration.

Migrations 012-015 turn the legacy schema (one ID_Ejecucion shared by every
fund of a run) into procesos and ejecuciones. They depend on the legacy data
being migratable, so before 012 is applied `fondos db migrate` checks it, and
stops with nothing applied, listing every value or id it cannot migrate, why,
and what the DBA can do:

* **Orphans**: rows of logs.Ejecucion_Fondos whose ID_Ejecucion has no row in
  logs.Ejecuciones. Their funds could not be reached through a proceso.
* **Ids in the new range** (>= 10^15, where new ids start): history there
  could not be told apart from new ejecuciones, which unique keys protect.
* **Estado values** of logs.Ejecuciones outside the three states the new schema
  checks (EN_PROGRESO, OK, ERROR). Known spellings of those three -- other
  letter case, surrounding spaces (``'ok'``, ``' ERROR '``, ``'En_Progreso'``) --
  are normalised to them, in one committed transaction, and reported with
  their counts. Any other value (``'COMPLETADO'``, ``'CANCELADO'``, ``''``) is
  refused: what it meant is the DBA's call, never a guess.

* **SQL Server modules created with ANSI_NULLS or QUOTED_IDENTIFIER OFF**
  (sys.sql_modules) that write a table which gets a filtered index in 012,
  013 or 019 -- logs.Procesos, logs.Ejecuciones, extract.*, staging.* -- or
  are triggers on one: a module keeps the settings of the session that created
  it, and from then on every write of theirs fails with error 1934 (the legacy
  v2 writer, still alive during the transition week, after 013). An encrypted
  module (definition NULL) that references one of them, or is a trigger on
  one, cannot be read: it is reported as unknown, not passed as fine.
  019 re-checks the extract/staging writers when it runs; this check comes
  before 012, with nothing applied.

Reported but not blocking: ids that exist only in extract.*/staging.* (a run
whose log rows were purged; the id sequence starts above them anyway) and
runs whose FechaFin is before FechaInicio (their duration shows as unknown).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from fondos.db.connection import Database

log = logging.getLogger(__name__)

FIRST_NEW_MIGRATION = "migrations/012_CREATE_PROCESOS_TABLE.sql"
FIRST_NEW_VERSION = 12
NEW_IDS_FROM = 10**15  # logs.Seq_ID starts here (012); anything below is history
ESTADOS = ("EN_PROGRESO", "OK", "ERROR")
MAX_LISTED = 10
DATA_TABLES = (
    "extract.IPA", "extract.CAPM", "extract.PosModRF", "extract.SONA", "extract.Derivados", "extract.UBS",
    "staging.IPA_Precios", "staging.IPA_WorkTable", "staging.IPA_Cash", "staging.IPA_Final",
    "staging.CAPM_WorkTable", "staging.CAPM_Final", "staging.PNL_WorkTable", "staging.PNL_Final",
    "staging.Derivados_WorkTable", "staging.Derivados_Final", "staging.UBS_WorkTable",
    "staging.UBS_Reconciliacion", "staging.UBS_Final",
)


# Tables that get a filtered index in 012 (logs.Procesos), 013 (logs.Ejecuciones) or 019 (every data table).
FILTERED_INDEX_TABLES = ("logs.Procesos", "logs.Ejecuciones", *DATA_TABLES)

# SQL Server: modules with either setting OFF that reference one of those tables, or are triggers on one,
# and either write (the statement words, not column names such as FechaUpdate; a comment may still match)
# or cannot be read (encrypted: definition NULL). The LIKE patterns are bound (WRITE_PATTERNS): a literal
# '%' in the text would meet the drivers' %s placeholders. A referenced table may not exist yet (logs.Procesos
# before 012): the dependency's names are compared too.
MODULES_SETTINGS_OFF_SQL = """
SELECT
    OBJECT_SCHEMA_NAME(m.object_id) + '.' + OBJECT_NAME(m.object_id) AS modulo,
    o.type_desc AS tipo,
    m.uses_ansi_nulls AS ansi_nulls,
    m.uses_quoted_identifier AS quoted_identifier,
    CASE WHEN m.definition IS NULL THEN 1 ELSE 0 END AS cifrado
FROM sys.sql_modules AS m
INNER JOIN sys.objects AS o ON o.object_id = m.object_id
WHERE
    (m.uses_ansi_nulls = 0 OR m.uses_quoted_identifier = 0)
    AND (
        m.definition IS NULL
        OR m.definition COLLATE Latin1_General_CI_AS LIKE %s
        OR m.definition COLLATE Latin1_General_CI_AS LIKE %s
        OR m.definition COLLATE Latin1_General_CI_AS LIKE %s
        OR m.definition COLLATE Latin1_General_CI_AS LIKE %s
    )
    AND EXISTS (
        SELECT 1
        FROM (VALUES {tables}) AS k (Esquema, Tabla)
        WHERE
            o.parent_object_id = OBJECT_ID(k.Esquema + '.' + k.Tabla)
            OR EXISTS (
                SELECT 1 FROM sys.sql_expression_dependencies AS d
                WHERE
                    d.referencing_id = m.object_id
                    AND (
                        d.referenced_id = OBJECT_ID(k.Esquema + '.' + k.Tabla)
                        OR (d.referenced_schema_name = k.Esquema AND d.referenced_entity_name = k.Tabla)
                    )
            )
    )
ORDER BY modulo
""".replace("{tables}", ", ".join(
    "(N'{}', N'{}')".format(*t.split(".")) for t in FILTERED_INDEX_TABLES))


WRITE_PATTERNS = tuple(f"%[^a-zA-Z0-9_@#$]{word}[^a-zA-Z0-9_@#$]%" for word in ("INSERT", "UPDATE", "DELETE", "MERGE"))


class PreflightError(RuntimeError):
    """The legacy data cannot be migrated as it is; nothing was applied."""


def canonical_estado(value: str) -> str | None:
    """The state a legacy spelling stands for, or None when it is not one of the three."""
    folded = value.strip(" ").upper()
    return folded if folded in ESTADOS else None


def _listed(items: list[str]) -> str:
    more = f", and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


def _table_exists(db: Database, schema: str, table: str) -> bool:
    if db.dialect == "postgres":
        rows = db.execute("SELECT 1 AS x FROM information_schema.tables WHERE table_schema = lower(%s) "
                          "AND table_name = lower(%s)", (schema, table))
    else:
        rows = db.execute("SELECT 1 AS x FROM sys.tables AS t JOIN sys.schemas AS s ON s.schema_id = t.schema_id "
                          "WHERE s.name = %s AND t.name = %s", (schema, table))
    return bool(rows)


def _orphans(db: Database) -> list[str]:
    rows = db.execute(
        "SELECT f.ID_Ejecucion AS id, COUNT(*) AS n FROM logs.Ejecucion_Fondos AS f "
        "WHERE NOT EXISTS (SELECT 1 FROM logs.Ejecuciones AS e WHERE e.ID_Ejecucion = f.ID_Ejecucion) "
        "GROUP BY f.ID_Ejecucion ORDER BY f.ID_Ejecucion")
    return [f"{r['id']} ({r['n']} fund row(s))" for r in rows]


def _estados(db: Database) -> list[tuple[str, int, int]]:
    """(value exactly as stored, rows, lowest ID_Ejecucion) per distinct Estado."""
    if db.dialect == "postgres":
        sql = ("SELECT Estado AS estado, COUNT(*) AS n, MIN(ID_Ejecucion) AS ejemplo FROM logs.Ejecuciones "
               "GROUP BY Estado ORDER BY Estado")
    else:  # the default collation folds case and trailing spaces: group on the bytes
        sql = ("SELECT MIN(Estado) AS estado, COUNT(*) AS n, MIN(ID_Ejecucion) AS ejemplo FROM logs.Ejecuciones "
               "GROUP BY CAST(Estado AS VARBINARY(100)) ORDER BY MIN(Estado)")
    return [(r["estado"], int(r["n"]), int(r["ejemplo"])) for r in db.execute(sql)]


def _ids_only_in_data(db: Database) -> int:
    union = " UNION ".join(f"SELECT ID_Ejecucion FROM {t}" for t in DATA_TABLES)
    rows = db.execute(
        f"SELECT COUNT(*) AS n FROM ({union}) AS d WHERE NOT EXISTS "
        "(SELECT 1 FROM logs.Ejecuciones AS e WHERE e.ID_Ejecucion = d.ID_Ejecucion)")
    return int(rows[0]["n"])


def _ids_in_new_range(db: Database) -> list[str]:
    union = " UNION ".join(f"SELECT ID_Ejecucion FROM {t}"
                           for t in ("logs.Ejecuciones", "logs.Ejecucion_Fondos", *DATA_TABLES))
    rows = db.execute(f"SELECT DISTINCT d.ID_Ejecucion AS id FROM ({union}) AS d WHERE d.ID_Ejecucion >= %s "
                      "ORDER BY d.ID_Ejecucion", (NEW_IDS_FROM,))
    return [str(r["id"]) for r in rows]


def _backwards_durations(db: Database) -> int:
    return int(db.execute("SELECT COUNT(*) AS n FROM logs.Ejecuciones WHERE FechaFin < FechaInicio")[0]["n"])


def _modules_settings_off(db: Database) -> tuple[list[str], list[str]]:
    """SQL Server: (modules that write those tables with a setting OFF, encrypted ones that may)."""
    if db.dialect == "postgres":  # no per-module ANSI_NULLS / QUOTED_IDENTIFIER, no error 1934
        return [], []
    writers: list[str] = []
    unknown: list[str] = []
    for r in db.execute(MODULES_SETTINGS_OFF_SQL, WRITE_PATTERNS):
        off = [name for name, on in (("ANSI_NULLS", r["ansi_nulls"]), ("QUOTED_IDENTIFIER", r["quoted_identifier"]))
               if not on]
        text = f"{r['modulo']} ({r['tipo']}, {' and '.join(off)} OFF)"
        (unknown if r["cifrado"] else writers).append(text)
    return writers, unknown


def _normalise(db: Database, variants: Iterable[str]) -> None:
    trimmed = "UPPER(TRIM(BOTH ' ' FROM Estado))" if db.dialect == "postgres" else "UPPER(LTRIM(RTRIM(Estado)))"
    binary = "Estado" if db.dialect == "postgres" else "CAST(Estado AS VARBINARY(100))"
    value = "%s" if db.dialect == "postgres" else "CAST(CAST(%s AS VARCHAR(50)) AS VARBINARY(100))"
    for variant in variants:
        db.execute(f"UPDATE logs.Ejecuciones SET Estado = {trimmed} WHERE {binary} = {value}", (variant,))


def needed(pending: Iterable[str], target: int | None) -> bool:
    return FIRST_NEW_MIGRATION in set(pending) and (target is None or target >= FIRST_NEW_VERSION)


def preflight(db: Database) -> list[str]:
    """Check the legacy data before 012; normalise known Estado spellings; return what it reports.

    Raises PreflightError, with nothing changed, when anything cannot be migrated.
    """
    if not _table_exists(db, "logs", "Ejecuciones"):
        return []
    problems: list[str] = []
    orphans = _orphans(db)
    if orphans:
        problems.append(
            f"{len(orphans)} ID_Ejecucion value(s) in logs.Ejecucion_Fondos have no row in logs.Ejecuciones: "
            f"{_listed(orphans)}. Their funds could not be reached through a proceso. What to do: restore the "
            "missing logs.Ejecuciones rows (ID_Ejecucion, FechaReporte, Estado) from a backup, or move those "
            "fund rows to an archive table; then run `fondos db migrate` again.")
    high = _ids_in_new_range(db)
    if high:
        problems.append(
            f"{len(high)} legacy id(s) are at or above {NEW_IDS_FROM:,}, where new ids start: {_listed(high)}. "
            "New ejecuciones could not be told apart from them. What to do: this history was not written by the "
            "legacy backend's millisecond clock; find out what wrote it before migrating.")
    to_normalise: list[tuple[str, int, str]] = []
    unknown: list[str] = []
    for value, n, ejemplo in _estados(db):
        if value in ESTADOS:
            continue
        canon = canonical_estado(value)
        if canon:
            to_normalise.append((value, n, canon))
        else:
            unknown.append(f"{value!r} ({n} row(s), e.g. ID_Ejecucion {ejemplo})")
    if unknown:
        problems.append(
            f"logs.Ejecuciones.Estado holds value(s) that are not a spelling of {', '.join(ESTADOS)}: "
            f"{_listed(unknown)}. The new schema accepts only those three states and this tool does not guess "
            "what another value meant. What to do: decide what each value means and update those rows, e.g. "
            "UPDATE logs.Ejecuciones SET Estado = 'OK' WHERE Estado = 'COMPLETADO'; then run `fondos db migrate` "
            "again.")
    writers, unknown_modules = _modules_settings_off(db)
    if writers:
        problems.append(
            f"{len(writers)} SQL Server module(s) write logs.Procesos, logs.Ejecuciones or extract/staging tables "
            f"(or are triggers on them) and were created with ANSI_NULLS or QUOTED_IDENTIFIER OFF: "
            f"{_listed(writers)}. Once 012, 013 and 019 add filtered indexes to those tables every write of "
            "theirs fails with error 1934 (the legacy v2 writer, for one). What to do: re-create each with "
            "SET ANSI_NULLS ON and SET QUOTED_IDENTIFIER ON before its CREATE (mind double-quoted strings, which "
            "then become identifiers; sqlcmd needs -I), then run `fondos db migrate` again.")
    if unknown_modules:
        problems.append(
            f"{len(unknown_modules)} encrypted SQL Server module(s) reference logs.Procesos, logs.Ejecuciones or "
            f"extract/staging tables (or are triggers on them) and were created with ANSI_NULLS or "
            f"QUOTED_IDENTIFIER OFF: {_listed(unknown_modules)}. Their text cannot be read, so whether they write "
            "those tables (and would fail with error 1934 after 012, 013 and 019) is unknown, not fine. What to "
            "do: re-create each from its source with SET ANSI_NULLS ON and SET QUOTED_IDENTIFIER ON, then run "
            "`fondos db migrate` again.")
    if problems:
        raise PreflightError(
            f"preflight of the legacy history found {len(problems)} problem(s); nothing was applied "
            "(schema unchanged):\n" + "\n".join(f"  - {p}" for p in problems))

    notes: list[str] = []
    if to_normalise:
        _normalise(db, [v for v, _, _ in to_normalise])
        db.commit()
        notes.append("normalised legacy Estado spellings in logs.Ejecuciones: "
                     + ", ".join(f"{v!r} -> {c!r} ({n} row(s))" for v, n, c in to_normalise))
    only_data = _ids_only_in_data(db)
    if only_data:
        notes.append(f"{only_data} ID_Ejecucion value(s) exist only in extract/staging (their log rows were purged): "
                     "kept as they are; new ids start above them")
    backwards = _backwards_durations(db)
    if backwards:
        notes.append(f"{backwards} legacy run(s) end before they start (FechaFin < FechaInicio): kept as they are; "
                     "their duration shows as unknown")
    db.commit()
    for note in notes:
        log.warning("preflight: %s", note)
    return notes
