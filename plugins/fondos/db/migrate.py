"""Versioned migrations and repeatable objects, for SQL Server and PostgreSQL.

* `migrations/<dialect>/NNN_NAME.sql` run once each, in number order.
* `sql/<dialect>/**/*.sql` (procedures, functions, views) are re-deployed
  whenever their content changes, after the migrations, in path order.

Every file runs in its own transaction together with its row in the history
table, so a file that fails halfway leaves nothing behind -- except a
migration marked `-- fondos: commit-each-statement`, whose statements (T-SQL:
batches) each commit on their own (see COMMIT_EACH). The checksum of
every applied migration is compared before anything runs: an edited applied
migration stops the runner (write a new migration instead). A database lock
(`sp_getapplock` / `pg_advisory_lock`) keeps two runners from migrating at
once. T-SQL files are split on `GO` lines (see `fondos.db.tsql`).

Why not a library: yoyo, dbmate, sqitch and pyway either lack SQL Server or
do not understand `GO` batches, and Alembic wants Python migrations; the two
dialects' plain .sql files are the contract the DBAs review.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fondos.db import backup as backups
from fondos.db import legacy
from fondos.db.connection import Database
from fondos.db.tsql import split_batches
from fondos.settings import MIGRATIONS_DIR, SQL_DIR

log = logging.getLogger(__name__)

LOCK_NAME = "fondos-schema-migrate"
LOCK_KEY = 0x466F6E646F73  # pg_advisory_lock key: "Fondos" in ASCII
LOCK_TIMEOUT_S = 120
_MIGRATION_NAME = re.compile(r"^(\d{3})_[A-Za-z0-9_]+\.sql$")
_PG_OBJECT = re.compile(r"\bCREATE\s+OR\s+REPLACE\s+(FUNCTION|VIEW)\s+(\w+)\.(\w+)", re.I)

HISTORY_DDL = {
    "postgres": """
CREATE TABLE IF NOT EXISTS public.schemahistory (
    nombre varchar(300) PRIMARY KEY,
    tipo varchar(20) NOT NULL,
    checksum char(64) NOT NULL,
    aplicado timestamp NOT NULL DEFAULT now(),
    duracion_ms integer NOT NULL
)""",
    "mssql": """
