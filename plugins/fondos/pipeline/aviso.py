"""The morning message: what a closed proceso tells the people who run the day, once per outcome.

`componer` writes it (subject, plain text, HTML): the date, the proceso's state and
the plan-metrics verdict, funds OK and failed, and for each failed fund its failed
stage(s), the reason and the board link. `firma` is the outcome it reports
(state, counts, each failed fund's failed stages; not the message texts).
logs.Proceso_Avisos (migration 023) holds a reservation per outcome reported:
`reservar` before sending says ENVIAR (a new outcome), REENVIAR (this outcome was
reserved but never confirmed: the sender died) or YA_ENVIADO (this outcome was
the last one sent: nothing to do); `confirmar` after sending.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fondos.db.calls import call
from fondos.db.connection import Database
from fondos.pipeline.stages import FAILED_STATES


@dataclass(frozen=True)
class Mensaje:
    subject: str
    text: str
    html: str


def fallidos(p: dict[str, Any]) -> list[dict[str, Any]]:
    """Each failed fund with its failed stages and their reasons, in fund order."""
    out = []
    for f in sorted(p["fondos"], key=lambda f: f["id_fund"]):
        if f["estado"] == "OK":
            continue
        etapas = [{"etapa": s, "mensaje": e.get("mensaje") or e.get("estado")}
                  for s, e in f["etapas"].items() if e.get("estado") in FAILED_STATES]
        out.append({"id_fund": f["id_fund"], "fundshortname": f["fundshortname"], "estado": f["estado"],
                    "etapas": etapas})
    return out


def firma(p: dict[str, Any]) -> str:
    outcome = {"id_proceso": p["id_proceso"], "estado": p["estado"], "ok": p["fondosexitosos"],
               "fallidos": p["fondosfallidos"], "total": p["totalfondos"],
               "fondos": [[f["id_fund"], f["estado"], sorted(e["etapa"] for e in f["etapas"])] for f in fallidos(p)]}
    s = p.get("firma")
    if s:  # the sign-off's state and the held funds are part of the outcome: an approval is a new message
        outcome["firma"] = [s["estado"], s.get("usuario"), s.get("secuencia"),
                            sorted(f["id_fund"] for f in s.get("retenidos", []))]
    return hashlib.sha256(json.dumps(outcome, sort_keys=True).encode()).hexdigest()


def lineas_firma(s: dict[str, Any] | None) -> list[str]:
    """The sign-off part of a message: where it stands, the held funds with their reasons, the accepted ones."""
    if not s:
        return []
    estado = s["estado"]
    if estado == "APROBADO":
        head = f"Sign-off: APPROVED by {s['usuario']}; {s['publicadas']} fund(s) published by this approval."
    elif estado == "RECHAZADO":
        head = f"Sign-off: REJECTED by {s['usuario']}: {s.get('comentario') or ''}. Nothing was published."
    elif estado == "PENDIENTE":
        head = f"Sign-off: awaiting the approval of {', '.join(s.get('aprobadores') or []) or 'an approver'}."
    else:
        head = "Sign-off: none configured (FONDOS_APROBADORES is empty): nothing is published."
    lines = [head]
    if s.get("retenidos"):
        lines += ["", "Held funds (their figures are not published; accept one with `fondos proceso aceptar "
                      "--ejecucion ID --motivo TEXT`, or fix and retry it):"]
        lines += [f"- fund {f['id_fund']} {f.get('fundshortname', '')} (ID_Ejecucion {f['id_ejecucion']}): "
                  + "; ".join(f["razones"]) for f in s["retenidos"]]
    if s.get("aceptados"):
        lines += ["", "Held and accepted:"]
        lines += [f"- fund {f['id_fund']} {f.get('fundshortname', '')}: accepted by {f['aceptadopor']}: "
                  f"{f['motivoaceptacion']}" for f in s["aceptados"]]
    if s.get("sin_comparacion"):
        lines.append(f"No comparison (no approved figures the business day before): {s['sin_comparacion']} fund(s).")
    return lines


def slack_escape(text: str) -> str:
    """Slack's own escaping of message text: &, < and > (so a fund name or an error text holding
    `<!channel>` or `<http://...|label>` is shown, never a mention or a link)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def board_link(base_url: str, fecha: str) -> str:
    return f"{base_url.rstrip('/')}/fondos/board/?fecha={quote(str(fecha))}"


