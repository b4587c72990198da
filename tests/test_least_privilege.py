"""Least privilege (migrations 018 and 026), proven on PostgreSQL, one role per reader:

* fondos_pipeline runs the whole pipeline through routines and views, cannot touch a table, and cannot
  delete a proceso or revert a fund;
* fondos_lector (the proceso API) reads the views of logs (four in 026, five since 029, ten and the checks'
  thresholds since 030) and nothing else;
* fondos_operador reverts, deletes and closes, moves funds between architectures (028) and reads the
  rows the parallel run compares, and cannot run a stage or write a table;
* a role outside them cannot even call the routines.

Each test fails if its role's grant is widened: every statement below must be refused."""

from __future__ import annotations

import json
import os
import uuid

import psycopg.errors
import pytest

from fondos.db.connection import database
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
    "UPDATE config.Fondos SET Arquitectura = 'v2'",  # 028: only through config.sp_Asignar_Arquitectura
    # internal routines: a direct call could delete a fund's rows without recording anything
    "SELECT * FROM logs.sp_Borrar_Filas_Ejecucion(1)",
    "SELECT logs.sp_Recalcular_Proceso(1)",
    "SELECT * FROM logs.sp_Ajustar_Secuencia_ID()",
]


@pytest.fixture
def as_role(migrated_pg_db, monkeypatch):
    seed(2, 10)  # the owner loads data; the pipeline only processes it
    owner_conn = os.environ[CONN]
    created = []

    def login(in_pipeline: bool = False, group: str | None = None) -> None:
        group = group or ("fondos_pipeline" if in_pipeline else None)
        role = f"t_{group or 'nobody'}_{uuid.uuid4().hex[:8]}"
        with database(autocommit=True) as owner:
            owner.execute_script(f"CREATE ROLE {role} LOGIN" + (f" IN ROLE {group}" if group else ""))
        created.append(role)
        monkeypatch.setenv(CONN, json.dumps(dict(json.loads(owner_conn), login=role)))

    yield login
    monkeypatch.setenv(CONN, owner_conn)
    with database(autocommit=True) as owner:
        for role in created:
            owner.execute_script(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_pipeline_role_runs_the_pipeline_but_cannot_touch_tables(as_role):
    as_role(in_pipeline=True)
    assert proceso.fondos_a_mapear() == 2  # crear_proceso's count against Airflow's map limit (config view, 028)
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
    with database(autocommit=True) as db:
        assert db.execute("SELECT COUNT(*) AS n FROM logs.vw_Procesos")[0]["n"] == 1
        for statement in FORBIDDEN + OPERATOR_ONLY:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute(statement)


OPERATOR_ONLY = [  # 026: no task deletes a proceso or reverts a fund
    "SELECT * FROM logs.sp_Eliminar_Proceso(1)",
    "SELECT * FROM logs.sp_Revertir_Ejecucion(1)",
    "SELECT * FROM config.sp_Asignar_Arquitectura('101', 'v2', 'x')",  # 028: no task moves a fund
]
PIPELINE_ONLY = [
    "SELECT * FROM logs.sp_Inicializar_Proceso(FechaReporte => '2026-03-13', Usuario => 'x', ClaveEjecucion => 'x')",
    "SELECT * FROM extract.IPA_00_Extraer_v2(1, '2026-03-13', 101, 'X')",
    "SELECT * FROM staging.PNL_02_ConsolidarFinal_v2(1, '2026-03-13', 101)",
    "SELECT * FROM logs.sp_Reservar_Aviso(1, 'x', 'smtp', 'OK')",
]
VIEWS = ["logs.vw_Procesos", "logs.vw_Ejecucion_Etapas", "logs.vw_Proceso_Metricas", "logs.vw_Proceso_Avisos",
         "logs.vw_Proceso_Alertas"]


def _refused(statements: list[str]) -> None:
    for statement in statements:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), database(autocommit=True) as db:
            db.execute(statement)


def test_the_api_reader_reads_the_views_and_nothing_else(as_role):
    from fondos.web import lectura

    items = start("lector")  # as the owner: something to read
    as_role(group="fondos_lector")
    with database(autocommit=True) as db:
        for view in VIEWS:
            db.execute(f"SELECT * FROM {view}")  # noqa: S608 - our view names
        assert lectura.proceso(db, items[0]["id_proceso"])["id_proceso"] == items[0]["id_proceso"]
        assert lectura.ejecucion(db, items[0]["id_ejecucion"])
    _refused(FORBIDDEN + OPERATOR_ONLY + PIPELINE_ONLY + [
        "SELECT * FROM logs.sp_Actualizar_Estadisticas_Proceso(1, TRUE)",
        "SELECT * FROM logs.sp_Actualizar_Estado_Etapa(1, 'IPA', 'OK')"])


