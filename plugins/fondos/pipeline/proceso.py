"""The proceso lifecycle, as the DAG's tasks (and the CLI) use it.

It calls procedures and reads views only: the pipeline's database role
(fondos_pipeline, migration 018) has no rights on tables.

    inicializar_proceso  -> one item per fund (what the mapped task group expands over)
    ejecutar_etapa       -> one stage of one fund: EN_PROGRESO, its steps, OK or ERROR
    registrar_error      -> ERROR from a failure callback (killed or timed-out task)
    cerrar_proceso       -> the proceso's figures and a per-fund summary

Items are plain JSON-able dicts so they travel through XCom.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

from fondos.db.calls import call, read
from fondos.db.connection import Database, database
from fondos.errors import DataError, InvalidInput
from fondos.pipeline import disparadores, firma
from fondos.pipeline.metas import veredicto
from fondos.pipeline.metrics import registrar_metricas
from fondos.pipeline.stages import STAGES
from fondos.settings import APROBADORES, CONN_ID

log = logging.getLogger(__name__)

ABIERTOS = ("EN_PROGRESO", "REINTENTANDO")  # an attempt started and has not recorded its outcome


ITEM_KEYS = ("id_proceso", "id_ejecucion", "id_fund", "fundshortname", "portfolio_geneva", "portfolio_capm",
             "portfolio_derivados", "portfolio_ubs")


def _item(row: dict[str, Any], fecha: date, etapas: list[str]) -> dict[str, Any]:
    """One fund's item, the same whether built at creation or read back by a mapped task."""
    return {**{k: row[k] for k in ITEM_KEYS}, "fechareporte": fecha.isoformat(), "etapas": etapas}


def _fecha_param(item: dict[str, Any]) -> date:
    return date.fromisoformat(item["fechareporte"])


def fund_label(item: dict[str, Any]) -> str:
    return f"fund {item['id_fund']} ({item['fundshortname']}), ID_Ejecucion {item['id_ejecucion']}, {item['fechareporte']}"


def inicializar_proceso(
    fecha: date, usuario: str, clave: str, fondos: list[int] | None = None, conn_id: str = CONN_ID
) -> list[dict[str, Any]]:
    """Create (or, for a run key seen before, return) the proceso and its ejecuciones."""
    lista = ",".join(str(int(f)) for f in fondos) if fondos else None
    with database(conn_id, autocommit=True) as db:
        try:
            rows = call(db, "logs.sp_Inicializar_Proceso",
                        {"FechaReporte": fecha, "Usuario": usuario, "ClaveEjecucion": clave, "Fondos": lista})
        except DataError as exc:
            raise InvalidInput(f"cannot start the proceso for {fecha}: {exc}") from exc
        if rows:  # the plan's metrics: the server counters as the proceso starts (kept on a retry)
            registrar_metricas(db, rows[0]["id_proceso"], "INICIO")
    items = [_item(r, fecha, [e for e in (r["etapas"] or "").split(",") if e]) for r in rows]
    log.info("proceso %s for %s: %d ejecuciones", items[0]["id_proceso"] if items else "?", fecha, len(items))
    avisos = [f"fund {r['id_fund']} ({r['fundshortname']}): {r['aviso']}" for r in rows if r.get("aviso")]
    if avisos:
        log.warning("%d of %d funds lack source data for %s and will fail:\n  %s", len(avisos), len(items), fecha,
                    "\n  ".join(avisos))
    return items


def _registrar(db: Database, item: dict[str, Any], etapa: str, estado: str,
               filas: int | None = None, mensaje: str | None = None, intento: str | None = None) -> dict[str, Any]:
    """Record a stage state. `intento`, the attempt's token: `call` resends the same call when the
    connection is lost, and the procedure recognises a resend it already committed (migration 027)."""
    params = {"ID_Ejecucion": item["id_ejecucion"], "Etapa": etapa, "Estado": estado, "Filas": filas,
              "Mensaje": mensaje}
    if intento is not None:
        params["Intento"] = intento
    rows = call(db, "logs.sp_Actualizar_Estado_Etapa", params)
    return rows[0] if rows else {}


