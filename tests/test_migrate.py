"""The migration runner against a real database (PostgreSQL here; SQL Server when reachable)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest

from fondos.db import migrate as runner
from fondos.db.connection import open_database
from fondos.db.migrate import MigrationError, discover, migrate, status
from fondos.settings import MIGRATIONS_DIR, SQL_DIR

ROOT = MIGRATIONS_DIR.parent
LATEST = 30  # the newest migration: a new one must update this line (and the table in docs/migrations.md)


def _table_exists(db, schema, table):
    rows = db.execute(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE LOWER(table_schema) = %s AND LOWER(table_name) = %s",
        (schema.lower(), table.lower()),
    )
    db.commit()
    return rows[0]["n"] == 1


@pytest.fixture
def copy_tree(tmp_path):
    """A private copy of migrations/ and sql/ that a test may edit."""
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "migrations")
    shutil.copytree(SQL_DIR, tmp_path / "sql")
    return tmp_path


def test_migrates_to_latest_and_second_run_is_a_no_op(fresh_db):
    db = open_database()
    files = discover(db.dialect)
    applied = migrate(db)
    assert applied == [f.name for f in files]
    st = status(db)
    assert st.pending == [] and st.changed_migrations == [] and st.changed_repeatables == []
    assert st.current_version == max(f.version for f in files if f.version) == LATEST
    assert migrate(db) == []
    assert _table_exists(db, "logs", "Procesos")
    db.close()


def test_target_stops_at_that_migration(fresh_db):
    db = open_database()
    applied = migrate(db, target=11)
    assert applied[-1].startswith("migrations/011_")
    assert status(db).current_version == 11
    assert not _table_exists(db, "logs", "Procesos")
    db.close()


def test_edited_applied_migration_is_refused_and_nothing_runs(fresh_db, copy_tree):
    db = open_database()
    files = discover(db.dialect, copy_tree / "migrations", copy_tree / "sql")
    migrate(db, target=5, files=files)
    edited = copy_tree / "migrations" / db.dialect / "002_CREATE_CONFIG_FONDOS.sql"
    edited.write_text(edited.read_text() + "\n-- a harmless-looking edit\n")
    with pytest.raises(MigrationError, match="002_CREATE_CONFIG_FONDOS.sql") as err:
        migrate(db, files=discover(db.dialect, copy_tree / "migrations", copy_tree / "sql"))
    assert "new migration" in str(err.value)
    assert status(db, files).current_version == 5  # 006+ did not run
    assert not _table_exists(db, "extract", "IPA")
    db.close()


def test_crlf_checkout_is_not_an_edit(fresh_db, copy_tree):
    db = open_database()
    migrate(db, target=3, files=discover(db.dialect, copy_tree / "migrations", copy_tree / "sql"))
    f = copy_tree / "migrations" / db.dialect / "003_CREATE_SOURCE_TABLES.sql"
    assert b"\r\n" not in f.read_bytes()
    f.write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))
    files = discover(db.dialect, copy_tree / "migrations", copy_tree / "sql")
    st = status(db, files)
    assert st.changed_migrations == [] and "migrations/003_CREATE_SOURCE_TABLES.sql" in st.applied
    # and the runner goes on past it: the rest migrates, 003 is not applied again
    applied = migrate(db, target=5, files=files)
    assert applied == ["migrations/004_CREATE_LOGS_EJECUCIONES.sql", "migrations/005_CREATE_LOGS_EJECUCION_FONDOS.sql"]
    db.close()


def test_file_failing_halfway_leaves_nothing_and_names_file_and_line(fresh_db, copy_tree):
    db = open_database()
    mig = copy_tree / "migrations" / db.dialect
    bad = mig / "999_BROKEN.sql"
    if db.dialect == "postgres":
        bad.write_text("CREATE TABLE config.Parcial (a INTEGER);\n\nINSERT INTO config.NoExiste VALUES (1);\n")
    else:
        bad.write_text("CREATE TABLE config.Parcial (a INT);\nGO\n\nINSERT INTO config.NoExiste VALUES (1);\nGO\n")
    files = discover(db.dialect, copy_tree / "migrations", copy_tree / "sql")
    with pytest.raises(MigrationError) as err:
        migrate(db, files=files)
    message = str(err.value)
    assert "999_BROKEN.sql" in message
    assert "line 3" in message or "line 4" in message
    assert "NoExiste".lower() in message.lower()
    assert not _table_exists(db, "config", "Parcial")
    st = status(db, files)
    assert "migrations/999_BROKEN.sql" in st.pending
    assert st.current_version == LATEST  # everything before the broken file stayed applied
    db.close()


def test_changed_repeatable_is_redeployed(fresh_db, copy_tree):
    db = open_database()
    sql_dir = copy_tree / "sql" / db.dialect
    view = sql_dir / "zz_test" / "vw_Prueba.sql"
    view.parent.mkdir(parents=True)
    create = "CREATE OR REPLACE VIEW" if db.dialect == "postgres" else "CREATE OR ALTER VIEW"
    view.write_text(f"{create} logs.vw_Prueba AS SELECT 1 AS Uno;\n")
    files = lambda: discover(db.dialect, copy_tree / "migrations", copy_tree / "sql")  # noqa: E731
    assert "sql/zz_test/vw_Prueba.sql" in migrate(db, files=files())
    assert migrate(db, files=files()) == []
    view.write_text(f"{create} logs.vw_Prueba AS SELECT 2 AS Uno;\n")
    assert status(db, files()).changed_repeatables == ["sql/zz_test/vw_Prueba.sql"]
    assert migrate(db, files=files()) == ["sql/zz_test/vw_Prueba.sql"]
    assert db.execute("SELECT Uno FROM logs.vw_Prueba")[0]["uno"] == 2
    db.close()


def test_two_runners_at_once_apply_each_file_once(fresh_db, monkeypatch):
    """Both runners reach the lock at the same moment (a barrier inside _lock), so the lock is contended."""
    results, errors = [], []
    barrier = threading.Barrier(2, timeout=60)
    real_lock, waited = runner._lock, []

    def contended_lock(db):
        barrier.wait()
        real_lock(db)
        waited.append(("locked", time.monotonic()))

    def recorded_unlock(db):
        waited.append(("unlocking", time.monotonic()))
        real_unlock(db)

    real_unlock = runner._unlock
    monkeypatch.setattr(runner, "_lock", contended_lock)
    monkeypatch.setattr(runner, "_unlock", recorded_unlock)

    def run():
        db = open_database()
        try:
            results.append(migrate(db))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    applied = sorted(results[0] + results[1])
    db = open_database()
    assert applied == sorted(f.name for f in discover(db.dialect))  # each file exactly once
    assert sorted(len(r) == 0 for r in results) == [False, True]  # one did everything, the other nothing
    # the second took the lock only after the first had finished migrating and let it go
    assert [event for event, _ in sorted(waited, key=lambda e: e[1])] == ["locked", "unlocking", "locked", "unlocking"]
    db.close()


def test_lock_held_elsewhere_gives_a_clear_error(fresh_pg_db, monkeypatch):
    holder = open_database()
    holder.execute("SELECT pg_advisory_lock(%s)", (runner.LOCK_KEY,))
    holder.commit()
    monkeypatch.setattr(runner, "LOCK_TIMEOUT_S", 1)
    db = open_database()
    try:
        with pytest.raises(MigrationError, match="another runner holds the migration lock"):
            migrate(db)
    finally:
        db.close()
        holder.close()


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "fondos", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}, cwd=ROOT,
    )


def test_cli_unreachable_database_fails_with_a_clear_message(tmp_path):
    conn = '{"conn_type": "postgres", "host": "%s", "login": "postgres", "schema": "fondos"}' % (tmp_path / "nowhere")
    result = _cli("db", "migrate", env={"AIRFLOW_CONN_FONDOS_DB": conn})
    assert result.returncode == 1
    assert result.stderr.startswith("fondos: error:")
    assert "nowhere" in result.stderr  # says where it tried
    assert "Traceback" not in result.stderr


def test_cli_migrate_and_status(fresh_pg_db):
    result = _cli("db", "migrate")
    assert result.returncode == 0, result.stderr
    assert "applied migrations/015_BACKFILL_ID_PROCESO.sql" in result.stdout
    result = _cli("db", "status")
    assert result.returncode == 0, result.stderr
    assert "pending: 0" in result.stdout


def test_history_columns_are_spelled_as_declared_for_case_sensitive_collations():
    """A SQL Server database with a case-sensitive collation resolves column names case-sensitively."""
    import inspect
    import re

    from fondos.db import migrate as runner

    declared = re.findall(r"^\s{4}(\w+) [A-Z]", runner.HISTORY_DDL["mssql"], re.M)
    assert declared == ["Nombre", "Tipo", "Checksum", "Aplicado", "Duracion_ms"]
    statements = re.findall(r'f"((?:SELECT|DELETE|INSERT)[^"]*\{table\}[^"]*)"', inspect.getsource(runner))
    assert len(statements) == 3
    for statement in statements:
        for word in re.findall(r"\w+", statement):
            if word.lower() in {d.lower() for d in declared}:
                assert word in declared, (word, statement)


def test_commit_each_statement_migration_keeps_what_ran_and_finishes_when_run_again(fresh_pg_db, copy_tree):
    """PostgreSQL: CREATE INDEX CONCURRENTLY cannot run in a transaction; a marked file runs statement by
    statement. A failure keeps the statements before it, records nothing, and the next migrate finishes."""
    db = open_database()
    mig = copy_tree / "migrations" / "postgres"
    each = mig / "999_EACH.sql"
    each.write_text(
        "-- 999_EACH\n-- fondos: commit-each-statement\n\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_prueba ON config.Fondos (Moneda_Base);\n"
        "CREATE TABLE IF NOT EXISTS config.Paso2 (a INTEGER); -- a comment; with a semicolon\n"
        "INSERT INTO config.Paso2 VALUES (1);\n"
        "INSERT INTO config.NoExiste VALUES ('x;y');\n")
    files = discover("postgres", copy_tree / "migrations", copy_tree / "sql")
    with pytest.raises(MigrationError) as err:
        migrate(db, files=files)
    message = str(err.value)
    assert "999_EACH.sql failed at line 7: INSERT INTO config.NoExiste" in message and "stayed applied" in message
    index = db.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('config.ix_prueba')")
    assert index == [{"indisvalid": True}]
    assert db.execute("SELECT COUNT(*) AS n FROM config.Paso2")[0]["n"] == 1
    assert "migrations/999_EACH.sql" in status(db, files).pending
    db.commit()

    each.write_text(each.read_text().replace("INSERT INTO config.NoExiste VALUES ('x;y');\n",
                                             "CREATE TABLE IF NOT EXISTS config.Paso3 (a INTEGER);\n"))
    files = discover("postgres", copy_tree / "migrations", copy_tree / "sql")
    assert "migrations/999_EACH.sql" in migrate(db, files=files)
    assert status(db, files).pending == []
    assert _table_exists(db, "config", "Paso3")
    db.close()


def test_tsql_017_commits_each_batch_and_every_batch_is_idempotent():
    """SQL Server cannot run here: 017's 19 clustered-index rebuilds must not share one transaction."""
    from fondos.db.migrate import COMMIT_EACH
    from fondos.db.tsql import split_batches

    text = (MIGRATIONS_DIR / "mssql" / "017_CLUSTER_EXTRACT_STAGING_BY_EJECUCION.sql").read_text()
    assert COMMIT_EACH.search(text)
    batches = [b.sql.strip() for b in split_batches(text)]
    assert len(batches) >= 3 * 19
    for sql in batches:
        code = "\n".join(line for line in sql.splitlines() if not line.startswith("--")).strip()
        assert (code.startswith(("IF\n", "IF ")) and ("EXISTS" in code)) or \
            code.startswith("EXEC (N'ALTER TABLE"), code[:80]


