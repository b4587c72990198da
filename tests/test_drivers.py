"""What each SQL Server driver is given, and how its errors are classified — without a server.

SQL Server cannot run here, so these check the exact SQL text, parameter
style and order, connection string, and the classification of the drivers'
own exception classes (real pymssql and pyodbc objects, not stand-ins).
"""

from __future__ import annotations

import sys
from datetime import date

import pymssql
import pyodbc
import pytest

from fondos.db.calls import call_sql, database_message, is_transient
from fondos.db.connection import Database, odbc_connection_string


def _db(driver: str, dialect: str = "mssql") -> Database:
    return Database(conn=None, dialect=dialect, driver=driver)


def test_call_sql_per_driver():
    names = ["ID_Ejecucion", "FechaReporte", "ID_Fund", "Portfolio_Geneva"]
    proc = "staging.IPA_01_RescatarLocalPrice_v2"
    assert call_sql(_db("pymssql"), proc, names) == (
        "EXEC staging.IPA_01_RescatarLocalPrice_v2 @ID_Ejecucion = %s, @FechaReporte = %s, @ID_Fund = %s, "
        "@Portfolio_Geneva = %s")
    assert call_sql(_db("pyodbc"), proc, names) == (
        "EXEC staging.IPA_01_RescatarLocalPrice_v2 @ID_Ejecucion = ?, @FechaReporte = ?, @ID_Fund = ?, "
        "@Portfolio_Geneva = ?")
    assert call_sql(_db("psycopg", "postgres"), proc, names) == (
        "SELECT * FROM staging.IPA_01_RescatarLocalPrice_v2(ID_Ejecucion => %s, FechaReporte => %s, "
        "ID_Fund => %s, Portfolio_Geneva => %s)")


@pytest.mark.parametrize("bad", ["staging.x; DROP TABLE t", "a b", "x'--", "1abc"])
def test_call_sql_refuses_anything_but_identifiers(bad):
    with pytest.raises(ValueError):
        call_sql(_db("pymssql"), bad, [])
    with pytest.raises(ValueError):
        call_sql(_db("pymssql"), "logs.sp_X", [bad])


def test_parameters_reach_the_cursor_bound_and_in_order():
    executed = []

    class Cursor:
        description = None

        def execute(self, sql, params):
            executed.append((sql, params))

        def nextset(self):
            return False

        def close(self):
            pass

    class Conn:
        def cursor(self):
            return Cursor()

    from fondos.db.calls import call

    db = Database(Conn(), "mssql", "pyodbc")
    call(db, "logs.sp_Actualizar_Estado_Etapa",
         {"ID_Ejecucion": 7, "Etapa": "IPA", "Estado": "ERROR", "Filas": None, "Mensaje": "x'; DROP TABLE t --"})
    sql, params = executed[0]
    assert sql == "EXEC logs.sp_Actualizar_Estado_Etapa @ID_Ejecucion = ?, @Etapa = ?, @Estado = ?, @Filas = ?, @Mensaje = ?"
    assert params == (7, "IPA", "ERROR", None, "x'; DROP TABLE t --")  # values bound, never formatted in


def test_every_result_set_is_drained_so_a_late_error_is_not_lost():
    """pyodbc: an error raised after a row count only surfaces on nextset()."""

    class Cursor:
        description = None
        sets = 0

        def execute(self, sql, params):
            pass

        def nextset(self):
            self.sets += 1
            if self.sets == 2:
                raise pyodbc.ProgrammingError("42000", "[42000] late error raised by the procedure (50001)")
            return True

        def close(self):
            pass

    db = Database(type("C", (), {"cursor": lambda self: Cursor()})(), "mssql", "pyodbc")
    with pytest.raises(pyodbc.ProgrammingError, match="late error"):
        db.execute("EXEC logs.sp_X")