def item_de_ejecucion(id_ejecucion: int, conn_id: str = CONN_ID) -> dict[str, Any]:
    """The item of one ejecución, as inicializar_proceso returns it, read from logs.vw_Ejecucion_Fondos: what a
    mapped stage task needs when it receives only its ID_Ejecucion."""
    with database(conn_id, autocommit=True) as db:
        rows = read(db, "SELECT ID_Proceso, ID_Ejecucion, ID_Fund, FechaReporte, FundShortName, Portfolio_Geneva, "
                        "Portfolio_CAPM, Portfolio_Derivados, Portfolio_UBS, Estado_Process_IPA, Estado_Process_CAPM, "
                        "Estado_Process_PNL, Estado_Process_Derivados, Estado_Process_UBS "
                        "FROM logs.vw_Ejecucion_Fondos WHERE ID_Ejecucion = %s", (id_ejecucion,))
    if not rows:
        raise DataError(f"ID_Ejecucion {id_ejecucion} is not an ejecución of procesos_diarios (deleted meanwhile?): "
                        "nothing was run")
    r = rows[0]
    # in sp_Inicializar_Proceso's order (its Etapas column), so the item is the same either way
    return _item(r, r["fechareporte"], [s for s in ("IPA", "CAPM", "PNL", "Derivados", "UBS")
                                        if r[f"estado_process_{s.lower()}"] != "OMITIDO"])


def ejecutar_etapa(item: dict[str, Any], etapa: str, conn_id: str = CONN_ID,
                   reintento: str | None = None) -> dict[str, Any]:
    """Run one stage of one fund and record its state; raise on failure after recording it.

    `reintento` describes the retry Airflow will make if this attempt fails
    for a reason other than data (e.g. "Airflow retries it: try 1 of 3"): the
    stage is then recorded REINTENTANDO with the error, not ERROR.
    """
    stage = STAGES[etapa]
    if etapa not in item["etapas"]:
        log.info("%s does not apply to %s: recorded as OMITIDO", etapa, fund_label(item))
        return {"etapa": etapa, "estado": "OMITIDO", "filas": 0, "pasos": {}}
    pasos: dict[str, int] = {}
    intento = uuid.uuid4().hex  # this attempt's token: its resends change nothing (027)
    with database(conn_id, autocommit=True) as db:
        _registrar(db, item, etapa, "EN_PROGRESO", intento=intento)
        step = None
        try:
            for step in stage.steps:
                params = {p: (_fecha_param(item) if p == "FechaReporte" else item[p.lower()]) for p in step.params}
                rows = call(db, step.procedure, params, context=fund_label(item))
                pasos[step.procedure] = int(rows[0]["filas"]) if rows else 0
                log.info("%s %s: %d rows", fund_label(item), step.procedure, pasos[step.procedure])
        except Exception as exc:
            where = f"{etapa} failed for {fund_label(item)} in {step.procedure if step else etapa}"
            retrying = reintento is not None and not isinstance(exc, DataError)
            if isinstance(exc, DataError):
                hint = "Fix the data, then clear this fund's task to run it again."
            elif retrying:
                hint = f"{reintento}; if it keeps failing, check the database."
            else:
                hint = "No retry is left: check the database, then clear this fund's task to run it again."
            mensaje = f"{where}: {exc}. {hint}"
            try:
                _registrar(db, item, etapa, "REINTENTANDO" if retrying else "ERROR", mensaje=mensaje, intento=intento)
            except Exception:  # the database may be the problem; the failure callback tries again
                log.exception("could not record ERROR for %s", fund_label(item))
            if isinstance(exc, DataError):
                raise DataError(mensaje) from exc
            raise
        total = sum(pasos.values())
        estados = _registrar(db, item, etapa, "OK", filas=total, intento=intento)
    log.info("%s %s OK, %d rows (ejecución %s, proceso %s)", etapa, fund_label(item), total,
             estados.get("estado_ejecucion"), estados.get("estado_proceso"))
    return {"etapa": etapa, "estado": "OK", "filas": total, "pasos": pasos}


