"""A verified backup before the risky migrations (012-015 and files marked risky): refused without one,
taken and restored to equal fingerprints with one (PostgreSQL), recorded either way."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import sqlglot

from fondos import cli
from fondos.db import backup as backups
from fondos.db.backup import BackupError, BackupPlan, pg_bin, pg_fingerprint
from fondos.db.connection import open_database
from fondos.db.migrate import discover, migrate, status
from fondos.settings import MIGRATIONS_DIR, SQL_DIR
from legacy_data import insert_legacy_history


@pytest.fixture
def legacy_pg(fresh_pg_db):
    db = open_database()
    migrate(db, target=11)
    insert_legacy_history(db)
    yield db
    db.close()


def _cli(capsys, *argv) -> tuple[int, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def _records(db):
    rows = db.execute("SELECT Tipo, Ruta, Bytes, Verificacion, Motivo, Migraciones FROM public.schemabackups ORDER BY ID")
    db.commit()
    return rows


def test_a_legacy_database_is_not_migrated_without_a_backup_and_the_message_says_how(legacy_pg, capsys):
    before = pg_fingerprint(legacy_pg)
    legacy_pg.commit()
    with pytest.raises(BackupError) as err:
        migrate(legacy_pg)
    message = str(err.value)
    assert "012, 013, 014, 015" in message and "nothing was applied" in message
    for option in ("--backup-dir DIR", "--backup FILE", "--sin-backup REASON"):
        assert option in message
    assert status(legacy_pg).current_version == 11
    code, out = _cli(capsys, "db", "migrate")
    assert code == 1 and "no backup was given" in out
    after = pg_fingerprint(legacy_pg)
    legacy_pg.commit()
    assert after == before and _records(legacy_pg) == []  # the refusals recorded nothing either


def test_with_a_backup_dir_the_dump_restores_to_the_fingerprints_of_the_database_before_migrating(
        legacy_pg, tmp_path, capsys):
    before = pg_fingerprint(legacy_pg)
    legacy_pg.commit()
    code, out = _cli(capsys, "db", "migrate", "--backup-dir", str(tmp_path / "copias"))
    assert code == 0, out
    assert "backup taken:" in out and "verified: restored into a scratch database" in out
    dumps = list((tmp_path / "copias").glob("*_antes_de_012.dump"))
    assert len(dumps) == 1 and dumps[0].stat().st_size > 0
    assert status(legacy_pg).current_version == max(f.version for f in discover("postgres") if f.version)
    [record] = _records(legacy_pg)
    assert record["tipo"] == "tomado" and record["ruta"] == str(dumps[0]) and record["bytes"] == dumps[0].stat().st_size
    assert record["migraciones"].startswith("migrations/012_") and "migrations/015_" in record["migraciones"]

    # an independent restore of the file, compared with the fingerprint taken before anything ran
    info = legacy_pg.conn.info
    import psycopg

    with psycopg.connect(host=info.host, port=info.port, user=info.user, dbname="postgres", autocommit=True) as a:
        a.execute("CREATE DATABASE restaurada_prueba")
        try:
            subprocess.run([pg_bin("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "-h", info.host,
                            "-p", str(info.port), "-U", info.user, "-d", "restaurada_prueba", str(dumps[0])], check=True)
            with psycopg.connect(host=info.host, port=info.port, user=info.user, dbname="restaurada_prueba") as raw:
                from fondos.db.connection import Database

                restored = pg_fingerprint(Database(raw, "postgres", "psycopg"))
        finally:
            a.execute("DROP DATABASE IF EXISTS restaurada_prueba WITH (FORCE)")
    assert restored == before
    assert restored["logs.ejecuciones"][0] == 4 and restored["extract.ipa"][0] > 0
    # nothing scratch is left behind
    with psycopg.connect(host=info.host, port=info.port, user=info.user, dbname="postgres") as a:
        assert a.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'fondos_verifica_%'").fetchone()[0] == 0


def test_verification_refuses_a_dump_that_does_not_restore_to_the_source(legacy_pg, tmp_path):
    record = backups._pg_take(legacy_pg, str(tmp_path), ["migrations/012_X.sql"])
    source = pg_fingerprint(legacy_pg)
    legacy_pg.commit()
    source["logs.ejecuciones"] = (source["logs.ejecuciones"][0] + 1, source["logs.ejecuciones"][1])
    with pytest.raises(BackupError, match=r"does not restore to this database: logs\.ejecuciones differ"):
        backups._pg_verify(legacy_pg, tmp_path / record.ruta.split("/")[-1], source)
    import psycopg

    info = legacy_pg.conn.info
    with psycopg.connect(host=info.host, port=info.port, user=info.user, dbname="postgres") as a:  # cleaned up
        assert a.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'fondos_verifica_%'").fetchone()[0] == 0


def test_sin_backup_goes_on_and_records_the_reason_and_an_empty_reason_is_refused(legacy_pg, capsys):
    code, out = _cli(capsys, "db", "migrate", "--sin-backup", "   ")
    assert code == 1 and "needs a reason" in out
    assert status(legacy_pg).current_version == 11
    code, out = _cli(capsys, "db", "migrate", "--sin-backup", "copia de prueba")
    assert code == 0 and "reason recorded: copia de prueba" in out
    [record] = _records(legacy_pg)
    assert (record["tipo"], record["motivo"], record["ruta"]) == ("ninguno", "copia de prueba", None)
    code, out = _cli(capsys, "db", "status")
    assert "last backup record:" in out and "ninguno" in out and "copia de prueba" in out


def test_an_existing_backup_must_be_a_readable_archive_of_this_database(legacy_pg, tmp_path, capsys):
    info = legacy_pg.conn.info
    own = tmp_path / "propio.dump"
    subprocess.run([pg_bin("pg_dump"), "--format=custom", "-h", info.host, "-p", str(info.port), "-U", info.user,
                    "-d", info.dbname, "--file", str(own)], check=True)
    other = tmp_path / "otro.dump"
    subprocess.run([pg_bin("pg_dump"), "--format=custom", "-h", info.host, "-p", str(info.port), "-U", info.user,
                    "-d", "postgres", "--file", str(other)], check=True)
    (tmp_path / "basura.dump").write_bytes(b"not a dump")
    for path, expected in ((tmp_path / "nada.dump", "no such file"), (other, "is a backup of database postgres"),
                           (tmp_path / "basura.dump", "pg_restore --list")):
        code, out = _cli(capsys, "db", "migrate", "--backup", str(path))
        assert code == 1 and expected in out and "nothing was applied" in out, out
        assert status(legacy_pg).current_version == 11
    code, out = _cli(capsys, "db", "migrate", "--backup", str(own))
    assert code == 0 and "existing backup:" in out and "readable (pg_restore --list:" in out
    assert status(legacy_pg).current_version == max(f.version for f in discover("postgres") if f.version)
    assert [r["tipo"] for r in _records(legacy_pg)] == ["existente"]


def test_an_empty_database_needs_no_backup_and_records_none(fresh_pg_db):
    db = open_database()
    migrate(db, target=11)
    assert not backups.holds_data(db)
    migrate(db)  # no rows anywhere: nothing to lose, nothing asked
    assert _records(db) == []
    db.close()


def test_a_later_migration_marked_risky_asks_for_a_backup_too(fresh_pg_db, tmp_path):
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "migrations")
    shutil.copytree(SQL_DIR, tmp_path / "sql")
    db = open_database()
    files = discover("postgres", tmp_path / "migrations", tmp_path / "sql")
    migrate(db, files=files)
    db.execute("INSERT INTO config.Fondos (ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM) "
               "VALUES (1, 'F1', 'P1', 'C1')")
    db.commit()
    (tmp_path / "migrations" / "postgres" / "900_REESCRIBE.sql").write_text(
        "-- 900_REESCRIBE\n-- fondos: risky\nUPDATE config.Fondos SET FundShortName = FundShortName;\n")
    (tmp_path / "migrations" / "postgres" / "901_INOCUA.sql").write_text("-- 901_INOCUA\nSELECT 1;\n")
    files = discover("postgres", tmp_path / "migrations", tmp_path / "sql")
    with pytest.raises(BackupError, match="pending migration.s. 900 rewrite"):
        migrate(db, files=files)
    migrate(db, files=files, target=899)  # below the risky file: nothing asked
    assert migrate(db, files=files, backup=BackupPlan.none("prueba")) == [
        "migrations/900_REESCRIBE.sql", "migrations/901_INOCUA.sql"]
    db.close()


# --- SQL Server: only checked (static), it cannot run here -----------------------------------------

def test_mssql_backup_statements_are_copy_only_with_checksum_verified_and_bind_the_path():
    assert "COPY_ONLY" in backups.MSSQL_BACKUP and "CHECKSUM" in backups.MSSQL_BACKUP
    assert "RESTORE VERIFYONLY" in backups.MSSQL_VERIFY and "CHECKSUM;" in backups.MSSQL_VERIFY
    for text in (backups.MSSQL_BACKUP, backups.MSSQL_VERIFY, backups.MSSQL_HEADER, backups.MSSQL_SIZE,
                 backups.MSSQL_PERMS):
        assert "{" not in text  # bound parameters only, nothing formatted in
    assert [t.count("%s") for t in (backups.MSSQL_BACKUP, backups.MSSQL_VERIFY, backups.MSSQL_HEADER)] == [1, 2, 1]
    assert "WITH FILE = @pos, CHECKSUM" in backups.MSSQL_VERIFY  # the chosen set, not always set 1
    assert "CREATE ANY DATABASE" in backups.MSSQL_PERMS and "BACKUP DATABASE" in backups.MSSQL_PERMS
    sqlglot.parse_one(backups.MSSQL_PERMS, read="tsql")
    # the statements other than BACKUP/RESTORE (which sqlglot does not model) parse as T-SQL
    sqlglot.parse_one(backups.MSSQL_SIZE.replace("%s", "@ruta"), read="tsql")
    assert re.search(r"BACKUP DATABASE @bd TO DISK = @ruta WITH", backups.MSSQL_BACKUP)


def test_mssql_backup_file_names_are_new_and_use_the_servers_separator():
    win = backups.mssql_backup_path("D:\\Backups\\", "Fondos", "012")
    assert re.fullmatch(r"D:\\Backups\\Fondos_\d{8}T\d{6}Z_antes_de_012\.bak", win)
    linux = backups.mssql_backup_path("/var/opt/mssql/backup", "Fondos", "012")
    assert re.fullmatch(r"/var/opt/mssql/backup/Fondos_\d{8}T\d{6}Z_antes_de_012\.bak", linux)


def test_an_existing_sql_server_backup_file_is_verified_at_its_newest_full_set_of_this_database():
    """RESTORE HEADERONLY rows (column names as Database.execute returns them): logs, differentials, another
    database's backup, a damaged or checksum-less set are passed over; the newest usable full set is chosen."""
    header = [
        {"position": 1, "backuptype": 1, "databasename": "Fondos", "hasbackupchecksums": 1, "isdamaged": 0},
        {"position": 2, "backuptype": 2, "databasename": "Fondos", "hasbackupchecksums": 1, "isdamaged": 0},
        {"position": 3, "backuptype": 1, "databasename": "fondos", "hasbackupchecksums": 1, "isdamaged": 0},
        {"position": 4, "backuptype": 5, "databasename": "Fondos", "hasbackupchecksums": 1, "isdamaged": 0},
        {"position": 5, "backuptype": 1, "databasename": "Fondos", "hasbackupchecksums": 0, "isdamaged": 0},
        {"position": 6, "backuptype": 1, "databasename": "Fondos", "hasbackupchecksums": 1, "isdamaged": 1},
        {"position": 7, "backuptype": 1, "databasename": "Otra", "hasbackupchecksums": 1, "isdamaged": 0},
    ]
    assert backups.newest_full_backup(header, "FONDOS")["position"] == 3
    assert backups.newest_full_backup(header[1:2] + header[3:], "Fondos") is None