IF OBJECT_ID(N'dbo.SchemaHistory', N'U') IS NULL
CREATE TABLE dbo.SchemaHistory (
    Nombre VARCHAR(300) NOT NULL CONSTRAINT PK_SchemaHistory PRIMARY KEY,
    Tipo VARCHAR(20) NOT NULL,
    Checksum CHAR(64) NOT NULL,
    Aplicado DATETIME2(3) NOT NULL CONSTRAINT DF_SchemaHistory_Aplicado DEFAULT SYSUTCDATETIME(),
    Duracion_ms INT NOT NULL
)""",
}
HISTORY_TABLE = {"postgres": "public.schemahistory", "mssql": "dbo.SchemaHistory"}


class MigrationError(RuntimeError):
    """A migration could not be applied; nothing of the failing file was kept."""


@dataclass(frozen=True)
class ScriptFile:
    name: str  # "migrations/012_CREATE_PROCESOS_TABLE.sql" or "sql/logs/vw_Procesos.sql"
    kind: str  # "migration" | "repeatable"
    path: Path

    @property
    def checksum(self) -> str:
        # Normalised line endings: a CRLF checkout must not look like an edit.
        text = self.path.read_bytes().replace(b"\r\n", b"\n")
        return hashlib.sha256(text).hexdigest()

    @property
    def version(self) -> int | None:
        m = _MIGRATION_NAME.match(self.path.name)
        return int(m.group(1)) if m and self.kind == "migration" else None


def discover(dialect: str, migrations_dir: Path = MIGRATIONS_DIR, sql_dir: Path = SQL_DIR) -> list[ScriptFile]:
    files: list[ScriptFile] = []
    seen: dict[int, Path] = {}
    for path in sorted((migrations_dir / dialect).glob("*.sql")):
        m = _MIGRATION_NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path}: migration files must be named NNN_NAME.sql")
        number = int(m.group(1))
        if number in seen:
            raise MigrationError(f"{path} and {seen[number]} share the number {number:03d}")
        seen[number] = path
        files.append(ScriptFile(f"migrations/{path.name}", "migration", path))
    base = sql_dir / dialect
    for path in sorted(base.rglob("*.sql")):
        files.append(ScriptFile(f"sql/{path.relative_to(base).as_posix()}", "repeatable", path))
    return files


def _applied(db: Database) -> dict[str, str]:
    table = HISTORY_TABLE[db.dialect]
    # Column names as declared (PascalCase): a case-sensitive SQL Server collation resolves identifiers
    # case-sensitively; PostgreSQL folds them, so the same spelling works on both.
    rows = db.execute(f"SELECT Nombre, Checksum FROM {table}")
    return {r["nombre"]: r["checksum"].strip() for r in rows}


@dataclass
class Status:
    applied: list[str]
    pending: list[str]
    changed_migrations: list[str]  # applied, then edited: an error
    changed_repeatables: list[str]  # will be redeployed

    @property
    def current_version(self) -> int:
        numbers = [int(n.split("/")[1][:3]) for n in self.applied if n.startswith("migrations/")]
        return max(numbers, default=0)


def status(db: Database, files: list[ScriptFile] | None = None) -> Status:
    db.execute_script(HISTORY_DDL[db.dialect])
    db.execute_script(backups.BACKUP_DDL[db.dialect])  # the runner's record of backups, beside its history
    db.commit()
    files = files if files is not None else discover(db.dialect)
    applied = _applied(db)
    db.commit()
    st = Status([], [], [], [])
    for f in files:
        if f.name not in applied:
            st.pending.append(f.name)
        elif applied[f.name] != f.checksum:
            (st.changed_migrations if f.kind == "migration" else st.changed_repeatables).append(f.name)
        else:
            st.applied.append(f.name)
    return st


def _lock(db: Database) -> None:
    if db.dialect == "postgres":
        db.execute("SELECT set_config('lock_timeout', %s, false)", (f"{LOCK_TIMEOUT_S}s",))
        try:
            db.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        except Exception as exc:
            db.rollback()
            raise MigrationError(
                f"another runner holds the migration lock (waited {LOCK_TIMEOUT_S}s); "
                "let it finish, then run `fondos db migrate` again"
            ) from exc
    else:
        rows = db.execute(
            "DECLARE @r INT; EXEC @r = sys.sp_getapplock @Resource = %s, @LockMode = 'Exclusive', "
            "@LockOwner = 'Session', @LockTimeout = %s; SELECT @r AS r;",
            (LOCK_NAME, LOCK_TIMEOUT_S * 1000),
        )
        if not rows or rows[0]["r"] < 0:
            raise MigrationError(
                f"another runner holds the migration lock (waited {LOCK_TIMEOUT_S}s); "
                "let it finish, then run `fondos db migrate` again"
            )
    db.commit()


def _unlock(db: Database) -> None:
    try:
        db.rollback()
        if db.dialect == "postgres":
            db.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        else:
            db.execute(
                "EXEC sys.sp_releaseapplock @Resource = %s, @LockOwner = 'Session';",
                (LOCK_NAME,),
            )
        db.commit()
    except Exception:  # the session ends anyway, and with it the lock
        log.warning("could not release the migration lock explicitly; it ends with the session")


def _line_of(text: str, position: int) -> tuple[int, str]:
    line_no = text.count("\n", 0, max(position - 1, 0)) + 1
    return line_no, text.split("\n")[line_no - 1].strip()


def _drop_pg_objects(db: Database, text: str) -> None:
    """Drop the routines and views a PostgreSQL repeatable file is about to create.

    `CREATE OR REPLACE` cannot change a function's result columns or a view's
    columns; a repeatable file is the whole definition of its objects (this
    project uses no overloads), so the old ones go first, in the same
    transaction as the new ones. Signatures come from the catalog, not from text.
    """
    for kind, schema, name in _PG_OBJECT.findall(text):
        if kind.upper() == "VIEW":
            rows = db.execute(
                "SELECT format('%%I.%%I', schemaname, viewname) AS sig FROM pg_views "
                "WHERE schemaname = lower(%s) AND viewname = lower(%s)", (schema, name))
            for r in rows:
                db.execute_script(f"DROP VIEW {r['sig']}")
        else:
            rows = db.execute(
                "SELECT p.oid::regprocedure::text AS sig FROM pg_proc AS p "
                "JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = lower(%s) AND p.proname = lower(%s)",
                (schema, name))
            for r in rows:
                db.execute_script(f"DROP FUNCTION {r['sig']}")


# A migration whose statements must each commit on their own: PostgreSQL's CREATE INDEX CONCURRENTLY
# cannot run in a transaction, and on SQL Server rebuilding many large tables in one transaction holds
# every Sch-M lock and the whole log to the end. Such a file must be idempotent (IF NOT EXISTS ...):
# after a failure the statements before it stay applied, the file is not recorded, and the next
# `migrate` runs it again from the top.
COMMIT_EACH = re.compile(r"^--\s*fondos:\s*commit-each-statement\s*$", re.M)


def _pg_statements(name: str, text: str) -> list[tuple[int, str]]:
    """(line, statement) of a plain PostgreSQL file, split on ; outside strings and comments."""
    if "$$" in text:
        raise MigrationError(f"{name}: a commit-each-statement file cannot hold $$ bodies (split it)")
    out, start, i, quote = [], 0, 0, False
    while i < len(text):
        ch = text[i]
        if quote:
            quote = ch != "'"
        elif ch == "'":
            quote = True
        elif text.startswith("--", i):
            i = text.find("\n", i)
            if i < 0:
                break
        elif ch == ";":
            stmt = text[start:i + 1]
            if stmt.strip(" \n;") and not all(line.strip().startswith("--") or not line.strip()
                                               for line in stmt.split("\n")):
                lead = len(stmt) - len(stmt.lstrip())
                out.append((text.count("\n", 0, start + lead) + 1, stmt.strip()))
            start = i + 1
        i += 1
    return out


def _apply_each(db: Database, f: ScriptFile, text: str) -> None:
    if db.dialect == "postgres":
        db.conn.autocommit = True
        try:
            for line_no, stmt in _pg_statements(f.name, text):
                try:
                    db.execute_script(stmt)
                except Exception as exc:
                    raise MigrationError(f"{f.name} failed at line {line_no}: {stmt.splitlines()[0]}\n"
                                         f"  {str(exc).strip()}\n  the statements before it stayed applied "
                                         "(commit-each-statement file); fix the cause and migrate again") from exc
        finally:
            db.conn.autocommit = False
        return
    db.execute_script("SET XACT_ABORT ON;")
    for number, batch in enumerate(split_batches(text), start=1):
        try:
            db.execute_script(batch.sql)
            db.commit()
        except Exception as exc:
            db.rollback()
            first = batch.sql.strip().split("\n")[0]
            raise MigrationError(
                f"{f.name} failed in batch {number} (starting at line {batch.start_line}: {first})\n  {exc}\n"
                "  the batches before it stayed committed (commit-each-statement file); fix the cause and "
                "migrate again") from exc


def _apply(db: Database, f: ScriptFile) -> float:
    text = f.path.read_text(encoding="utf-8").replace("\r\n", "\n")
    started = time.monotonic()
    try:
        if f.kind == "migration" and COMMIT_EACH.search(text):
            _apply_each(db, f, text)
        elif db.dialect == "postgres":
            try:
                if f.kind == "repeatable":
                    _drop_pg_objects(db, text)
                db.execute_script(text)
            except Exception as exc:
                where = ""
                pos = getattr(getattr(exc, "diag", None), "statement_position", None)
                if pos:
                    line_no, line = _line_of(text, int(pos))
                    where = f" at line {line_no}: {line}"
                raise MigrationError(f"{f.name} failed{where}\n  {str(exc).strip()}") from exc
        else:
            db.execute_script("SET XACT_ABORT ON;")
            for number, batch in enumerate(split_batches(text), start=1):
                try:
                    db.execute_script(batch.sql)
                except Exception as exc:
                    first = batch.sql.strip().split("\n")[0]
                    raise MigrationError(
                        f"{f.name} failed in batch {number} (starting at line {batch.start_line}: {first})\n"
                        f"  {exc}"
                    ) from exc
        elapsed_ms = int((time.monotonic() - started) * 1000)
        table = HISTORY_TABLE[db.dialect]
        db.execute(f"DELETE FROM {table} WHERE Nombre = %s", (f.name,))
        db.execute(
            f"INSERT INTO {table} (Nombre, Tipo, Checksum, Duracion_ms) VALUES (%s, %s, %s, %s)",
            (f.name, f.kind, f.checksum, elapsed_ms),
        )
        db.commit()
        return elapsed_ms
    except BaseException:
        db.rollback()
        raise


def migrate(db: Database, target: int | None = None, files: list[ScriptFile] | None = None,
            backup: backups.BackupPlan | None = None,
            on_backup: Callable[[backups.BackupRecord], None] | None = None) -> list[str]:
    """Apply pending migrations (up to `target` if given), then changed repeatables.

    With a `target`, repeatable objects are not deployed: they are written for
    the latest schema. Returns the names of the files applied.

    When a risky migration (012-015, or a file marked `-- fondos: risky`) is to
    run on a database that holds rows, `backup` must say how it is backed up
    (see fondos.db.backup); without it the runner refuses with nothing applied.
    The backup comes before the legacy preflight, which may normalise rows.
    """
    files = files if files is not None else discover(db.dialect)
    _lock(db)  # first: even creating the history table must not race another runner
    done: list[str] = []
    try:
        st = status(db, files)
        if st.changed_migrations:
            raise MigrationError(
                "applied migration(s) were edited since they ran: "
                + ", ".join(st.changed_migrations)
                + ". Restore the original file(s) and put the change in a new migration."
            )
        todo = set(st.pending) | set(st.changed_repeatables)
        risky = _risky_pending(files, todo, target)
        if risky and backups.holds_data(db):
            record = backups.ensure(db, backup, risky)
            if on_backup is not None:
                on_backup(record)
        if legacy.needed(st.pending, target):
            legacy.preflight(db)  # before 012: refuses unmigratable history with nothing applied
        for f in files:
            if f.name not in todo:
                continue
            if f.kind == "migration" and target is not None and (f.version or 0) > target:
                continue
            if f.kind == "repeatable" and target is not None:
                continue
            try:
                ms = _apply(db, f)
            except MigrationError as exc:
                kept = (f"committed before it in this run: {', '.join(done)}" if done
                        else "nothing else was applied in this run")
                this = ("its statements before the failing one stayed applied (commit-each-statement)"
                        if f.kind == "migration" and COMMIT_EACH.search(f.path.read_text(encoding="utf-8"))
                        else "it was rolled back whole")
                raise MigrationError(f"{exc}\n  {f.name}: {this}; {kept}.") from exc
            log.info("applied %s (%d ms)", f.name, ms)
            done.append(f.name)
        if target is None:
            _ids_above_history(db)
    finally:
        _unlock(db)
    return done


def _risky_pending(files: list[ScriptFile], todo: set[str], target: int | None) -> list[str]:
    return [f.name for f in files
            if f.kind == "migration" and f.name in todo and (target is None or (f.version or 0) <= target)
            and backups.is_risky(f.version, f.path.read_text(encoding="utf-8"))]


def _ids_above_history(db: Database) -> None:
    """logs.Seq_ID above every id anywhere, re-checked on every migrate (a restored legacy row can be higher)."""
    if db.dialect == "postgres":
        if not db.execute("SELECT to_regproc('logs.sp_ajustar_secuencia_id') IS NOT NULL AS x")[0]["x"]:
            return  # a partial tree (tests) or a schema below 012
        rows = db.execute("SELECT anterior, siguiente FROM logs.sp_Ajustar_Secuencia_ID()")
    else:
        if db.execute("SELECT OBJECT_ID(N'logs.sp_Ajustar_Secuencia_ID', N'P') AS x")[0]["x"] is None:
            return
        rows = db.execute("EXEC logs.sp_Ajustar_Secuencia_ID")
    db.commit()
    if rows and rows[0]["anterior"] != rows[0]["siguiente"]:
        log.warning("logs.Seq_ID moved from %s to %s: ids at or above its next value exist in the database",
                    rows[0]["anterior"], rows[0]["siguiente"])
