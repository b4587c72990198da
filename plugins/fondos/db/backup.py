"""A verified backup before the migrations that rewrite existing data (the plan's Riesgo 2 and FASE 4).

Migrations 012-015 turn the legacy history into procesos and ejecuciones; a later
migration marked `-- fondos: risky` joins them. When one of them is pending and
the database holds rows, `fondos db migrate` needs one of three answers first,
or it refuses with nothing applied:

* `--backup-dir DIR`: take a backup now and verify it.
  - PostgreSQL: `pg_dump --format=custom` from the server's own binaries (the
    embedded server's, or `FONDOS_PG_BIN`, or the first on PATH), under the
    snapshot the source fingerprint was read in; then `pg_restore` into a
    scratch database, whose tables, row counts and row-hash sums, and sequence
    values must equal the source's. The scratch database is dropped after.
  - SQL Server: `BACKUP DATABASE ... WITH COPY_ONLY, CHECKSUM` to a new file
    in DIR (a path on the database server), then `RESTORE VERIFYONLY ... WITH
    CHECKSUM`. COPY_ONLY leaves the DBA's backup chain as it was.
* `--backup FILE`: the operator already has one. It must be readable and of this
  database (`pg_restore --list`; `RESTORE HEADERONLY` + `VERIFYONLY`).
* `--sin-backup REASON`: none is wanted (a test copy); the reason is recorded.

Every answer is recorded in the runner's own table (`public.schemabackups` /
`dbo.SchemaBackups`, beside the history table) with its path, size,
verification, the pending migrations and who ran it, and printed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fondos.db.connection import Database
from fondos.settings import usuario_local

log = logging.getLogger(__name__)

RISKY_VERSIONS = frozenset({12, 13, 14, 15})
RISKY_MARK = re.compile(r"^--\s*fondos:\s*risky\s*$", re.M)
DATA_SCHEMAS = ("config", "source", "logs", "extract", "staging")
PG_DUMP_TIMEOUT_S = 6 * 3600

BACKUP_DDL = {
    "postgres": """
CREATE TABLE IF NOT EXISTS public.schemabackups (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fecha timestamp NOT NULL DEFAULT now(),
    tipo varchar(20) NOT NULL,
    ruta varchar(1000) NULL,
    bytes bigint NULL,
    verificacion varchar(2000) NOT NULL,
    motivo varchar(1000) NULL,
    usuario varchar(200) NOT NULL,
    migraciones varchar(2000) NOT NULL
)""",
    "mssql": """