def _registrar_error_si_abierta(db: Database, id_ejecucion: int, etapa: str, mensaje: str,
                               estado: str = "ERROR") -> None:
    """Record `estado` (ERROR, or REINTENTANDO from a retry callback) unless the stage already ended or the
    attempt recorded it itself; the stage's earlier message is kept at the end."""
    rows = read(db, "SELECT Estado, Mensaje FROM logs.vw_Ejecucion_Etapas "
                      f"WHERE ID_Ejecucion = %s AND Etapa = {db.varchar()}", (id_ejecucion, etapa))
    if not rows or rows[0]["estado"] not in ABIERTOS + ("PENDIENTE",):
        return
    if estado == "REINTENTANDO" and rows[0]["estado"] == "REINTENTANDO":
        return  # the attempt recorded its own error
    if rows[0]["mensaje"]:
        mensaje += f"; last message: {rows[0]['mensaje']}"
    _registrar(db, {"id_ejecucion": id_ejecucion}, etapa, estado, mensaje=mensaje[:4000])


def registrar_error(item: dict[str, Any], etapa: str, mensaje: str, conn_id: str = CONN_ID) -> None:
    """Record ERROR for a stage unless it already ended (for failure callbacks)."""
    with database(conn_id, autocommit=True) as db:
        _registrar_error_si_abierta(db, item["id_ejecucion"], etapa, mensaje)


def reconciliar(db: Database, id_proceso: int, airflow: dict[tuple[str, int], str] | None = None) -> list[str]:
    """Make the database say what became of every stage that never recorded an outcome, before closing.

    `airflow` maps (stage, map index) to Airflow's own state of that mapped
    task, when the caller is the DAG (the Task SDK reads them); map index i is
    the i-th ejecución by ID_Fund. A stage still EN_PROGRESO or REINTENTANDO
    whose task Airflow marked failed was killed: no callback runs for a
    SIGKILL, OOM kill or a lost worker. A PENDIENTE stage whose upstream stages
    all ended OK should have run and did not. A PENDIENTE stage behind a failed
    or unrun stage stays PENDIENTE, whatever the failure was. Returns what it
    recorded, one line per stage.
    """
    from fondos.pipeline.stages import stage_order

    fondos = resumen_fondos(db, id_proceso)
    hechos = []
    for index, fondo in enumerate(sorted(fondos, key=lambda f: f["id_fund"])):
        item = {"id_ejecucion": fondo["id_ejecucion"]}
        for name in stage_order():
            e = fondo["etapas"].get(name, {})
            af = (airflow or {}).get((name, index))
            if e.get("estado") in ABIERTOS:
                if af == "failed":
                    mensaje = (f"{name} was killed on try {e['intentos']} (SIGKILL, OOM kill or timeout): Airflow "
                               f"marked the task failed and the attempt never recorded an outcome")
                else:
                    mensaje = (f"{name} attempt {e['intentos']} never recorded an outcome (Airflow state: "
                               f"{af or 'unknown'})")
            elif e.get("estado") == "PENDIENTE" and all(
                    fondo["etapas"].get(u, {}).get("estado") in ("OK", "OMITIDO") for u in STAGES[name].upstream):
                mensaje = f"{name} never ran although its upstream stages ended OK (Airflow state: {af or 'unknown'})"
            else:
                continue
            if e.get("mensaje"):
                mensaje += f"; last message: {e['mensaje']}"
            mensaje += f". Clear this fund's {name.lower()} task to run it again."
            _registrar(db, item, name, "ERROR", mensaje=mensaje[:4000])
            hechos.append(f"fund {fondo['id_fund']} {name}: {mensaje}")
    return hechos


def cerrar_proceso(id_proceso: int, conn_id: str = CONN_ID,
                   airflow: dict[tuple[str, int], str] | None = None) -> dict[str, Any]:
    """Reconcile, close the proceso (it ends OK or ERROR), and summarise it."""
    with database(conn_id, autocommit=True) as db:
        for hecho in reconciliar(db, id_proceso, airflow):
            log.warning("recorded at close: %s", hecho)
        proceso = call(db, "logs.sp_Actualizar_Estadisticas_Proceso", {"ID_Proceso": id_proceso, "Cerrar": True})[0]
        proceso["id_proceso"] = id_proceso
        proceso["fondos"] = resumen_fondos(db, id_proceso)
        proceso["metricas"] = veredicto(registrar_metricas(db, id_proceso, "FIN"))
        proceso["vigilancia"] = _vigilar(db, proceso)
        proceso["alertas"] = disparadores.leer(db, id_proceso)
        proceso["firma"] = firma.estado_firma(db, id_proceso, APROBADORES)
    return proceso


