"""Least privilege (migration 018), proven on PostgreSQL: the pipeline role runs the
whole pipeline through routines and views, and cannot touch a table; a role
outside it cannot even call the routines."""

from __future__ import annotations

import json
import os
import uuid

import psycopg.errors
import pytest

from fondos.db.connection import database, open_database
from fondos.db.migrate import migrate
from fondos.pipeline import proceso
from pipeline_helpers import seed, start

CONN = "AIRFLOW_CONN_FONDOS_DB"
FORBIDDEN = [
    "DROP TABLE logs.Procesos",
    "ALTER TABLE logs.Procesos ADD COLUMN Extra INTEGER",
    "CREATE TABLE logs.Intrusa (a INTEGER)",
    "TRUNCATE extract.IPA",
    "DELETE FROM staging.IPA_Final",
    "UPDATE logs.Ejecucion_Etapas SET Estado = 'OK'",
    "INSERT INTO config.Fondos (ID_Fund, FundShortName, Portfolio_Geneva) VALUES (1, 'X', 'X')",
    "SELECT * FROM logs.Procesos",
    "SELECT * FROM logs.Proceso_Metricas",
    "DELETE FROM logs.Proceso_Avisos",
    "SELECT * FROM source.Geneva_Posiciones",
    # internal routines: a direct call could delete a fund's rows without recording anything
    "SELECT * FROM logs.sp_Borrar_Filas_Ejecucion(1)",
    "SELECT logs.sp_Recalcular_Proceso(1)",
    "SELECT * FROM logs.sp_Ajustar_Secuencia_ID()",
]


@pytest.fixture
def as_role(fresh_pg_db, monkeypatch):
    db = open_database()
    migrate(db)
    db.close()
    seed(2, 10)  # the owner loads data; the pipeline only processes it
    owner_conn = os.environ[CONN]
    created = []

    def login(in_pipeline: bool) -> None:
        role = f"t_{'pipe' if in_pipeline else 'nobody'}_{uuid.uuid4().hex[:8]}"
        with database(autocommit=True) as owner:
            owner.execute_script(f"CREATE ROLE {role} LOGIN" + (" IN ROLE fondos_pipeline" if in_pipeline else ""))
        created.append(role)
        monkeypatch.setenv(CONN, json.dumps(dict(json.loads(owner_conn), login=role)))

    yield login
    monkeypatch.setenv(CONN, owner_conn)
    with database(autocommit=True) as owner:
        for role in created:
            owner.execute_script(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_pipeline_role_runs_the_pipeline_but_cannot_touch_tables(as_role):
    as_role(in_pipeline=True)
    items = start("least-privilege")
    assert set(proceso.ejecutar_fondo(items[0]).values()) <= {"OK", "OMITIDO"}
    closed = proceso.cerrar_proceso(items[0]["id_proceso"])  # includes the metrics snapshots (022)
    assert closed["fondosexitosos"] == 1 and closed["fondos"][0]["estado"] == "OK"
    assert closed["metricas"]["closed"] and closed["metricas"]["metricas"][0]["valor"] == 0  # deadlocks
    from fondos.pipeline import aviso

    with database(autocommit=True) as db:  # the morning message's record (023): EXECUTE and the view only
        signature = aviso.firma(closed)
        assert aviso.reservar(db, items[0]["id_proceso"], signature, "smtp", closed["estado"]) == (1, "ENVIAR")
        aviso.confirmar(db, items[0]["id_proceso"], 1)
        assert aviso.reservar(db, items[0]["id_proceso"], signature, "smtp", "OK") == (1, "YA_ENVIADO")
        assert db.execute("SELECT Envio FROM logs.vw_Proceso_Avisos")[0]["envio"] == "ENVIADO"
    proceso.revertir_ejecucion(items[0]["id_ejecucion"])
    with database(autocommit=True) as db:
        assert db.execute("SELECT COUNT(*) AS n FROM logs.vw_Procesos")[0]["n"] == 1
        for statement in FORBIDDEN:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute(statement)


def test_role_outside_the_pipeline_cannot_call_the_routines(as_role):
    as_role(in_pipeline=False)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), database(autocommit=True) as db:
        db.execute("SELECT * FROM logs.sp_Inicializar_Proceso(FechaReporte => %s, Usuario => %s, ClaveEjecucion => %s)",
                   ("2026-03-13", "x", "x"))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), database(autocommit=True) as db:
        db.execute("SELECT * FROM logs.vw_Procesos")