IF OBJECT_ID(N'dbo.SchemaBackups', N'U') IS NULL
CREATE TABLE dbo.SchemaBackups (
    ID INT IDENTITY(1, 1) NOT NULL CONSTRAINT PK_SchemaBackups PRIMARY KEY,
    Fecha DATETIME2(3) NOT NULL CONSTRAINT DF_SchemaBackups_Fecha DEFAULT SYSUTCDATETIME(),
    Tipo VARCHAR(20) NOT NULL,
    Ruta NVARCHAR(1000) NULL,
    Bytes BIGINT NULL,
    Verificacion NVARCHAR(2000) NOT NULL,
    Motivo NVARCHAR(1000) NULL,
    Usuario NVARCHAR(200) NOT NULL,
    Migraciones VARCHAR(2000) NOT NULL
)""",
}
BACKUP_TABLE = {"postgres": "public.schemabackups", "mssql": "dbo.SchemaBackups"}

# SQL Server. BACKUP and RESTORE take variables for the database and the device, so the path is bound,
# never formatted in. Both refuse to run inside a transaction: the connection is put in autocommit.
MSSQL_BACKUP = (
    "DECLARE @bd SYSNAME = DB_NAME(); DECLARE @ruta NVARCHAR(4000) = %s; "
    "BACKUP DATABASE @bd TO DISK = @ruta WITH COPY_ONLY, CHECKSUM, INIT, NAME = N'fondos db migrate';"
)
MSSQL_VERIFY = (
    "DECLARE @ruta NVARCHAR(4000) = %s; DECLARE @pos INT = %s; "
    "RESTORE VERIFYONLY FROM DISK = @ruta WITH FILE = @pos, CHECKSUM;"
)
# BACKUP needs db_owner or db_backupoperator; RESTORE VERIFYONLY and HEADERONLY need CREATE DATABASE permission,
# which a database owner's login usually lacks: checked first, so nothing large is written in vain.
MSSQL_PERMS = (
    "SELECT HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'BACKUP DATABASE') AS respaldar, "
    "HAS_PERMS_BY_NAME(NULL, NULL, 'CREATE ANY DATABASE') AS verificar;"
)
MSSQL_HEADER = "DECLARE @ruta NVARCHAR(4000) = %s; RESTORE HEADERONLY FROM DISK = @ruta;"
MSSQL_SIZE = (
    "SELECT TOP (1) s.backup_size AS bytes, s.compressed_backup_size AS comprimido "
    "FROM msdb.dbo.backupset AS s "
    "INNER JOIN msdb.dbo.backupmediafamily AS m ON m.media_set_id = s.media_set_id "
    "WHERE s.database_name = DB_NAME() AND m.physical_device_name = %s "
    "ORDER BY s.backup_set_id DESC;"
)


class BackupError(RuntimeError):
    """No backup was given, or the one given could not be taken or verified; nothing was applied."""


@dataclass(frozen=True)
class BackupPlan:
    """The operator's answer: take one in `path` (a directory), one exists at `path`, or none (`motivo`)."""

    tipo: str  # "tomado" | "existente" | "ninguno"
    path: str | None = None
    motivo: str | None = None

    @classmethod
    def take(cls, directory: str) -> BackupPlan:
        return cls("tomado", path=directory)

    @classmethod
    def existing(cls, path: str) -> BackupPlan:
        return cls("existente", path=path)

    @classmethod
    def none(cls, motivo: str) -> BackupPlan:
        if not (motivo or "").strip():
            raise BackupError("--sin-backup needs a reason (it is recorded), e.g. --sin-backup 'test copy'")
        return cls("ninguno", motivo=motivo.strip())


@dataclass(frozen=True)
class BackupRecord:
    tipo: str
    ruta: str | None
    bytes: int | None
    verificacion: str
    motivo: str | None
    migraciones: list[str]

    def describe(self) -> str:
        if self.tipo == "ninguno":
            return f"no backup before {', '.join(self.migraciones)} (reason recorded: {self.motivo})"
        size = f"{self.bytes:,} bytes" if self.bytes is not None else "size unknown"
        what = "backup taken" if self.tipo == "tomado" else "existing backup"
        return f"{what}: {self.ruta} ({size}); {self.verificacion}"


def is_risky(version: int | None, text: str) -> bool:
    return version in RISKY_VERSIONS or bool(RISKY_MARK.search(text))


def holds_data(db: Database) -> bool:
    """True when any table of the fund schemas has a row (an empty schema has nothing to lose)."""
    if db.dialect == "postgres":
        tables = db.execute(
            "SELECT format('%%I.%%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = ANY(%s)",
            (list(DATA_SCHEMAS),))
        probe = "SELECT EXISTS (SELECT 1 FROM {}) AS x"
    else:
        tables = db.execute(
            "SELECT QUOTENAME(s.name) + '.' + QUOTENAME(t.name) AS t FROM sys.tables AS t "
            "INNER JOIN sys.schemas AS s ON s.schema_id = t.schema_id "
            "WHERE s.name IN ('config', 'source', 'logs', 'extract', 'staging')")
        probe = "SELECT CASE WHEN EXISTS (SELECT 1 FROM {}) THEN 1 ELSE 0 END AS x"
    # names come quoted from the catalog (format %I / QUOTENAME), never from input
    found = any(db.execute(probe.format(r["t"]))[0]["x"] for r in tables)
    db.commit()
    return found


def required_message(risky: list[str]) -> str:
    numbers = ", ".join(n.split("/")[-1][:3] for n in risky)
    return (
        f"pending migration(s) {numbers} rewrite data this database already holds (the plan: back up before "
        "migrating), and no backup was given, so nothing was applied. Run again with one of:\n"
        "  fondos db migrate --backup-dir DIR       take a backup now and verify it (SQL Server: DIR is a path "
        "on the database server)\n"
        "  fondos db migrate --backup FILE          a backup you already took (checked readable and of this database)\n"
        "  fondos db migrate --sin-backup REASON    go on without one; the reason is recorded")