def componer(p: dict[str, Any], base_url: str, run: str | None = None) -> Mensaje:
    fecha = str(p["fechareporte"])
    verdict = (p.get("metricas") or {}).get("veredicto", "not measured")
    board = board_link(base_url, fecha)
    s = p.get("firma") or {}
    signoff = {"APROBADO": f" · approved by {s.get('usuario')}", "RECHAZADO": f" · REJECTED by {s.get('usuario')}",
               "PENDIENTE": " · awaiting sign-off"}.get(s.get("estado"), "")
    held = f" · {len(s['retenidos'])} held" if s.get("retenidos") else ""
    subject = (f"[Fondos] {fecha} {p['estado']}: {p['fondosexitosos']} OK, {p['fondosfallidos']} failed "
               f"of {p['totalfondos']}{held}{signoff} · plan metrics: {verdict}")
    failed = fallidos(p)
    lines = [f"Procesos diarios for {fecha} (proceso {p['id_proceso']}): {p['estado']}.",
             f"Funds: {p['totalfondos']} in all, {p['fondosexitosos']} OK, {p['fondosfallidos']} failed.",
             f"Plan metrics: {(p.get('metricas') or {}).get('texto', 'not measured')}"]
    if run:
        lines.append(f"Airflow run: {run}")
    firma_lines = lineas_firma(p.get("firma"))
    if firma_lines:
        lines += ["", *firma_lines]
    if failed:
        lines += ["", "Failed funds (fix the cause, then Retry fund on the board):"]
        for f in failed:
            for e in f["etapas"] or [{"etapa": "?", "mensaje": f["estado"]}]:
                lines.append(f"- fund {f['id_fund']} {f['fundshortname']}: {e['etapa']}: {e['mensaje']}")
            lines.append(f"  board: {board}")
    lines += ["", f"Board: {board}"]
    text = "\n".join(lines)
    items = "".join(
        f"<li><b>fund {f['id_fund']} {html.escape(f['fundshortname'])}</b>: "
        + "; ".join(f"{html.escape(e['etapa'])}: {html.escape(str(e['mensaje']))}" for e in f["etapas"])
        + f" (<a href=\"{html.escape(board)}\">board</a>)</li>" for f in failed)
    body = (f"<p>Procesos diarios for <b>{html.escape(fecha)}</b> (proceso {p['id_proceso']}): "
            f"<b>{html.escape(p['estado'])}</b>.<br>Funds: {p['totalfondos']} in all, {p['fondosexitosos']} OK, "
            f"{p['fondosfallidos']} failed.<br>Plan metrics: "
            f"{html.escape((p.get('metricas') or {}).get('texto', 'not measured'))}</p>"
            + ("<p>" + "<br>".join(html.escape(x) for x in firma_lines) + "</p>" if firma_lines else "")
            + (f"<p>Failed funds (fix the cause, then Retry fund on the board):</p><ul>{items}</ul>" if failed else "")
            + f"<p><a href=\"{html.escape(board)}\">Open the board</a>"
            + (f" · Airflow run {html.escape(run)}" if run else "") + "</p>")
    return Mensaje(subject, text, body)


def reservar(db: Database, id_proceso: int, firma_: str, canal: str, estado: str) -> tuple[int, str]:
    """Reserve this outcome's message: (Secuencia, Accion), Accion ENVIAR, REENVIAR or YA_ENVIADO."""
    row = call(db, "logs.sp_Reservar_Aviso", {"ID_Proceso": id_proceso, "Firma": firma_, "Canal": canal,
                                               "Estado": estado})[0]
    return int(row["secuencia"]), row["accion"]


def confirmar(db: Database, id_proceso: int, secuencia: int) -> None:
    call(db, "logs.sp_Confirmar_Aviso", {"ID_Proceso": id_proceso, "Secuencia": secuencia})


def message_id(id_proceso: int, secuencia: int) -> str:
    """The same for every send of one reservation, so a resent copy can be recognised and dropped."""
    return f"<fondos-proceso-{id_proceso}-aviso-{secuencia}@fondos.local>"


def componer_alerta(p: dict[str, Any], alerta: dict[str, Any], base_url: str) -> Mensaje:
    """The message of one rollback trigger (logs.vw_Proceso_Alertas row): what fired it and the plan's action."""
    from fondos.pipeline.disparadores import TITULOS

    fecha = str(p["fechareporte"])
    board = board_link(base_url, fecha)
    subject = f"[Fondos] ROLLBACK TRIGGER {fecha}: {TITULOS.get(alerta['disparador'], alerta['disparador'])}"
    text = "\n".join([
        f"Procesos diarios for {fecha} (proceso {p['id_proceso']}): the plan's rollback trigger "
        f"{alerta['disparador']} fired.", "", str(alerta["detalle"]), "", f"What to do: {alerta['accion']}", "",
        f"Board: {board}"])
    body = (f"<p>Procesos diarios for <b>{html.escape(fecha)}</b> (proceso {p['id_proceso']}): the plan's rollback "
            f"trigger <b>{html.escape(alerta['disparador'])}</b> fired.</p><p>{html.escape(str(alerta['detalle']))}</p>"
            f"<p><b>What to do:</b> {html.escape(str(alerta['accion']))}</p>"
            f"<p><a href=\"{html.escape(board)}\">Open the board</a></p>")
    return Mensaje(subject, text, body)


def alerta_message_id(id_proceso: int, disparador: str) -> str:
    return f"<fondos-proceso-{id_proceso}-alerta-{disparador.lower()}@fondos.local>"


def componer_plazo(fecha: str, id_proceso: int | None, plazo: str, esperando: list[str], base_url: str) -> Mensaje:
    """The deadline's message: the day is not signed off by its deadline, and what it still waits for."""
    board = board_link(base_url, fecha)
    subject = f"[Fondos] LATE {fecha}: not signed off by {plazo}"
    cual = f"proceso {id_proceso}" if id_proceso else "no proceso created yet"
    text = "\n".join([f"Procesos diarios for {fecha} ({cual}) is not signed off by its deadline, {plazo}.", "",
                      "It waits for:", *[f"- {e}" for e in esperando], "", f"Board: {board}"])
    body = (f"<p>Procesos diarios for <b>{html.escape(fecha)}</b> ({html.escape(cual)}) is not signed off by its "
            f"deadline, {html.escape(plazo)}.</p><p>It waits for:</p><ul>"
            + "".join(f"<li>{html.escape(e)}</li>" for e in esperando)
            + f"</ul><p><a href=\"{html.escape(board)}\">Open the board</a></p>")
    return Mensaje(subject, text, body)


def firma_plazo(id_proceso: int) -> str:
    """The deadline message's outcome: one per proceso."""
    return hashlib.sha256(json.dumps({"id_proceso": id_proceso, "plazo": True}).encode()).hexdigest()
