"""What the API and the board show, read only from the views (logs.vw_Procesos, logs.vw_Ejecucion_Etapas
through fondos.pipeline.proceso.resumen_fondos, logs.vw_Proceso_Metricas) through the `fondos_db` connection.
Every value is bound as a parameter. Except `comparacion` (the parallel run, fondos.pipeline.comparar), which reads
logs.Ejecucion_Fondos and the extract/staging tables: a login in fondos_lector gets its SinPermiso (403)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fondos.db.calls import read
from fondos.db.connection import Database
from fondos.pipeline import comparar, disparadores, firma
from fondos.pipeline.metas import veredicto
from fondos.pipeline.metrics import leer_metricas
from fondos.pipeline.proceso import resumen_fondos
from fondos.pipeline.stages import stage_order, task_id
from fondos.settings import APROBADORES

_PROCESO_COLS = ("ID_Proceso, FechaReporte, Estado, Usuario, ClaveEjecucion, TotalFondos, FondosExitosos, "
                 "FondosFallidos, FondosEnProgreso, FechaInicio, FechaFin, DuracionSegundos, Legado, FondosLegado")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in r.items()}


def airflow_run(clave: str | None) -> dict[str, str] | None:
    """The Airflow DAG run a proceso belongs to, from its run key 'dag_id/run_id' (fondos.airflow.dag_tasks)."""
    if not clave or "/" not in clave:
        return None
    dag_id, _, run_id = clave.partition("/")
    return {"dag_id": dag_id, "run_id": run_id}


def _proceso(r: dict[str, Any]) -> dict[str, Any]:
    """One row of logs.vw_Procesos as the API answers it, with the Airflow run it belongs to (not for history)."""
    p = _row(r)
    p["legado"] = bool(p["legado"])
    p["airflow"] = None if p["legado"] else airflow_run(p.get("claveejecucion"))
    return p


def procesos(db: Database, fecha: date | None, estado: str | None, limit: int) -> list[dict[str, Any]]:
    where, params = [], []
    if fecha is not None:
        where.append("FechaReporte = %s")
        params.append(fecha)
    if estado is not None:
        where.append(f"Estado = {db.varchar()}")
        params.append(estado)
    sql = f"SELECT {_PROCESO_COLS} FROM logs.vw_Procesos"  # noqa: S608 - fixed column list, values bound
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY FechaInicio DESC, ID_Proceso DESC"
    return [_proceso(r) for r in read(db, _limit(db, sql, limit), params)]


def _limit(db: Database, sql: str, limit: int) -> str:
    """Row limit in either dialect; `limit` is an int validated by the API (1..500), never text."""
    n = int(limit)
    if db.dialect == "mssql":
        return sql.replace("SELECT ", f"SELECT TOP ({n}) ", 1)
    return f"{sql} LIMIT {n}"


def _fondos(db: Database, id_proceso: int, run: dict[str, str] | None) -> list[dict[str, Any]]:
    """Every fund's stages (fondos.pipeline.proceso.resumen_fondos), in stage order, each with its mapped task:
    map index i is the i-th fund by ID_Fund, the order crear_proceso expands them in."""
    order = {name: i for i, name in enumerate(stage_order())}
    out = sorted(resumen_fondos(db, id_proceso), key=lambda f: (f["id_fund"], f["id_ejecucion"]))
    for index, f in enumerate(out):
        f["map_index"] = index if run else None
        f["etapas"] = [dict(etapa=name, **_row(e), **_task(run, name, f["map_index"]))
                       for name, e in sorted(f["etapas"].items(), key=lambda kv: order.get(kv[0], 99))]
    return out


def _task(run: dict[str, str] | None, etapa: str, map_index: int | None) -> dict[str, Any]:
    if not run:
        return {"task_id": None, "log_url": None}
    tid = task_id(etapa)
    # a run id may hold any character: encode what would break a path segment ("/", "?", "#", "%", spaces)
    return {"task_id": tid, "log_url": f"/dags/{quote(run['dag_id'], safe='')}/runs/{quote(run['run_id'], safe=':+@')}"
                                       f"/tasks/{tid}/mapped/{map_index}"}


def proceso(db: Database, id_proceso: int) -> dict[str, Any] | None:
    rows = read(db, f"SELECT {_PROCESO_COLS} FROM logs.vw_Procesos WHERE ID_Proceso = %s",  # noqa: S608
                      (id_proceso,))
    if not rows:
        return None
    p = _proceso(rows[0])
    p["ejecuciones"] = _fondos(db, id_proceso, p["airflow"])
    p["metricas"] = None if p["legado"] else _row_metricas(db, id_proceso)
    p["alertas"] = [] if p["legado"] else [_row(a) for a in disparadores.leer(db, id_proceso)]
    p["etapas"] = stage_order()
    p["firma"] = None if p["legado"] else _firma(db, id_proceso, p["ejecuciones"])
    return p


def _firma(db: Database, id_proceso: int, fondos: list[dict[str, Any]]) -> dict[str, Any]:
    """The checks of each fund (into its entry) and the proceso's sign-off (fondos.pipeline.firma)."""
    s = firma.estado_firma(db, id_proceso, APROBADORES)
    by_ejecucion = {f["id_ejecucion"]: f for f in s["fondos"]}
    for f in fondos:
        v = by_ejecucion.get(f["id_ejecucion"]) or {}
        f.update(verificacion=v.get("verificacion"), aceptadopor=v.get("aceptadopor"),
                 motivoaceptacion=v.get("motivoaceptacion"), publicado=bool(v.get("publicado")),
                 controles=[_row(c) for c in v.get("controles", [])])
    return {"estado": s["estado"], "usuario": s["usuario"], "comentario": s["comentario"],
            "publicados": s["publicados"], "retenidos": len(s["retenidos"]), "aprobadores": s["aprobadores"],
            "decisiones": [_row(d) for d in s["decisiones"]]}


def _row_metricas(db: Database, id_proceso: int) -> dict[str, Any]:
    row = leer_metricas(db, id_proceso)
    return veredicto(_row(row) if row else None)


def ejecucion(db: Database, id_ejecucion: int) -> dict[str, Any] | None:
    rows = read(db, "SELECT ID_Proceso FROM logs.vw_Ejecucion_Etapas WHERE ID_Ejecucion = %s", (id_ejecucion,))
    if not rows:
        return None
    p = proceso(db, rows[0]["id_proceso"])
    if p is None:
        return None
    fondos = [f for f in p["ejecuciones"] if f["id_ejecucion"] == id_ejecucion]
    return {"id_ejecucion": id_ejecucion, "id_proceso": p["id_proceso"], "fechareporte": p["fechareporte"],
            "estado_proceso": p["estado"], "legado": p["legado"], "airflow": p["airflow"], "fondos": fondos}


def comparacion(db: Database, fecha: date, id_proceso: int | None, id_legado: int | None,
                limite: int) -> dict[str, Any]:
    """The parallel run's comparison (fondos.pipeline.comparar); raises its DataError for a missing side."""
    return comparar.como_dict(comparar.comparar(db, fecha, id_proceso, id_legado), limite)