def ensure(db: Database, plan: BackupPlan | None, risky: list[str]) -> BackupRecord:
    """Take or check the backup the plan names and record it; BackupError when there is none."""
    if plan is None:
        raise BackupError(required_message(risky))
    if plan.tipo == "ninguno":
        record = BackupRecord("ninguno", None, None, "none: the operator chose to go on without a backup",
                              plan.motivo, risky)
    elif db.dialect == "postgres":
        record = _pg_take(db, plan.path, risky) if plan.tipo == "tomado" else _pg_existing(db, plan.path, risky)
    else:
        record = _mssql_take(db, plan.path, risky) if plan.tipo == "tomado" else _mssql_existing(db, plan.path, risky)
    _record(db, record)
    log.info("%s", record.describe())
    return record


def _record(db: Database, r: BackupRecord) -> None:
    """Called by migrate() after status(), which created the table."""
    db.execute(
        f"INSERT INTO {BACKUP_TABLE[db.dialect]} (Tipo, Ruta, Bytes, Verificacion, Motivo, Usuario, Migraciones) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (r.tipo, r.ruta, r.bytes, r.verificacion[:2000], r.motivo, usuario_local(200), ", ".join(r.migraciones)[:2000]))
    db.commit()


def last_record(db: Database) -> dict | None:
    """The newest record; after fondos.db.migrate.status(), which creates the table."""
    top = "TOP (1) " if db.dialect == "mssql" else ""
    limit = "" if db.dialect == "mssql" else " LIMIT 1"
    rows = db.execute(f"SELECT {top}Fecha, Tipo, Ruta, Bytes, Verificacion, Motivo, Usuario, Migraciones "
                      f"FROM {BACKUP_TABLE[db.dialect]} ORDER BY ID DESC{limit}")
    db.commit()
    return rows[0] if rows else None


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


# --- PostgreSQL ----------------------------------------------------------------------------------

def pg_bin(tool: str) -> str:
    """`tool` (pg_dump, pg_restore) from FONDOS_PG_BIN (which the checkout's embedded server sets to its own
    install), or PATH."""
    candidates = []
    if os.environ.get("FONDOS_PG_BIN"):
        candidates.append(Path(os.environ["FONDOS_PG_BIN"]) / tool)
    for c in candidates:
        if c.is_file():
            return str(c)
    found = shutil.which(tool)
    if not found:
        raise BackupError(f"{tool} not found: set FONDOS_PG_BIN to the bin directory of the server's PostgreSQL")
    return found


def _pg_env(db: Database, dbname: str | None = None) -> tuple[list[str], dict]:
    info = db.conn.info
    args = ["-h", info.host, "-p", str(info.port), "-U", info.user, "-d", dbname or info.dbname]
    env = dict(os.environ)
    if info.password:
        env["PGPASSWORD"] = info.password  # the environment, never the command line (ps shows it)
    return args, env


def _run(argv: list[str], env: dict, what: str) -> str:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{what} did not finish in {PG_DUMP_TIMEOUT_S} s; nothing was applied") from exc
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}); nothing was applied:\n  {done.stderr.strip()}")
    return done.stdout