def test_the_operator_reverts_deletes_and_closes_but_runs_no_stage(as_role):
    items = start("operador")  # as the owner: a proceso with one fund done
    proceso.ejecutar_fondo(items[0])
    as_role(group="fondos_operador")
    closed = proceso.cerrar_proceso(items[0]["id_proceso"])  # reconcile, close, metrics: the operator's cerrar
    assert closed["estado"] == "ERROR"  # the funds that never ran are recorded as such
    assert proceso.revertir_ejecucion(items[0]["id_ejecucion"]) > 0
    assert proceso.eliminar_proceso(items[0]["id_proceso"]) == 0
    with database(autocommit=True) as db:
        assert db.execute("SELECT COUNT(*) AS n FROM logs.vw_Procesos")[0]["n"] == 0
    # 028: the operator moves funds, and reads (only reads) the rows the parallel run compares
    from fondos.pipeline import arquitectura

    assert [r["actual"] for r in arquitectura.asignar([101], "v2")] == ["v2"]
    assert [r["id_fund"] for r in arquitectura.listar() if r["arquitectura"] == "v2"] == [101]
    with database(autocommit=True) as db:
        for table in ("extract.IPA", "staging.PNL_Final", "logs.Ejecuciones", "logs.Ejecucion_Fondos"):
            db.execute(f"SELECT COUNT(*) AS n FROM {table}")  # noqa: S608 - our table names
    _refused(FORBIDDEN + PIPELINE_ONLY + [  # 028 opened these to the operator for reading only
        "DELETE FROM logs.Ejecuciones", "UPDATE logs.Ejecucion_Fondos SET FundShortName = 'x'",
        "INSERT INTO extract.SONA SELECT * FROM extract.SONA"])
    from fondos.db.legacy import DATA_TABLES
    from fondos.pipeline import comparar

    with database(autocommit=True) as db:
        for table in DATA_TABLES:  # the parallel run's column read, as the operator, for every compared table
            assert comparar._columnas(db, table)


def test_role_outside_the_pipeline_cannot_call_the_routines(as_role):
    as_role(in_pipeline=False)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), database(autocommit=True) as db:
        db.execute("SELECT * FROM logs.sp_Inicializar_Proceso(FechaReporte => %s, Usuario => %s, ClaveEjecucion => %s)",
                   ("2026-03-13", "x", "x"))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), database(autocommit=True) as db:
        db.execute("SELECT * FROM logs.vw_Procesos")


def _grants(dialect: str) -> dict[str, set[str]]:
    """Every GRANT/DENY/REVOKE to the three roles in a dialect's files: role -> {'GRANT EXECUTE ON x', ...}."""
    import re

    from fondos.settings import PROJECT_ROOT

    out: dict[str, set[str]] = {}
    files = sorted((PROJECT_ROOT / "migrations" / dialect).glob("*.sql"))
    files += sorted((PROJECT_ROOT / "sql" / dialect).rglob("*.sql"))
    for path in files:
        text = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8-sig"))
        for m in re.finditer(r"\b(GRANT|DENY|REVOKE)\s+(\w+)\s+ON\s+"
                             r"(?:FUNCTION\s+|SCHEMA::|SCHEMA\s+|ALL\s+TABLES\s+IN\s+SCHEMA\s+)?([\w.]+)"
                             r"[^;]*?\b(?:TO|FROM)\s+([\w, ]+);", text, re.IGNORECASE):
            for role in (r.strip() for r in m.group(4).split(",")):
                if role.startswith("fondos_"):
                    out.setdefault(role, set()).add(f"{m.group(1).upper()} {m.group(2).upper()} ON {m.group(3).lower()}")
    return out


VIEW_NAMES = {"logs.vw_procesos", "logs.vw_ejecucion_etapas", "logs.vw_proceso_metricas", "logs.vw_proceso_avisos",
              "logs.vw_proceso_alertas",
              # 030: the checks, the sign-off and the approved figures; their thresholds; the funds' names
              "logs.vw_ejecucion_verificacion", "logs.vw_ejecucion_controles", "logs.vw_proceso_firmas",
              "logs.vw_cifras_aprobadas", "logs.vw_ejecucion_fondos", "config.controles", "config.fondos_controles"}
OPERATOR_ROUTINES = {"logs.sp_revertir_ejecucion", "logs.sp_eliminar_proceso", "logs.sp_actualizar_estadisticas_proceso",
                     "logs.sp_actualizar_estado_etapa", "logs.sp_registrar_metricas_proceso",
                     "config.sp_asignar_arquitectura", "logs.sp_registrar_alerta", "logs.sp_confirmar_alerta",
                     "logs.sp_aceptar_retencion"}  # 030: the operator accepts a held fund
# 028: the funds' architecture (its two views) and the rows the parallel run compares, read only.
OPERATOR_READS = {"config.vw_fondos_legado", "config.vw_fondos_arquitectura", "extract", "staging",
                  "logs.ejecuciones", "logs.ejecucion_fondos"}


@pytest.mark.parametrize("dialect", ["mssql", "postgres"])
def test_each_role_is_granted_exactly_its_share_in_both_dialects(dialect):
    """The T-SQL cannot run here: its grants are read from the files (and the PostgreSQL ones, which the
    tests above also run, must say the same). Widening a role's grant fails this test."""
    g = _grants(dialect)
    assert g["fondos_lector"] - {f"GRANT USAGE ON {s}" for s in ("logs", "config")} == \
        {f"GRANT SELECT ON {v}" for v in VIEW_NAMES}
    assert {x for x in g["fondos_operador"] if not x.startswith("GRANT USAGE")} == \
        {f"GRANT SELECT ON {v}" for v in VIEW_NAMES | OPERATOR_READS} | {f"GRANT EXECUTE ON {r}" for r in OPERATOR_ROUTINES}
    take_back = "DENY" if dialect == "mssql" else "REVOKE"
    for routine in ("logs.sp_eliminar_proceso", "logs.sp_revertir_ejecucion"):
        assert f"{take_back} EXECUTE ON {routine}" in g["fondos_pipeline"], routine