def test_tsql_run_key_is_nvarchar_in_the_column_and_the_parameter():
    """SQL Server cannot run here: a VARCHAR run key turned characters outside the code page into '?'.
    024 changes the column (dropping and re-creating 012's filtered unique index around it, unchanged);
    the procedure's parameter and the variables compared with the column follow."""
    text = (MIGRATIONS_DIR / "mssql" / "024_CLAVE_EJECUCION_NVARCHAR.sql").read_text()
    alter = text.index("ALTER TABLE logs.Procesos ALTER COLUMN ClaveEjecucion NVARCHAR(250) NULL;")
    assert text.index("DROP INDEX UX_Procesos_ClaveEjecucion ON logs.Procesos;") < alter
    index = ("CREATE UNIQUE NONCLUSTERED INDEX UX_Procesos_ClaveEjecucion\n        ON logs.Procesos (ClaveEjecucion)\n"
             "        WHERE ClaveEjecucion IS NOT NULL;")
    assert text.index(index) > alter
    assert index in (MIGRATIONS_DIR / "mssql" / "012_CREATE_PROCESOS_TABLE.sql").read_text()
    assert "SET QUOTED_IDENTIFIER ON;" in text and "SET ANSI_NULLS ON;" in text  # a filtered index needs them
    assert "COMMIT_EACH" not in text and "fondos: commit-each-statement" not in text  # one transaction
    procedure = (SQL_DIR / "mssql" / "logs" / "sp_Inicializar_Proceso.sql").read_text()
    assert "@ClaveEjecucion NVARCHAR(250)," in procedure
    assert not re.search(r"Clave\w* VARCHAR", procedure)
    assert (MIGRATIONS_DIR / "postgres" / "024_CLAVE_EJECUCION_NVARCHAR.sql").exists()