def resumen_proceso(db: Database, id_proceso: int) -> dict[str, Any]:
    """A proceso as cerrar_proceso returns it, read only (nothing recomputed or recorded): its figures, every
    fund, the plan metrics' verdict, its rollback alerts and where its sign-off stands."""
    from fondos.pipeline.metrics import leer_metricas

    rows = read(db, "SELECT ID_Proceso, FechaReporte, Estado, Usuario, TotalFondos, FondosExitosos, FondosFallidos, "
                    "FechaInicio, FechaFin FROM logs.vw_Procesos WHERE ID_Proceso = %s", (id_proceso,))
    if not rows:
        raise InvalidInput(f"unknown ID_Proceso {id_proceso}")
    p = dict(rows[0], id_proceso=id_proceso, fondos=resumen_fondos(db, id_proceso))
    p["metricas"] = veredicto(leer_metricas(db, id_proceso))
    p["alertas"] = disparadores.leer(db, id_proceso)
    p["firma"] = firma.estado_firma(db, id_proceso, APROBADORES)
    return p


def _vigilar(db: Database, proceso: dict[str, Any]) -> list[str]:
    """The rollback triggers at close. Never fails the close: a trigger that cannot be evaluated is
    logged as an error and said in the summary."""
    try:
        lines = disparadores.vigilar_y_registrar(db, proceso, cerrado=True)
    except Exception as exc:  # a misconfigured baseline, a database error after the retries
        log.error("rollback triggers of proceso %s not evaluated: %s", proceso["id_proceso"], exc)
        return [f"rollback triggers not evaluated: {exc}"]
    for line in lines:
        log.info("%s", line)
    return lines


def fondos_a_mapear(conn_id: str = CONN_ID) -> int:
    """How many active funds procesos_diarios would map now (config.vw_Fondos_Arquitectura, v3)."""
    with database(conn_id, autocommit=True) as db:
        rows = read(db, f"SELECT COUNT(*) AS n FROM config.vw_Fondos_Arquitectura WHERE Activo = %s "
                        f"AND Arquitectura = {db.varchar()}", (True, "v3"))
    return int(rows[0]["n"])


def vigilar_en_curso(conn_id: str = CONN_ID) -> list[dict[str, Any]]:
    """Escenario 1 while procesos run (the vigilancia_rollback DAG): evaluate and record the trigger for every
    proceso of procesos_diarios still EN_PROGRESO; each one returned with its recorded alertas, for sending."""
    out = []
    with database(conn_id, autocommit=True) as db:
        rows = read(db, "SELECT ID_Proceso, FechaReporte, Estado, TotalFondos, FondosExitosos, FondosFallidos, "
                        f"FechaInicio FROM logs.vw_Procesos WHERE Estado = {db.varchar()} AND Legado = %s",
                    ("EN_PROGRESO", False))
        for r in rows:
            p = dict(r, fondos=resumen_fondos(db, r["id_proceso"]))
            p["vigilancia"] = disparadores.vigilar_y_registrar(db, p, cerrado=False)
            p["alertas"] = disparadores.leer(db, r["id_proceso"])
            out.append(p)
    return out


def resumen_fondos(db: Database, id_proceso: int) -> list[dict[str, Any]]:
    """One entry per fund: its ejecución, state, and each stage's state, rows, times, attempts and error."""
    rows = read(
        db,
        "SELECT ID_Ejecucion, ID_Fund, FundShortName, Estado_Ejecucion, Etapa, Estado, Filas, Mensaje, "
        "DuracionSegundos, Intentos, FechaInicio, FechaFin FROM logs.vw_Ejecucion_Etapas WHERE ID_Proceso = %s "
        "ORDER BY ID_Fund",
        (id_proceso,),
    )
    fondos: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows:  # keyed by fund too: a legacy ID_Ejecucion is shared by every fund of its run
        f = fondos.setdefault((r["id_ejecucion"], r["id_fund"]), {
            "id_ejecucion": r["id_ejecucion"], "id_fund": r["id_fund"], "fundshortname": r["fundshortname"],
            "estado": r["estado_ejecucion"], "etapas": {}})
        f["etapas"][r["etapa"]] = {"estado": r["estado"], "filas": r["filas"], "mensaje": r["mensaje"],
                                   "segundos": r["duracionsegundos"], "intentos": r["intentos"],
                                   "inicio": r["fechainicio"], "fin": r["fechafin"]}
    return list(fondos.values())