def pg_fingerprint(db: Database) -> dict[str, tuple]:
    """Every user table's row count and sum of row hashes (order-free), and every sequence's value."""
    from psycopg import sql

    out: dict[str, tuple] = {}
    tables = db.execute("SELECT schemaname AS s, tablename AS t FROM pg_tables "
                        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2")
    for r in tables:
        query = sql.SQL("SELECT COUNT(*) AS n, COALESCE(SUM(hashtextextended(x::text, 0)::numeric), 0) AS h "
                        "FROM {}.{} AS x").format(sql.Identifier(r["s"]), sql.Identifier(r["t"]))
        row = db.execute(query.as_string(db.conn))[0]
        out[f"{r['s']}.{r['t']}"] = (int(row["n"]), str(row["h"]))
    for r in db.execute("SELECT schemaname AS s, sequencename AS q, last_value AS v FROM pg_sequences"):
        out[f"sequence {r['s']}.{r['q']}"] = (r["v"],)
    return out


def _pg_take(db: Database, directory: str | None, risky: list[str]) -> BackupRecord:
    folder = Path(directory or ".").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    info = db.conn.info
    path = folder / f"{info.dbname}_{_stamp()}_antes_de_{risky[0].split('/')[-1][:3]}.dump"
    args, env = _pg_env(db)
    db.rollback()
    # The fingerprint and the dump read one snapshot, so a writer between them cannot make them differ.
    db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    snapshot = db.execute("SELECT pg_export_snapshot() AS s")[0]["s"]
    try:
        source = pg_fingerprint(db)
        _run([pg_bin("pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--file", str(path), *args],
             env, "pg_dump")
    finally:
        db.rollback()
    verification = _pg_verify(db, path, source)
    return BackupRecord("tomado", str(path), path.stat().st_size, verification, None, risky)


def _pg_connect(db: Database, dbname: str, autocommit: bool = True):
    """A new connection as `db`'s login to another database of the same server."""
    import psycopg

    params = db.conn.info.get_parameters()  # host, port, user: never the password
    params["dbname"] = dbname
    if db.conn.info.password:
        params["password"] = db.conn.info.password
    return psycopg.connect(**params, autocommit=autocommit)


def _pg_verify(db: Database, path: Path, source: dict[str, tuple]) -> str:
    import psycopg
    from psycopg import sql

    scratch = f"fondos_verifica_{os.getpid()}_{int(time.time())}"
    with _pg_connect(db, "postgres") as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        except psycopg.Error as exc:
            raise BackupError(f"the backup {path} was written but cannot be verified: creating the scratch "
                              f"database {scratch} failed ({str(exc).strip()}); nothing was applied. Give the "
                              "login CREATEDB, or verify it yourself and pass --backup FILE") from exc
        try:
            args, env = _pg_env(db, scratch)
            _run([pg_bin("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", *args, str(path)],
                 env, f"pg_restore of {path} into {scratch}")
            with _pg_connect(db, scratch, autocommit=False) as raw:
                restored = pg_fingerprint(Database(raw, "postgres", "psycopg"))
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
    differ = sorted(k for k in set(source) | set(restored) if source.get(k) != restored.get(k))
    if differ:
        raise BackupError(f"the backup {path} does not restore to this database: {', '.join(differ[:10])} "
                          "differ (row count, row hashes or sequence value); nothing was applied")
    tables = sum(1 for k in source if not k.startswith("sequence "))
    rows = sum(v[0] for k, v in source.items() if not k.startswith("sequence "))
    return (f"verified: restored into a scratch database, {tables} tables ({rows:,} rows) and "
            f"{len(source) - tables} sequence(s) equal the source")


def _pg_existing(db: Database, path: str | None, risky: list[str]) -> BackupRecord:
    file = Path(path or "")
    if not file.is_file():
        raise BackupError(f"--backup {path}: no such file here; nothing was applied")
    args, env = _pg_env(db)
    listing = _run([pg_bin("pg_restore"), "--list", str(file)], env, f"pg_restore --list {file}")
    name = re.search(r"^;\s+dbname:\s*(\S+)", listing, re.M)
    if not name or name.group(1) != db.conn.info.dbname:
        raise BackupError(f"--backup {file} is a backup of database {name.group(1) if name else '?'}, "
                          f"not {db.conn.info.dbname}; nothing was applied")
    made = re.search(r"^;\s+Archive created at (.+)$", listing, re.M)
    entries = sum(1 for line in listing.splitlines() if line and not line.startswith(";"))
    return BackupRecord("existente", str(file.resolve()), file.stat().st_size,
                        f"readable (pg_restore --list: {entries} entries, made {made.group(1) if made else '?'}); "
                        "not restored", None, risky)


# --- SQL Server ----------------------------------------------------------------------------------

def _set_autocommit(db: Database, on: bool) -> None:
    if db.driver == "pymssql":
        db.conn.autocommit(on)
    else:
        db.conn.autocommit = on


def mssql_backup_path(directory: str, database_name: str, first: str) -> str:
    """A new file name in the operator's directory, with the server's own separator."""
    sep = "\\" if "\\" in directory or re.match(r"^[A-Za-z]:", directory) else "/"
    return f"{directory.rstrip(sep)}{sep}{database_name}_{_stamp()}_antes_de_{first}.bak"


def _mssql_permissions(db: Database, take: bool) -> None:
    row = db.execute(MSSQL_PERMS)[0]
    db.commit()
    if take and row["respaldar"] != 1:
        raise BackupError("this login may not BACKUP DATABASE (db_owner or db_backupoperator needed); nothing "
                          "was applied")
    if row["verificar"] != 1:
        raise BackupError("this login cannot verify a backup: RESTORE VERIFYONLY and HEADERONLY need CREATE "
                          "DATABASE permission (e.g. GRANT CREATE ANY DATABASE in master for the migration window, "
                          "then revoke it); nothing was written and nothing was applied")


def _mssql_take(db: Database, directory: str | None, risky: list[str]) -> BackupRecord:
    if not directory:
        raise BackupError("--backup-dir needs a directory on the database server")
    db.commit()
    _mssql_permissions(db, take=True)
    name = db.execute("SELECT DB_NAME() AS n")[0]["n"]
    db.commit()
    path = mssql_backup_path(directory, name, risky[0].split("/")[-1][:3])
    _set_autocommit(db, True)
    try:
        try:
            db.execute(MSSQL_BACKUP, (path,))
        except Exception as exc:
            raise BackupError(f"BACKUP DATABASE to {path} failed; nothing was applied:\n  {exc}") from exc
        try:
            db.execute(MSSQL_VERIFY, (path, 1))
        except Exception as exc:
            raise BackupError(f"RESTORE VERIFYONLY of {path} failed; nothing was applied:\n  {exc}") from exc
        size = _mssql_size(db, path)
    finally:
        _set_autocommit(db, False)
    return BackupRecord("tomado", path, size, "verified: BACKUP ... COPY_ONLY, CHECKSUM; RESTORE VERIFYONLY "
                        "WITH CHECKSUM passed", None, risky)


def _mssql_size(db: Database, path: str) -> int | None:
    try:
        rows = db.execute(MSSQL_SIZE, (path,))
    except Exception:  # msdb not readable by this login: the size is unknown, the backup is verified
        log.warning("could not read msdb.dbo.backupset for the backup's size")
        return None
    return int(rows[0]["comprimido"] or rows[0]["bytes"]) if rows else None


def newest_full_backup(header: list[dict], database_name: str) -> dict | None:
    """The newest full backup set (BackupType 1) of `database_name` with checksums and not damaged."""
    usable = [h for h in header if h.get("backuptype") == 1 and h.get("hasbackupchecksums")
              and not h.get("isdamaged") and str(h.get("databasename", "")).casefold() == database_name.casefold()]
    return max(usable, key=lambda h: h["position"], default=None)


def _mssql_existing(db: Database, path: str | None, risky: list[str]) -> BackupRecord:
    if not path:
        raise BackupError("--backup needs the backup file's path on the database server")
    db.commit()
    _mssql_permissions(db, take=False)
    name = db.execute("SELECT DB_NAME() AS n")[0]["n"]
    db.commit()
    _set_autocommit(db, True)
    try:
        try:
            header = db.execute(MSSQL_HEADER, (path,))
        except Exception as exc:
            raise BackupError(f"--backup {path} could not be read; nothing was applied:\n  {exc}") from exc
        chosen = newest_full_backup(header, name)
        if chosen is None:
            kinds = ", ".join(sorted({f"{h.get('databasename')} type {h.get('backuptype')}" for h in header}))
            raise BackupError(f"--backup {path} holds no full backup of {name} taken WITH CHECKSUM (it holds: "
                              f"{kinds or 'nothing'}); nothing was applied. Take one with --backup-dir")
        try:
            db.execute(MSSQL_VERIFY, (path, int(chosen["position"])))
        except Exception as exc:
            raise BackupError(f"RESTORE VERIFYONLY of {path} (backup set {chosen['position']}) failed; nothing "
                              f"was applied:\n  {exc}") from exc
    finally:
        _set_autocommit(db, False)
    size = chosen.get("compressedbackupsize") or chosen.get("backupsize")
    return BackupRecord("existente", path, int(size) if size else None,
                        f"full backup set {chosen['position']} of {name}, finished {chosen.get('backupfinishdate')} on "
                        f"{chosen.get('servername')}: RESTORE VERIFYONLY WITH FILE, CHECKSUM passed; not restored",
                        None, risky)
