"""Prepare a SQL Server for Fondos (docker-compose's init service, or a DBA by hand).

1. as a server administrator: create the fund database if missing, turn
   READ_COMMITTED_SNAPSHOT on (readers do not block the funds' writers), and
   create the pipeline's login if missing, or set its password when it exists
   (so a rotated password takes effect by bootstrapping again);
2. as the database owner: apply the migrations (018 creates the role);
3. map the login to a database user in the role fondos_pipeline; and, when their passwords are given,
   the API's login in fondos_lector and the operator's in fondos_operador (migration 026).

DDL cannot take parameters, so names are checked against a strict pattern and
quoted with QUOTENAME inside T-SQL; the password travels as a bound parameter
and is quoted by QUOTENAME(@p, '''') on the server. Nothing here logs a secret.
"""

from __future__ import annotations

import re

from fondos.db.connection import Database, open_database

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def _check_name(kind: str, value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{kind} {value!r} must be letters, digits and _ (starting with a letter, at most 64)")
    return value


def _autocommit(db: Database) -> None:
    if db.driver == "pymssql":
        db.conn.autocommit(True)
    else:
        db.conn.autocommit = True


def create_database_and_login(admin: Database, database: str, login: str, password: str) -> None:
    _check_name("database", database)
    _check_name("login", login)
    _autocommit(admin)
    admin.execute(
        "DECLARE @db SYSNAME = %s; DECLARE @sql NVARCHAR(MAX);"
        " IF DB_ID(@db) IS NULL BEGIN SET @sql = N'CREATE DATABASE ' + QUOTENAME(@db); EXEC sys.sp_executesql @sql; END;"
        " IF NOT EXISTS (SELECT 1 FROM sys.databases WHERE name = @db AND is_read_committed_snapshot_on = 1)"
        " BEGIN SET @sql = N'ALTER DATABASE ' + QUOTENAME(@db)"
        " + N' SET READ_COMMITTED_SNAPSHOT ON WITH ROLLBACK IMMEDIATE'; EXEC sys.sp_executesql @sql; END;",
        (database,))
    create_login(admin, login, password)


def create_login(admin: Database, login: str, password: str, server_metrics: bool = True) -> None:
    """Create the login, or set its password when it exists; with server_metrics, the read-only server
    permission the per-proceso metrics need (the pipeline's and the operator's logins, not the API's)."""
    _check_name("login", login)
    _autocommit(admin)
    admin.execute(
        "DECLARE @login SYSNAME = %s; DECLARE @password NVARCHAR(128) = %s; DECLARE @sql NVARCHAR(MAX);"
        " IF SUSER_ID(@login) IS NULL BEGIN"
        " SET @sql = N'CREATE LOGIN ' + QUOTENAME(@login) + N' WITH PASSWORD = ' + QUOTENAME(@password, '''')"
        " + N', CHECK_POLICY = ON'; EXEC sys.sp_executesql @sql; END"
        # An existing login gets this run's password: rotating FONDOS_PIPELINE_PASSWORD and bootstrapping
        # again must not leave Airflow's connection with a password the server no longer accepts.
        " ELSE BEGIN SET @sql = N'ALTER LOGIN ' + QUOTENAME(@login) + N' WITH PASSWORD = '"
        " + QUOTENAME(@password, ''''); EXEC sys.sp_executesql @sql; END;",
        (login, password))
    if not server_metrics:
        return
    # The per-proceso metrics (migration 022) read sys.dm_os_performance_counters, which needs
    # VIEW SERVER PERFORMANCE STATE (SQL Server 2022; VIEW SERVER STATE before it). Read-only, no data.
    admin.execute(
        "DECLARE @login SYSNAME = %s; DECLARE @sql NVARCHAR(MAX);"
        " IF EXISTS (SELECT 1 FROM sys.fn_builtin_permissions(N'SERVER')"
        " WHERE permission_name = N'VIEW SERVER PERFORMANCE STATE')"
        " SET @sql = N'GRANT VIEW SERVER PERFORMANCE STATE TO ' + QUOTENAME(@login);"
        " ELSE SET @sql = N'GRANT VIEW SERVER STATE TO ' + QUOTENAME(@login);"
        # Server permissions are granted in master, whatever database the admin connection opened.
        " EXEC master.sys.sp_executesql @sql;",
        (login,))


ROLES = ("fondos_pipeline", "fondos_lector", "fondos_operador")


def add_pipeline_user(owner: Database, login: str) -> None:
    add_user(owner, login, "fondos_pipeline")


def add_user(owner: Database, login: str, role: str) -> None:
    """Map the login to a database user in one of the three roles (migrations 018 and 026)."""
    _check_name("login", login)
    if role not in ROLES:
        raise ValueError(f"role {role!r}: use one of {', '.join(ROLES)}")
    _autocommit(owner)
    owner.execute(
        "DECLARE @login SYSNAME = %s; DECLARE @role SYSNAME = %s; DECLARE @sql NVARCHAR(MAX);"
        " IF DATABASE_PRINCIPAL_ID(@login) IS NULL BEGIN"
        " SET @sql = N'CREATE USER ' + QUOTENAME(@login) + N' FOR LOGIN ' + QUOTENAME(@login); EXEC sys.sp_executesql @sql; END;"
        " IF IS_ROLEMEMBER(@role, @login) = 0 BEGIN"
        " SET @sql = N'ALTER ROLE ' + QUOTENAME(@role) + N' ADD MEMBER ' + QUOTENAME(@login); EXEC sys.sp_executesql @sql; END;",
        (login, role))


def bootstrap(admin_conn_id: str, owner_conn_id: str, database: str, login: str, password: str,
              others: list[tuple[str, str, str]] = (), backup=None, on_backup=None) -> list[str]:
    """The database, the pipeline's login, and `others`: (login, password, role) for the API's reader
    (fondos_lector) and the operator (fondos_operador), each a login of its own. `backup`: as for
    `migrate`, needed when the database already holds legacy rows."""
    from fondos.db.migrate import migrate

    admin = open_database(admin_conn_id)
    try:
        if admin.dialect != "mssql":
            raise ValueError(f"{admin_conn_id} is not a SQL Server connection")
        create_database_and_login(admin, database, login, password)
        for other, other_password, role in others:
            create_login(admin, other, other_password, server_metrics=role == "fondos_operador")
    finally:
        admin.close()
    owner = open_database(owner_conn_id)
    try:
        applied = migrate(owner, backup=backup, on_backup=on_backup)
        add_pipeline_user(owner, login)
        for other, _, role in others:
            add_user(owner, other, role)
    finally:
        owner.close()
    return applied