@pytest.mark.parametrize("exc, transient", [
    (pymssql.OperationalError(1205, b"Transaction (Process ID 57) was deadlocked on lock resources with another "
                                    b"process and has been chosen as the deadlock victim. Rerun the transaction."), True),
    (pymssql.OperationalError(1222, b"Lock request time out period exceeded."), True),
    (pymssql.OperationalError(50030, b"missing source data: no positions in source.Geneva_Posiciones"), False),
    (pymssql.IntegrityError(2627, b"Violation of PRIMARY KEY constraint"), False),
    (pyodbc.Error("40001", "[40001] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Transaction (Process ID 52) "
                           "was deadlocked on lock resources ... deadlock victim. Rerun the transaction. (1205) "
                           "(SQLExecDirectW)"), True),
    (pyodbc.Error("08S01", "[08S01] Communication link failure (10054)"), True),
    (pyodbc.ProgrammingError("42000", "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]missing "
                                      "source data (50030) (SQLExecDirectW)"), False),
])
def test_error_classification(exc, transient):
    assert is_transient(exc) is transient


def test_postgres_errors_classified_by_sqlstate():
    import psycopg.errors as e

    assert is_transient(e.DeadlockDetected("deadlock detected"))
    assert is_transient(e.SerializationFailure("could not serialize access"))
    assert not is_transient(e.RaiseException("missing source data"))


def test_driver_messages_are_cleaned_for_operators():
    msg = database_message(pymssql.OperationalError(
        50030, b"missing source data: no positions for portfolio LAFID002.DB-Lib error message 20018, severity 16"))
    assert msg.startswith("missing source data") and "DB-Lib" not in msg
    odbc = database_message(pyodbc.ProgrammingError(
        "42000", "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]missing source data (50030) (SQLExecDirectW)"))
    assert odbc == "missing source data"
    ours = database_message(pyodbc.ProgrammingError("42000", "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]"
                                                    "no positions for LAFID002 (ID_Fund 102, ID_Ejecucion 7) (50030) "
                                                    "(SQLExecDirectW)"))
    assert ours == "no positions for LAFID002 (ID_Fund 102, ID_Ejecucion 7)"


def test_odbc_connection_string(monkeypatch):
    from airflow.sdk import Connection

    conn = Connection.from_uri("odbc://fondos_app:p%3Bw%7Dd@sql.example.com:14330/Fondos", conn_id="x")
    s = odbc_connection_string(conn)
    assert s.startswith("DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql.example.com,14330;DATABASE=Fondos;")
    assert "UID=fondos_app;PWD={p;w}}d};" in s  # a ; or } in a password is escaped, not a new attribute
    assert "Encrypt=yes;" in s and "TrustServerCertificate" not in s and "PORT=" not in s

    dev = Connection.from_uri("odbc://sa:x@localhost:1433/Fondos?TrustServerCertificate=yes", conn_id="y")
    assert "TrustServerCertificate=yes;" in odbc_connection_string(dev)
    off = Connection.from_uri("odbc://sa:x@localhost/Fondos?Encrypt=no", conn_id="z")
    assert "Encrypt=no;" in odbc_connection_string(off) and "Encrypt=yes" not in odbc_connection_string(off)


def test_deadlock_victim_is_retried_with_backoff_and_each_retry_logged(monkeypatch, caplog):
    import logging

    from fondos.db import calls

    monkeypatch.setattr(calls, "BASE_DELAY_S", 0.001)
    attempts = []

    class Cursor:
        description = [("Filas",)]

        def execute(self, sql, params):
            attempts.append(params)
            if len(attempts) < 3:
                raise pymssql.OperationalError(1205, b"Transaction was deadlocked ... chosen as the deadlock victim.")

        def fetchall(self):
            return [(42,)]

        def nextset(self):
            return False

        def close(self):
            pass

    class Conn:
        def cursor(self):
            return Cursor()

        def rollback(self):
            pass

    db = Database(Conn(), "mssql", "pymssql")
    with caplog.at_level(logging.WARNING, logger="fondos.db.calls"):
        rows = calls.call(db, "staging.IPA_02_ValorizarPosiciones_v2", {"ID_Ejecucion": 7, "FechaReporte": date(2026, 3, 13),
                                                                          "ID_Fund": 101})
    assert rows == [{"filas": 42}]
    assert len(attempts) == 3 and attempts[0] == attempts[2]  # the same bound values every time
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2 and "deadlock victim" in retries[0]


