"""The end of the day: plausibility checks per fund, holds, an operator's acceptance, the four-eyes sign-off
and the publication of the approved figures (migration 030).

    controlar  -> the checks of every OK fund of a proceso whose checks are not current (logs.sp_Controlar_Ejecucion)
    verificacion -> per fund: OK, SIN_COMPARACION, RETENIDO (held), ACEPTADO, PENDIENTE; each check with its reason
    aceptar    -> an operator accepts a held fund, with a reason (logs.sp_Aceptar_Retencion)
    firmar     -> a sign-off decision; an approval publishes what the checks allow (logs.sp_Firmar_Proceso)
    cifras_aprobadas -> what downstream systems read (logs.vw_Cifras_Aprobadas)

Every write is a procedure call; `call` resends it on a lost connection, and each is safe to resend: the
checks replace their rows, an acceptance of an accepted fund changes nothing, and a decision is named by
its key (the Airflow response), so it is recorded once.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any

from fondos.db.calls import call, read
from fondos.db.connection import Database, database
from fondos.errors import DataError, InvalidInput
from fondos.pipeline.fechas import previous_business_day
from fondos.settings import CALENDAR, CONN_ID

log = logging.getLogger(__name__)

PUBLICABLES = ("OK", "SIN_COMPARACION", "ACEPTADO")
TITULOS = {"PATRIMONIO": "net assets", "PRECIOS": "prices at cost or stale", "QUIEBRES": "custodian breaks",
           "QUIEBRES_MONTO": "custodian breaks' amount"}


def _num(value: Any, decimals: int = 4) -> str:
    if value is None:
        return "none"
    return f"{Decimal(value):,.{decimals}f}"


def razon(c: dict[str, Any]) -> str:
    """What a check found, naming the figure, the previous value (if any) and the threshold."""
    estado, valor, umbral = c["estado"], c.get("valor"), c.get("umbral")
    control = c["control"]
    if estado == "NO_APLICA":
        return f"{TITULOS[control]}: not applicable (no custodian reconciliation for this fund)"
    if control == "PATRIMONIO":
        fecha = c.get("fechaanterior")
        if estado == "SIN_COMPARACION":
            return (f"net assets: no comparison: no approved net assets for {fecha} (the previous business day) "
                    "to compare with")
        return (f"net assets moved {_num(valor)} % against {fecha}'s approved {_num(c.get('valoranterior'))} "
                f"(threshold {_num(umbral)} %)")
    if control == "PRECIOS":
        return f"{_num(valor)} % of positions valued at cost or at a stale price (threshold {_num(umbral)} %)"
    if control == "QUIEBRES":
        return f"{_num(valor, 0)} custodian breaks (threshold {_num(umbral, 0)})"
    if estado == "SIN_COMPARACION":
        return f"custodian breaks worth {_num(c.get('importe'))} in base currency: no comparison (net assets are zero)"
    return (f"custodian breaks worth {_num(c.get('importe'))} in base currency, {_num(valor)} % of net assets "
            f"(threshold {_num(umbral)} %)")


def controlar(id_proceso: int, calendario: str = CALENDAR, conn_id: str = CONN_ID) -> list[dict[str, Any]]:
    """Run the checks of every OK fund of the proceso whose checks are not current (never run, or run before
    its latest stage). A fund already checked, held or accepted on its current figures is left as it is, so
    clearing one fund re-checks that fund alone. Returns `verificacion`."""
    with database(conn_id, autocommit=True) as db:
        pendientes = read(db, "SELECT ID_Ejecucion, ID_Fund, FechaReporte FROM logs.vw_Ejecucion_Verificacion "
                              f"WHERE ID_Proceso = %s AND Verificacion = {db.varchar()} ORDER BY ID_Fund",
                          (id_proceso, "PENDIENTE"))
        for r in pendientes:
            fecha = r["fechareporte"] if isinstance(r["fechareporte"], date) else date.fromisoformat(str(r["fechareporte"]))
            anterior = previous_business_day(fecha, calendario)
            out = call(db, "logs.sp_Controlar_Ejecucion",
                       {"ID_Ejecucion": r["id_ejecucion"], "FechaReporte": fecha, "ID_Fund": r["id_fund"],
                        "FechaAnterior": anterior}, context=f"fund {r['id_fund']}")[0]
            if out["retenidos"]:
                log.warning("fund %s (ID_Ejecucion %s): %s check(s) above threshold: held", r["id_fund"],
                            r["id_ejecucion"], out["retenidos"])
        return verificacion(db, id_proceso)


def verificacion(db: Database, id_proceso: int) -> list[dict[str, Any]]:
    """Per fund of the proceso, in fund order: its ejecución's state, where its checks leave it (Verificacion),
    who accepted a hold and why, whether its figures are published now, and each check with its reason."""
    fondos = read(db, "SELECT v.ID_Ejecucion, v.ID_Fund, f.FundShortName, v.Estado, v.Verificacion, v.FechaControl, "
                      "v.AceptadoPor, v.MotivoAceptacion, v.FechaAceptacion, a.Aprobador, a.FechaPublicacion "
                      "FROM logs.vw_Ejecucion_Verificacion AS v "
                      "INNER JOIN logs.vw_Ejecucion_Fondos AS f ON f.ID_Ejecucion = v.ID_Ejecucion "
                      "LEFT JOIN logs.vw_Cifras_Aprobadas AS a ON a.ID_Fund = v.ID_Fund AND a.FechaReporte = v.FechaReporte "
                      "AND a.ID_Ejecucion = v.ID_Ejecucion "
                      "WHERE v.ID_Proceso = %s ORDER BY v.ID_Fund", (id_proceso,))
    checks = read(db, "SELECT k.ID_Ejecucion, k.Control, k.Estado, k.Valor, k.ValorAnterior, k.Importe, k.Umbral, "
                      "k.FechaAnterior FROM logs.vw_Ejecucion_Controles AS k WHERE k.ID_Proceso = %s "
                      "ORDER BY k.ID_Ejecucion, k.Control", (id_proceso,))
    by_ejecucion: dict[int, list[dict[str, Any]]] = {}
    for c in checks:
        c = dict(c, fechaanterior=str(c["fechaanterior"]) if c["fechaanterior"] else None)
        c["razon"] = razon(c)
        by_ejecucion.setdefault(int(c["id_ejecucion"]), []).append(c)
    out = []
    for f in fondos:
        controles = by_ejecucion.get(int(f["id_ejecucion"]), [])
        out.append({**f, "publicado": f["fechapublicacion"] is not None, "controles": controles,
                    # what holds it first, then what could not be compared
                    "razones": [c["razon"] for c in controles if c["estado"] == "RETENIDO"]
                    + [c["razon"] for c in controles if c["estado"] == "SIN_COMPARACION"]})
    return out


def aceptar(id_ejecucion: int, usuario: str, motivo: str, conn_id: str = CONN_ID) -> dict[str, Any]:
    """An operator accepts a held fund with a reason; refused (InvalidInput) when the fund is not held."""
    with database(conn_id, autocommit=True) as db:
        try:
            return call(db, "logs.sp_Aceptar_Retencion",
                        {"ID_Ejecucion": id_ejecucion, "Usuario": usuario, "Motivo": motivo})[0]
        except DataError as exc:
            raise InvalidInput(f"cannot accept ID_Ejecucion {id_ejecucion}: {exc}") from exc


def firmar(id_proceso: int, decision: str, usuario: str, clave: str, solicitante: str | None = None,
           comentario: str | None = None, conn_id: str = CONN_ID) -> dict[str, Any]:
    """Record a sign-off decision (APROBADO publishes what the checks allow); InvalidInput when refused."""
    with database(conn_id, autocommit=True) as db:
        try:
            return call(db, "logs.sp_Firmar_Proceso",
                        {"ID_Proceso": id_proceso, "Decision": decision, "Usuario": usuario, "Clave": clave,
                         "Solicitante": solicitante, "Comentario": comentario})[0]
        except DataError as exc:
            raise InvalidInput(f"proceso {id_proceso} was not signed off: {exc}") from exc


def firmas(db: Database, id_proceso: int) -> list[dict[str, Any]]:
    """Every sign-off decision of the proceso, newest first."""
    return read(db, "SELECT Secuencia, Decision, Usuario, Solicitante, Comentario, Publicadas, FechaFirma "
                    "FROM logs.vw_Proceso_Firmas WHERE ID_Proceso = %s ORDER BY Secuencia DESC", (id_proceso,))


def estado_firma(db: Database, id_proceso: int, aprobadores: list[str] | None = None) -> dict[str, Any]:
    """Where the proceso's sign-off stands, for the messages, the API and the CLI: `estado` APROBADO or
    RECHAZADO (the latest decision, with its user, comment and count published), PENDIENTE (approvers are
    configured, no decision yet) or SIN_FIRMA (no sign-off configured); the held, accepted and no-comparison
    funds; how many funds are published now."""
    decisiones = firmas(db, id_proceso)
    fondos = verificacion(db, id_proceso)
    ultima = decisiones[0] if decisiones else None
    estado = ultima["decision"] if ultima else ("PENDIENTE" if aprobadores else "SIN_FIRMA")
    return {"estado": estado, "usuario": ultima["usuario"] if ultima else None,
            "comentario": ultima["comentario"] if ultima else None,
            "publicadas": ultima["publicadas"] if ultima else 0, "secuencia": ultima["secuencia"] if ultima else None,
            "fechafirma": ultima["fechafirma"] if ultima else None, "aprobadores": list(aprobadores or []),
            "decisiones": decisiones,
            "retenidos": [f for f in fondos if f["verificacion"] == "RETENIDO"],
            "aceptados": [f for f in fondos if f["verificacion"] == "ACEPTADO"],
            "sin_comparacion": sum(1 for f in fondos if f["verificacion"] == "SIN_COMPARACION"),
            "publicados": sum(1 for f in fondos if f["publicado"]), "fondos": fondos}


def cifras_aprobadas(db: Database, fecha: date) -> list[dict[str, Any]]:
    """The latest approved, current figures of every fund for a report date (what downstream systems read)."""
    return read(db, "SELECT ID_Fund, FechaReporte, ID_Proceso, ID_Ejecucion, PatrimonioBase, ResultadoBase, FlujoNeto, "
                    "RentabilidadPct, Aprobador, FechaFirma, FechaPublicacion FROM logs.vw_Cifras_Aprobadas "
                    "WHERE FechaReporte = %s ORDER BY ID_Fund", (fecha,))
