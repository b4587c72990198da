"""The day's deadline (issue 21): Airflow's DeadlineAlert on `procesos_diarios`, with a reference of our own.

`PlazoFirma` (registered by the fondos plugin: the scheduler evaluates it when it creates a run) is
FONDOS_PLAZO (default 07:30) in FONDOS_TIMEZONE on the business day after the run's report date: the
`fecha` of a manual run, else the business day before the run (as crear_proceso resolves it). A run created
after its deadline gets it at once if its report date is the latest business day (a late scheduled run is
late), and none if it is an older date (a deliberate re-run of history is not "late").
FONDOS_PLAZO_SEGUNDOS=N (tests, demos) puts the deadline N seconds after the run's `run_after` instead
(a run triggered through the REST API with an earlier `run_after` is late sooner).

When the deadline passes before the run ends, the triggerer runs `avisar_plazo`: unless the proceso has a
sign-off decision (or, without sign-off configured, is closed), it sends one message through the morning
message's channel naming what the day waits for: running stages, held funds, the approval. Once per proceso
(logs.Proceso_Avisos, as every message). A run that ends before its deadline has its deadline removed by
Airflow: no message.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk.definitions.deadline import BaseDeadlineReference

log = logging.getLogger(__name__)


def plazo_configurado() -> str:
    """FONDOS_PLAZO as the process sees it now (the scheduler evaluates it per run; default 07:30)."""
    return os.environ.get("FONDOS_PLAZO", "07:30")


def hora_plazo(texto: str) -> time | None:
    """FONDOS_PLAZO: 'HH:MM', or 'none' (no deadline). Anything else is refused with what to write."""
    if texto.strip().lower() in ("", "none"):
        return None
    try:
        return time.fromisoformat(texto.strip())
    except ValueError:
        raise ValueError(f"FONDOS_PLAZO={texto!r}: write the deadline as HH:MM (e.g. 07:30), or none") from None


def plazo(fecha: date, creado: datetime, hora: time, zona: str, calendario: str) -> datetime | None:
    """The deadline of a run for report date `fecha` created at `creado` (aware), in UTC; None for none."""
    from fondos.pipeline.fechas import next_business_day, previous_business_day

    siguiente = next_business_day(fecha, calendario)
    limite = datetime.combine(siguiente, hora, tzinfo=ZoneInfo(zona)).astimezone(UTC)
    if limite > creado:
        return limite
    hoy = creado.astimezone(ZoneInfo(zona)).date()
    return creado if fecha >= previous_business_day(hoy, calendario) else None


class PlazoFirma(BaseDeadlineReference):
    """The need-by time of a `procesos_diarios` run: see the module's text."""

    required_kwargs = {"dag_id", "run_id"}

    def _evaluate_with(self, *, session, **kwargs: Any) -> datetime | None:
        from airflow.models import DagRun
        from sqlalchemy import select

        from fondos.pipeline.fechas import parse_fecha, previous_business_day
        from fondos.settings import CALENDAR, TIMEZONE

        dr = session.scalar(select(DagRun).where(DagRun.dag_id == kwargs["dag_id"], DagRun.run_id == kwargs["run_id"]))
        if dr is None:
            return None
        creado = datetime.now(UTC)
        # a plain aware datetime: pendulum's DateTime.astimezone(datetime.UTC) comes back naive
        run_after = datetime.fromtimestamp(dr.run_after.timestamp(), tz=UTC)
        segundos = os.environ.get("FONDOS_PLAZO_SEGUNDOS")
        if segundos:
            return run_after + timedelta(seconds=float(segundos))
        hora = hora_plazo(plazo_configurado())
        if hora is None:
            return None
        valor = (dr.conf or {}).get("fecha")
        try:
            fecha = parse_fecha(valor) if valor not in (None, "") else previous_business_day(
                run_after.astimezone(ZoneInfo(TIMEZONE)).date(), CALENDAR)
        except Exception:  # an invalid fecha: crear_proceso refuses the run, no deadline to watch
            return None
        return plazo(fecha, creado, hora, TIMEZONE, CALENDAR)