def test_data_error_is_not_retried():
    from fondos.db import calls
    from fondos.errors import DataError

    attempts = []

    class Cursor:
        description = None

        def execute(self, sql, params):
            attempts.append(1)
            raise pymssql.OperationalError(50030, b"missing source data: no positions for LAFID002")

        def close(self):
            pass

    db = Database(type("C", (), {"cursor": lambda self: Cursor(), "rollback": lambda self: None})(), "mssql", "pymssql")
    with pytest.raises(DataError, match="missing source data"):
        calls.call(db, "extract.IPA_00_Extraer_v2", {"ID_Ejecucion": 7})
    assert attempts == [1]


@pytest.mark.parametrize("exc, lost", [
    (pyodbc.Error("08S01", "[08S01] [Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: Error code 0x2746 (10054)"), True),
    (pyodbc.OperationalError("HYT00", "[HYT00] [Microsoft][ODBC Driver 18 for SQL Server]Query timeout expired (0)"), True),
    (pyodbc.Error("08001", "[08001] [Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: Timeout error [258]."), True),
    (pymssql.OperationalError(20047, b"DBPROCESS is dead or not enabled"), True),
    (pymssql.OperationalError(20006, b"Write to the server failed"), True),
    (pymssql.OperationalError(1205, b"chosen as the deadlock victim"), False),  # transient, but the link is fine
    (pyodbc.ProgrammingError("42000", "[42000] missing source data (50030) (SQLExecDirectW)"), False),
])
def test_lost_connections_are_told_apart_from_other_errors(exc, lost):
    from fondos.db.calls import connection_lost

    assert connection_lost(exc) is lost
    assert is_transient(exc) is (lost or _mssql_deadlock(exc))


def _mssql_deadlock(exc) -> bool:
    return bool(exc.args) and exc.args[0] == 1205


def test_postgres_connection_errors_by_sqlstate():
    import psycopg.errors as e

    from fondos.db.calls import connection_lost

    assert connection_lost(e.AdminShutdown("terminating connection due to administrator command"))
    assert connection_lost(e.ConnectionFailure("connection failure"))
    assert not connection_lost(e.DeadlockDetected("deadlock detected"))


class _Recorder:
    """A pymssql-shaped connection that records the SQL text and bound parameters it is given (SQL Server
    cannot run here: these tests read what each driver would be sent)."""

    def __init__(self):
        self.sent: list[tuple[str, tuple]] = []

    def cursor(self):
        recorder = self

        class Cursor:
            description = None

            def execute(self, sql, params):
                recorder.sent.append((sql, params))

            def nextset(self):
                return False

            def close(self):
                pass

        return Cursor()

    def autocommit(self, value):
        pass

    def close(self):
        pass


def test_bootstrap_sets_the_password_of_an_existing_login_bound_never_formatted():
    """Rotating the pipeline password and bootstrapping again must reach the server (ALTER LOGIN)."""
    from fondos.db.mssql_bootstrap import create_database_and_login

    conn = _Recorder()
    sent = conn.sent
    secret = "N3w-P@ss'word;--"
    create_database_and_login(Database(conn, "mssql", "pymssql"), "Fondos", "fondos_airflow", secret)
    login_sql, login_params = sent[1]
    assert "IF SUSER_ID(@login) IS NULL BEGIN" in login_sql and "CREATE LOGIN" in login_sql
    assert " ELSE BEGIN SET @sql = N'ALTER LOGIN ' + QUOTENAME(@login) + N' WITH PASSWORD = '" in login_sql
    assert secret not in login_sql and login_params == ("fondos_airflow", secret)


