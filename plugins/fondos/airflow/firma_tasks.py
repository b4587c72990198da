"""The end of the DAG `procesos_diarios` (issue 21): the checks, the four-eyes sign-off and the publication.

    ... procesar_fondo[*] >> controlar_fondos >> cerrar_proceso >> firmar_dia >> publicar_dia

* `controlar_fondos` runs the plausibility checks of every fund that ended OK and whose checks are not current
  (fondos.pipeline.firma.controlar): a held fund is a state of its own, never a failure of the task.
* `firmar_dia` (when FONDOS_APROBADORES names approvers) is Airflow's ApprovalOperator: the approvers see the
  funds OK, held and failed with their reasons and the board's link, and approve or reject the day (a comment
  in the form: required to reject). The user who triggered the run is not asked: four eyes.
* `publicar_dia` records the decision in the fund database (logs.sp_Firmar_Proceso, which refuses the
  requester again and anything unchecked), which on approval publishes the figures the checks allow; sends
  the message with the outcome; and fails the run if the day was rejected or a fund failed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk import Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from fondos.airflow import aviso
from fondos.airflow.dag_tasks import calendar_code, failure_message, run_key
from fondos.db.connection import database
from fondos.errors import InvalidInput
from fondos.pipeline import firma, proceso
from fondos.settings import APROBADORES, FIRMA_ESPERA_H

log = logging.getLogger(__name__)

FIRMA_TASK = "firmar_dia"


def _id_proceso(context: dict[str, Any]) -> int:
    id_proceso = proceso.proceso_de_clave(run_key(context))
    if id_proceso is None:
        raise AirflowFailException("no proceso was created for this run (crear_proceso failed: see its log)")
    return id_proceso


def solicitante(context: dict[str, Any]) -> str:
    """Who asked for this run: its triggering user (a scheduled run: 'scheduler', as crear_proceso records)."""
    return getattr(context["dag_run"], "triggering_user_name", None) or "scheduler"


@task(task_id="controlar_fondos", trigger_rule="all_done", retries=2, retry_delay=timedelta(seconds=20))
def controlar_fondos() -> dict[str, Any]:
    """The plausibility checks of every fund that ended OK (its figures held when a check is above its threshold)."""
    context = get_current_context()
    id_proceso = _id_proceso(context)
    fondos = firma.controlar(id_proceso, calendar_code(context))
    por_estado: dict[str, int] = {}
    for f in fondos:
        por_estado[f["verificacion"] or f["estado"]] = por_estado.get(f["verificacion"] or f["estado"], 0) + 1
        if f["verificacion"] == "RETENIDO":
            log.warning("HELD fund %s %s (ID_Ejecucion %s): %s", f["id_fund"], f["fundshortname"], f["id_ejecucion"],
                        "; ".join(f["razones"]))
    log.info("checks of proceso %s: %s", id_proceso, ", ".join(f"{n} {k}" for k, n in sorted(por_estado.items())))
    return {"id_proceso": id_proceso, **por_estado}


def cuerpo(p: dict[str, Any], s: dict[str, Any], board: str) -> str:
    """The approval's text (Markdown): the day's figures, the held funds with reasons, the failed funds, the board."""
    lines = [f"**Procesos diarios {p['fechareporte']}**, proceso {p['id_proceso']}: {p['estado']}.",
             f"{p['totalfondos']} funds: {p['fondosexitosos']} OK, {len(s['retenidos'])} held, "
             f"{len(s['aceptados'])} held and accepted, {p['fondosfallidos']} failed; "
             f"{s['sin_comparacion']} without approved figures the business day before (no comparison).", "",
             f"**Approve** publishes the figures of the funds OK, accepted or without comparison "
             f"({p['fondosexitosos'] - len(s['retenidos'])}); held and failed funds are not published. "
             "**Reject** publishes nothing: write the reason in *comentario*."]
    if s["retenidos"]:
        lines += ["", "**Held** (accept one with `fondos proceso aceptar --ejecucion ID --motivo TEXT`, then clear "
                      f"`{FIRMA_TASK}` to ask again):"]
        lines += [f"- fund {f['id_fund']} {f['fundshortname']} (ID_Ejecucion {f['id_ejecucion']}): "
                  + "; ".join(f["razones"]) for f in s["retenidos"]]
    if s["aceptados"]:
        lines += ["", "**Held and accepted**:"]
        lines += [f"- fund {f['id_fund']} {f['fundshortname']}: by {f['aceptadopor']}: {f['motivoaceptacion']}"
                  for f in s["aceptados"]]
    failed = [f for f in p["fondos"] if f["estado"] != "OK"]
    if failed:
        lines += ["", "**Failed** (not published):"]
        lines += [f"- fund {f['id_fund']} {f['fundshortname']}: "
                  + "; ".join(f"{k}: {e.get('mensaje') or e.get('estado')}" for k, e in f["etapas"].items()
                              if e.get("estado") in ("ERROR", "REINTENTANDO")) for f in failed]
    lines += ["", f"[Open the board]({board})"]
    return "\n".join(lines)


class FirmaDia(ApprovalOperator):
    """Airflow's ApprovalOperator, asking the configured approvers except the run's requester, with the day's
    summary as its body; a Reject does not skip `publicar_dia`, which records it."""

    def execute(self, context):
        id_proceso = _id_proceso(context)
        pidio = solicitante(context)
        aprobadores = [u for u in APROBADORES if u != pidio]
        if not aprobadores:
            raise AirflowFailException(
                f"nobody can sign off proceso {id_proceso}: FONDOS_APROBADORES names only {pidio}, who triggered "
                "this run (four eyes). Add another approver, then clear firmar_dia")
        with database(autocommit=True) as db:
            p = proceso.resumen_proceso(db, id_proceso)
            s = firma.estado_firma(db, id_proceso, aprobadores)
        if p["fondosexitosos"] == 0:
            raise AirflowSkipException(f"proceso {id_proceso}: no fund ended OK, nothing to sign off")
        self.subject = (f"Sign off procesos diarios {p['fechareporte']}: {p['fondosexitosos']} OK, "
                        f"{len(s['retenidos'])} held, {p['fondosfallidos']} failed")
        self.body = cuerpo(p, s, aviso.board_url(str(p["fechareporte"])))
        self.assigned_users = [{"id": u, "name": u} for u in aprobadores]
        log.info("asking %s to sign off proceso %s (requested by %s, who may not)", ", ".join(aprobadores),
                 id_proceso, pidio)
        return super().execute(context)

    def execute_complete(self, context, event):
        # HITLOperator's: validate and return the answer. ApprovalOperator's own would skip publicar_dia on a
        # Reject, and the rejection must be recorded.
        return HITLOperator.execute_complete(self, context, event)


def firmar_dia() -> FirmaDia:
    return FirmaDia(
        task_id=FIRMA_TASK, trigger_rule="all_done", subject="Sign off procesos diarios", body="",
        response_timeout=timedelta(hours=FIRMA_ESPERA_H),
        params={"comentario": Param(None, type=["null", "string"], title="Comentario",
                                    description="Why (required to reject; optional to approve)")},
    )


def decision(answer: dict[str, Any]) -> tuple[str, str, str | None]:
    """(APROBADO or RECHAZADO, the responder's user name, the comment) of the approval task's answer."""
    chosen = answer.get("chosen_options") or []
    who = answer.get("responded_by_user") or {}
    usuario = who.get("name") or who.get("id") or ""
    comentario = ((answer.get("params_input") or {}).get("comentario") or "").strip() or None
    return ("APROBADO" if chosen == [ApprovalOperator.APPROVE] else "RECHAZADO"), usuario, comentario


@task(task_id="publicar_dia", trigger_rule="all_done", retries=2, retry_delay=timedelta(seconds=20))
def publicar_dia() -> dict[str, Any]:
    """Record the sign-off (publishing on approval), send its message, and fail the run if rejected or a fund failed."""
    context = get_current_context()
    id_proceso = _id_proceso(context)
    ti = context["ti"]
    answer = ti.xcom_pull(task_ids=FIRMA_TASK)
    if not answer:
        raise AirflowFailException(
            f"proceso {id_proceso} was not signed off ({FIRMA_TASK} has no answer: it failed, timed out after "
            f"{FIRMA_ESPERA_H:g} h or was skipped; see its log): nothing was published. Clear {FIRMA_TASK} to ask again")
    estado, usuario, comentario = decision(answer)
    responded = answer.get("responded_at")
    # the decision's key: this run's answer (a run key may be 250 characters; the key must fit 250)
    clave = hashlib.sha256(f"{run_key(context)}/{FIRMA_TASK}/{responded}".encode()).hexdigest()
    try:
        out = firma.firmar(id_proceso, estado, usuario, clave, solicitante=solicitante(context), comentario=comentario)
    except InvalidInput as exc:
        raise AirflowFailException(f"{exc}. Nothing was published; clear {FIRMA_TASK} to ask again") from exc
    log.info("proceso %s %s by %s: %s fund(s) published, %s held%s", id_proceso, estado, usuario, out["publicadas"],
             out["retenidos"], "" if out["nueva"] else " (recorded already by an earlier try)")
    with database(autocommit=True) as db:  # the closed proceso, read, now with the decision, for the message
        p = proceso.resumen_proceso(db, id_proceso)
    sin_firma = [f for f in p["firma"]["fondos"] if f["verificacion"] in firma.PUBLICABLES and not f["publicado"]]
    if estado == "APROBADO" and sin_firma:  # a fund ran again after this answer: its figures need a new approval
        raise AirflowFailException(
            f"the approval by {usuario} at {responded} is older than the figures of "
            + ", ".join(f"fund {f['id_fund']} {f['fundshortname']}" for f in sin_firma)
            + f", which ran again after it: they are not published. Clear {FIRMA_TASK} (with downstream) to ask "
            "for approval again")
    try:
        log.info("sign-off message: %s", aviso.enviar(p, context, run=run_key(context)))
    except Exception as exc:
        raise RuntimeError(f"proceso {id_proceso} was {estado} by {usuario}, but its message could not be sent "
                           f"({exc}); Airflow retries this task") from exc
    if estado == "RECHAZADO":
        raise AirflowFailException(f"proceso {id_proceso} was REJECTED by {usuario}: {comentario}. Nothing was "
                                   "published; fix the cause, re-run the funds concerned and sign off again")
    if p["estado"] != "OK":
        raise AirflowFailException(f"approved by {usuario} and published ({out['publicadas']}), but "
                                   + failure_message(p))
    return {"id_proceso": id_proceso, "decision": estado, "usuario": usuario, "publicadas": out["publicadas"],
            "retenidos": out["retenidos"]}