def pendientes(clave: str) -> tuple[int | None, str, list[str]] | None:
    """(ID_Proceso, report date, what the day waits for) of the run `clave`, or None when it is signed off
    (or, without sign-off configured, closed) and nothing is late."""
    from fondos.db.connection import database
    from fondos.pipeline import proceso
    from fondos.pipeline.proceso import ABIERTOS

    id_proceso = proceso.proceso_de_clave(clave)
    if id_proceso is None:
        return None, "?", ["the proceso itself: crear_proceso has not created it (see the run's crear_proceso task)"]
    with database(autocommit=True) as db:
        p = proceso.resumen_proceso(db, id_proceso)
    s = p["firma"]
    if s["estado"] in ("APROBADO", "RECHAZADO") or (s["estado"] == "SIN_FIRMA" and p["estado"] != "EN_PROGRESO"):
        return None
    esperando = []
    corriendo = [f"fund {f['id_fund']} {f['fundshortname']}: {k} {e['estado']}" for f in p["fondos"]
                 for k, e in f["etapas"].items() if e["estado"] in ABIERTOS]
    if corriendo:
        esperando.append(f"{len(corriendo)} stage(s) still running: " + "; ".join(corriendo[:20])
                         + (" ..." if len(corriendo) > 20 else ""))
    por_correr = sum(1 for f in p["fondos"] for e in f["etapas"].values() if e["estado"] == "PENDIENTE")
    if por_correr and p["estado"] == "EN_PROGRESO":
        esperando.append(f"{por_correr} stage(s) not started yet")
    for f in s["retenidos"]:
        esperando.append(f"held fund {f['id_fund']} {f['fundshortname']} (ID_Ejecucion {f['id_ejecucion']}): "
                         + "; ".join(f["razones"]) + " - accept it or fix and retry it")
    if s["estado"] == "PENDIENTE":  # the approvers asked: the run's requester is not one of them (four eyes)
        quienes = [u for u in s["aprobadores"] if u != p.get("usuario")]
        esperando.append(f"the approval of {', '.join(quienes)} (task firmar_dia)")
    return id_proceso, str(p["fechareporte"]), esperando or ["the day to close"]


def enviar_plazo(clave: str, limite: str, context: dict[str, Any] | None = None) -> str:
    """Send the deadline's message for the run `clave` unless it is signed off; once per proceso. Says what it did."""
    from fondos.airflow import aviso as envio
    from fondos.pipeline import aviso

    estado = pendientes(clave)
    if estado is None:
        return f"{clave}: signed off before the deadline was handled: nothing sent"
    id_proceso, fecha, esperando = estado
    cfg = envio.config()
    if cfg["canal"] == "none" or (cfg["canal"] == "smtp" and not cfg["para"]):
        return f"{clave}: late ({'; '.join(esperando)}), not sent: no channel or recipients"
    sin_proceso = f"<fondos-plazo-{hashlib.sha256(clave.encode()).hexdigest()[:24]}@fondos.local>"
    accion, _, mensaje = envio.enviar_una_vez(
        cfg, id_proceso, aviso.firma_plazo(id_proceso) if id_proceso is not None else "", "PLAZO",
        lambda: aviso.componer_plazo(fecha, id_proceso, limite, esperando, envio.base_url()), context, sin_proceso)
    if accion == "YA_ENVIADO":
        return f"{clave}: the deadline's message was sent already"
    return f"{clave}: deadline message sent by {cfg['canal']}: {mensaje.subject}"


def alerta():
    """The DAG's DeadlineAlert, or None when FONDOS_PLAZO is none (and no FONDOS_PLAZO_SEGUNDOS)."""
    from airflow.sdk import AsyncCallback, DeadlineAlert

    if hora_plazo(plazo_configurado()) is None and not os.environ.get("FONDOS_PLAZO_SEGUNDOS"):
        return None
    return DeadlineAlert(reference=PlazoFirma(), interval=timedelta(0), callback=AsyncCallback(avisar_plazo),
                         name="plazo de la firma")


async def avisar_plazo(context: dict[str, Any] | None = None, **_: Any) -> str:
    """The DeadlineAlert's callback, run by the triggerer when a run passes its deadline."""
    run = (context or {}).get("dag_run") or {}
    deadline = (context or {}).get("deadline") or {}
    # the scheduler sends the run as the REST API's DAGRunResponse: its id is `dag_run_id`
    clave = f"{run.get('dag_id')}/{run.get('dag_run_id') or run.get('run_id')}"
    limite = _local(deadline.get("deadline_time"))
    resultado = await asyncio.to_thread(enviar_plazo, clave, limite)
    log.warning("deadline %s: %s", limite, resultado)
    return resultado


def _local(value: Any) -> str:
    from fondos.settings import TIMEZONE

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(TIMEZONE)).strftime(f"%Y-%m-%d %H:%M:%S {TIMEZONE}")
    return str(value)