def test_bootstrap_gives_the_api_and_the_operator_logins_of_their_own_roles(monkeypatch):
    """Issue 19: the API reads with a login in fondos_lector (no server permission), the operator's is in
    fondos_operador (with the metrics' server read); names are bound, never formatted."""
    from fondos.db import mssql_bootstrap

    conn = _Recorder()
    sent = conn.sent

    monkeypatch.setattr(mssql_bootstrap, "open_database", lambda conn_id: Database(conn, "mssql", "pymssql"))
    monkeypatch.setattr("fondos.db.migrate.migrate", lambda db, **kwargs: [])
    mssql_bootstrap.bootstrap("admin", "owner", "Fondos", "fondos_airflow", "Pipe-1!",
                              [("fondos_api", "Api-1!", "fondos_lector"), ("fondos_operator", "Op-1!", "fondos_operador")])
    logins = [p for sql, p in sent if "CREATE LOGIN" in sql]
    assert logins == [("fondos_airflow", "Pipe-1!"), ("fondos_api", "Api-1!"), ("fondos_operator", "Op-1!")]
    server_reads = [p for sql, p in sent if "VIEW SERVER" in sql]
    assert server_reads == [("fondos_airflow",), ("fondos_operator",)]  # not the API's reader
    users = [p for sql, p in sent if "ALTER ROLE ' + QUOTENAME(@role)" in sql]
    assert users == [("fondos_airflow", "fondos_pipeline"), ("fondos_api", "fondos_lector"),
                     ("fondos_operator", "fondos_operador")]
    with pytest.raises(ValueError, match="role"):
        mssql_bootstrap.add_user(Database(conn, "mssql", "pymssql"), "x", "db_owner")


def test_str_parameters_compared_with_varchar_columns_are_cast_on_sql_server():
    """Drivers send a str as NVARCHAR; against a VARCHAR column SQL Server converts the column
    (CONVERT_IMPLICIT) and scans. The query text casts the parameter on mssql, never on PostgreSQL."""
    from fondos.pipeline.proceso import _registrar_error_si_abierta
    from fondos.web.lectura import procesos

    executed = []

    class Cursor:
        description = None

        def execute(self, sql, params):
            executed.append((sql, params))

        def nextset(self):
            return False

        def close(self):
            pass

    class Conn:
        def cursor(self):
            return Cursor()

    for dialect, driver, mark in (("mssql", "pymssql", "CAST(%s AS VARCHAR(8000))"),
                                  ("mssql", "pyodbc", "CAST(? AS VARCHAR(8000))"), ("postgres", "psycopg", "%s")):
        executed.clear()
        db = Database(Conn(), dialect, driver)
        procesos(db, None, "ERROR", 10)
        _registrar_error_si_abierta(db, 7, "IPA", "boom")
        assert f"Estado = {mark}" in executed[0][0] and "ERROR" in executed[0][1]
        assert f"Etapa = {mark}" in executed[1][0] and executed[1][1] == (7, "IPA")
        assert "ID_Ejecucion = " + ("?" if driver == "pyodbc" else "%s") in executed[1][0]  # BIGINT: no cast


@pytest.mark.parametrize(("conn_type", "module", "extra"), [
    ("odbc", "pyodbc", "odbc"), ("postgres", "airflow.providers.postgres.hooks.postgres", "postgres")])
def test_a_connection_type_without_its_extra_names_the_extra(monkeypatch, conn_type, module, extra):
    """An installation without the connection type's extra (its driver or provider missing): one message naming
    the extra to install, not a bare ModuleNotFoundError from deep inside a task."""
    import json

    from fondos.db.connection import ConfigurationError, open_database

    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    monkeypatch.setenv("AIRFLOW_CONN_FONDOS_DB", json.dumps({"conn_type": conn_type, "host": "nowhere", "login": "x"}))
    with pytest.raises(ConfigurationError, match=rf"type '{conn_type}', whose driver is not installed .*fondos\[{extra}\]"):
        open_database()