def revertir_ejecucion(id_ejecucion: int, conn_id: str = CONN_ID) -> int:
    with database(conn_id, autocommit=True) as db:
        return int(call(db, "logs.sp_Revertir_Ejecucion", {"ID_Ejecucion": id_ejecucion})[0]["filas"])


def eliminar_proceso(id_proceso: int, conn_id: str = CONN_ID) -> int:
    with database(conn_id, autocommit=True) as db:
        return int(call(db, "logs.sp_Eliminar_Proceso", {"ID_Proceso": id_proceso})[0]["filas"])


def ejecutar_fondo(item: dict[str, Any], conn_id: str = CONN_ID) -> dict[str, str]:
    """Run every stage of one fund in catalog order, as the DAG's task group would:
    a stage whose upstream failed does not run (it stays PENDIENTE). Returns stage -> outcome."""
    from fondos.pipeline.stages import stage_order

    outcome: dict[str, str] = {}
    for name in stage_order():
        if any(outcome.get(u) in ("ERROR", "NO_EJECUTADA") for u in STAGES[name].upstream):
            outcome[name] = "NO_EJECUTADA"
            continue
        try:
            outcome[name] = ejecutar_etapa(item, name, conn_id)["estado"]
        except Exception as exc:
            log.error("%s", exc)
            outcome[name] = "ERROR"
    return outcome


def registrar_error_por_indice(clave: str, map_index: int, etapa: str, mensaje: str, conn_id: str = CONN_ID,
                               estado: str = "ERROR") -> bool:
    """Record ERROR for the fund at `map_index` of the proceso created by run key `clave`.

    For failure callbacks, which may run in another process (a killed task's
    callback runs in the DAG processor) and have no XCom at hand: the mapped
    items are the ejecuciones ordered by ID_Fund, so map_index i is the i-th.
    """
    with database(conn_id, autocommit=True) as db:
        rows = read(
            db,
            "SELECT DISTINCT e.ID_Ejecucion, e.ID_Fund, p.ClaveEjecucion FROM logs.vw_Ejecucion_Etapas AS e "
            "JOIN logs.vw_Procesos AS p ON p.ID_Proceso = e.ID_Proceso WHERE p.ClaveEjecucion = %s ORDER BY e.ID_Fund",
            (clave,))
        rows = [r for r in rows if r["claveejecucion"] == clave]  # exact: SQL Server's collation ignores case
        if not 0 <= map_index < len(rows):
            log.warning("no ejecución at map index %s of run %s", map_index, clave)
            return False
        _registrar_error_si_abierta(db, rows[map_index]["id_ejecucion"], etapa, mensaje, estado)
    return True


def proceso_de_clave(clave: str, conn_id: str = CONN_ID) -> int | None:
    with database(conn_id, autocommit=True) as db:
        rows = read(db, "SELECT ID_Proceso, ClaveEjecucion FROM logs.vw_Procesos WHERE ClaveEjecucion = %s", (clave,))
    # exact: SQL Server's default collation would also match a key differing in case or trailing spaces
    rows = [r for r in rows if r["claveejecucion"] == clave]
    return int(rows[0]["id_proceso"]) if rows else None


def cerrar_procesos_en_progreso(conn_id: str = CONN_ID) -> list[int]:
    """Close every proceso still EN_PROGRESO (benchmarks between runs; an operator after a crash)."""
    with database(conn_id, autocommit=True) as db:
        rows = read(db, f"SELECT ID_Proceso FROM logs.vw_Procesos WHERE Estado = {db.varchar()} AND Legado = %s",
                          ("EN_PROGRESO", False))  # legacy history is never closed by us
        ids = [int(r["id_proceso"]) for r in rows]
    for id_proceso in ids:
        cerrar_proceso(id_proceso, conn_id)
    return ids
