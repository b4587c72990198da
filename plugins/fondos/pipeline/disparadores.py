"""The plan's rollback triggers (Rollback Plan), computed from what the database records.

* FALLOS_2H, Escenario 1: more than 50 % of a proceso's ejecuciones failed
  within its first 2 hours. A fund counts when its ejecución is ERROR now and
  its first failed stage ended at most 2 hours after the proceso started
  (boundary included). Evaluated while the proceso runs (the
  `vigilancia_rollback` DAG) and when it closes.
* DURACION, Escenario 2: the mean duration of the last 5 report dates (the
  latest closed proceso of each, up to the one evaluated) more than 20 % above
  the baseline. The baseline is `FONDOS_ROLLBACK_BASELINE`: minutes (default
  25, the plan's "25 minutos/día"), or `primera-semana`, the mean of the first
  5 report dates of procesos_diarios, which then needs 5 more dates after
  them. Fewer dates than that: not evaluated, and said. Evaluated when a
  proceso closes. Compared in whole seconds, exactly: sum * 10 > 12 * baseline * 5.

A trigger that fires is recorded once per proceso (logs.sp_Registrar_Alerta,
029); its message goes once through the morning message's channel
(fondos.airflow.aviso.enviar_alertas).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fondos.db.calls import call, read
from fondos.db.connection import Database
from fondos.pipeline.stages import FAILED_STATES

log = logging.getLogger(__name__)

VENTANA_FALLOS = timedelta(hours=2)
DIAS_DURACION = 5
BASELINE_MINUTOS = 25
ACCIONES = {
    "FALLOS_2H": ("Rollback Plan, Escenario 1 (more than 50% of the ejecuciones failed in the first 2 hours): "
                  "1. point the endpoint back to v2; 2. stop new v3 runs (pause procesos_diarios); 3. let the runs "
                  "in progress finish; 4. read the logs and retry. README: Rolling back to the legacy backend."),
    "DURACION": ("Rollback Plan, Escenario 2 (mean duration more than 20% above the baseline after a week): "
                 "1. analyse the execution plans of the slow queries; 2. add the missing indexes; 3. if it does "
                 "not improve within 48 h, roll back to v2 (README: Rolling back to the legacy backend)."),
}
TITULOS = {"FALLOS_2H": "more than 50% of the funds failed in the first 2 hours",
           "DURACION": "mean duration more than 20% above the baseline"}


@dataclass(frozen=True)
class Alerta:
    disparador: str
    detalle: str

    @property
    def accion(self) -> str:
        return ACCIONES[self.disparador]


def _primer_fallo(fondo: dict[str, Any]) -> datetime | None:
    fines = [e["fin"] for e in fondo["etapas"].values() if e.get("estado") in FAILED_STATES and e.get("fin")]
    return min(fines) if fines else None


def fallos_primeras_2h(p: dict[str, Any]) -> Alerta | None:
    """Escenario 1 for a proceso: `p` has fechainicio, totalfondos and fondos (resumen_fondos)."""
    inicio, total = p.get("fechainicio"), p.get("totalfondos") or 0
    if inicio is None or total == 0:
        return None
    limite = inicio + VENTANA_FALLOS
    fallidos = sorted(f["id_fund"] for f in p["fondos"]
                      if f["estado"] == "ERROR" and (t := _primer_fallo(f)) is not None and t <= limite)
    if 2 * len(fallidos) <= total:
        return None
    shown = ", ".join(map(str, fallidos[:20])) + (" ..." if len(fallidos) > 20 else "")
    return Alerta("FALLOS_2H", f"{len(fallidos)} of {total} funds failed by {limite:%Y-%m-%d %H:%M:%S} (2 hours "
                               f"after the proceso started at {inicio:%H:%M:%S}): more than 50%. Funds: {shown}")


def baseline(historial: list[dict[str, Any]]) -> tuple[int | None, str]:
    """(seconds, where from) of the duration baseline; None when it cannot be measured yet."""
    value = os.environ.get("FONDOS_ROLLBACK_BASELINE", str(BASELINE_MINUTOS)).strip().lower()
    if value in ("primera-semana", "first-week"):
        first = sorted(historial, key=lambda d: d["fechareporte"])[:DIAS_DURACION]
        if len(first) < DIAS_DURACION:
            return None, f"the first week is not complete ({len(first)} of {DIAS_DURACION} report dates)"
        total = sum(d["duracionsegundos"] for d in first)
        return round(total / DIAS_DURACION), (f"measured: mean of the first {DIAS_DURACION} report dates "
                                              f"({first[0]['fechareporte']} to {first[-1]['fechareporte']})")
    try:
        minutes = float(value)
    except ValueError:
        raise ValueError(f"FONDOS_ROLLBACK_BASELINE={value!r}: give minutes (e.g. 25) or primera-semana") from None
    if minutes <= 0:
        raise ValueError(f"FONDOS_ROLLBACK_BASELINE={value!r}: the baseline must be more than 0 minutes")
    return round(minutes * 60), f"configured: {minutes:g} min"


def ultimos_dias(db: Database, hasta: Any) -> list[dict[str, Any]]:
    """The latest closed proceso of each report date up to `hasta`, newest first (procesos_diarios only)."""
    rows = read(db, f"SELECT ID_Proceso, FechaReporte, DuracionSegundos FROM logs.vw_Procesos "
                    f"WHERE Legado = %s AND Estado <> {db.varchar()} AND FechaReporte <= %s "
                    "AND DuracionSegundos IS NOT NULL", (False, "EN_PROGRESO", hasta))
    latest: dict[Any, dict[str, Any]] = {}
    for r in rows:
        if r["fechareporte"] not in latest or r["id_proceso"] > latest[r["fechareporte"]]["id_proceso"]:
            latest[r["fechareporte"]] = r
    return sorted(latest.values(), key=lambda d: d["fechareporte"], reverse=True)


def duracion_sobre_baseline(dias: list[dict[str, Any]]) -> tuple[Alerta | None, str]:
    """Escenario 2 over `dias` (ultimos_dias: newest first): the alert or None, and what was evaluated."""
    base, origen = baseline(dias)
    if base is None:
        return None, f"duration trigger not evaluated: {origen}"
    measured_first = origen.startswith("measured")
    window = dias[:DIAS_DURACION]
    if len(window) < DIAS_DURACION or (measured_first and len(dias) < 2 * DIAS_DURACION):
        return None, (f"duration trigger not evaluated: {len(dias)} report date(s) closed, it needs "
                      f"{2 * DIAS_DURACION if measured_first else DIAS_DURACION}")
    total = sum(d["duracionsegundos"] for d in window)
    texto = (f"mean duration of the last {DIAS_DURACION} report dates ({window[-1]['fechareporte']} to "
             f"{window[0]['fechareporte']}): {total / DIAS_DURACION:.1f} s against a baseline of {base} s "
             f"({origen}); the trigger is above {1.2 * base:.1f} s")
    if total * 10 > 12 * base * DIAS_DURACION:  # mean > 1.2 x baseline, in integers
        return Alerta("DURACION", texto + ": more than 20% above"), texto
    return None, texto


def evaluar(db: Database, p: dict[str, Any], cerrado: bool) -> tuple[list[Alerta], list[str]]:
    """Both triggers for proceso `p` (vw_Procesos row with fondos); the duration one only once closed."""
    alertas, notas = [], []
    if (a := fallos_primeras_2h(p)) is not None:
        alertas.append(a)
    if cerrado:
        a, nota = duracion_sobre_baseline(ultimos_dias(db, p["fechareporte"]))
        notas.append(nota)
        if a is not None:
            alertas.append(a)
    return alertas, notas


def registrar(db: Database, id_proceso: int, alerta: Alerta, canal: str | None = None) -> dict[str, Any]:
    """Record `alerta` once (and reserve its message when `canal` is given): {nueva, envio, resultado}."""
    row = call(db, "logs.sp_Registrar_Alerta", {"ID_Proceso": id_proceso, "Disparador": alerta.disparador,
                                                 "Detalle": alerta.detalle, "Accion": alerta.accion, "Canal": canal})
    r = row[0]
    if r["nueva"]:
        log.warning("ROLLBACK TRIGGER for proceso %s: %s. %s", id_proceso, alerta.detalle, alerta.accion)
    return {"nueva": bool(r["nueva"]), "envio": r["envio"], "resultado": r["resultado"]}


def confirmar(db: Database, id_proceso: int, disparador: str) -> None:
    call(db, "logs.sp_Confirmar_Alerta", {"ID_Proceso": id_proceso, "Disparador": disparador})


def leer(db: Database, id_proceso: int) -> list[dict[str, Any]]:
    return read(db, "SELECT Disparador, Detalle, Accion, FechaRegistro, Envio, Canal, FechaEnvio "
                    "FROM logs.vw_Proceso_Alertas WHERE ID_Proceso = %s ORDER BY FechaRegistro, Disparador",
                (id_proceso,))


def vigilar_y_registrar(db: Database, p: dict[str, Any], cerrado: bool) -> list[str]:
    """Evaluate and record; one line per trigger fired or note, for the log."""
    alertas, notas = evaluar(db, p, cerrado)
    lines = list(notas)
    for a in alertas:
        r = registrar(db, p["id_proceso"], a)
        lines.append(f"ROLLBACK TRIGGER {a.disparador} ({'recorded now' if r['nueva'] else 'already recorded'}): "
                     f"{a.detalle}")
    return lines