def test_tsql_025_gives_every_schema_to_dbo_and_grants_018_again():
    """SQL Server cannot run here: ownership chaining (018) needs dbo to own the schemas, and 001 must
    not be edited; ALTER AUTHORIZATION drops the schema's own grants, so 018's are made again."""
    text = (MIGRATIONS_DIR / "mssql" / "025_SCHEMAS_AUTHORIZATION_DBO.sql").read_text()
    code = re.sub(r"--[^\n]*", "", text)
    for schema in ("config", "source", "extract", "staging", "logs"):
        guard = code.index(f"WHERE s.name = N'{schema}' AND s.principal_id <> USER_ID(N'dbo')")
        assert guard < code.index(f"EXEC (N'ALTER AUTHORIZATION ON SCHEMA::{schema} TO dbo');", guard)
    grants = re.findall(r"GRANT EXECUTE ON SCHEMA::\w+ TO fondos_pipeline;", code)
    assert sorted(grants) == sorted(re.findall(r"GRANT EXECUTE ON SCHEMA::\w+ TO fondos_pipeline;",
                                               (MIGRATIONS_DIR / "mssql" / "018_CREATE_ROLE_PIPELINE.sql").read_text()))
    assert max(code.index(g) for g in grants) > code.rindex("ALTER AUTHORIZATION")
    assert "AUTHORIZATION" not in (MIGRATIONS_DIR / "mssql" / "001_CREATE_SCHEMAS.sql").read_text()  # never edited
