"""Sending the morning message from cerrar_proceso through Airflow's notifiers.

Channel `FONDOS_AVISO_CANAL`: `smtp` (default; apache-airflow-providers-smtp's
SmtpNotifier, connection `FONDOS_AVISO_CONN_ID`, default `smtp_default`, to
`FONDOS_AVISO_PARA`, comma-separated, from `FONDOS_AVISO_DE` or the
connection's `from_email`), `slack` (apache-airflow-providers-slack's
SlackWebhookNotifier, connection default `slack_default`), or `none`. No
recipients for smtp means no message, said in the log.

Once per outcome (fondos.pipeline.aviso): the message is reserved in
logs.Proceso_Avisos before it is sent and confirmed after. A send that fails
raises, so Airflow retries cerrar_proceso and the message is sent then: a
failure is never silent. The notifier's `notify` is called directly, so
nothing of a fund's message is read as a Jinja template.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fondos.db.connection import database
from fondos.pipeline import aviso, disparadores

log = logging.getLogger(__name__)
CANALES = ("smtp", "slack", "none")


def _config() -> dict[str, str]:
    canal = os.environ.get("FONDOS_AVISO_CANAL", "smtp").strip().lower() or "smtp"
    if canal not in CANALES:
        raise ValueError(f"FONDOS_AVISO_CANAL={canal!r}: use one of {', '.join(CANALES)}")
    default_conn = {"smtp": "smtp_default", "slack": "slack_default"}.get(canal, "")
    return {"canal": canal, "conn_id": os.environ.get("FONDOS_AVISO_CONN_ID") or default_conn,
            "para": os.environ.get("FONDOS_AVISO_PARA", "").strip(), "de": os.environ.get("FONDOS_AVISO_DE", "")}


def check_config() -> str:
    """Refuse a channel that does not exist when the DAG is parsed (an import error in the UI), not at 7 a.m."""
    return _config()["canal"]


def base_url() -> str:
    """Where the board is: FONDOS_BOARD_URL, else Airflow's [api] base_url."""
    if os.environ.get("FONDOS_BOARD_URL"):
        return os.environ["FONDOS_BOARD_URL"]
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="http://localhost:8080") or "http://localhost:8080"


def board_url(fecha: str) -> str:
    return aviso.board_link(base_url(), fecha)


def _notifier(cfg: dict[str, str], mensaje: aviso.Mensaje, message_id: str):
    if cfg["canal"] == "smtp":
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        return SmtpNotifier(to=[a.strip() for a in cfg["para"].split(",") if a.strip()],
                            from_email=cfg["de"] or None, subject=mensaje.subject, html_content=mensaje.html,
                            smtp_conn_id=cfg["conn_id"], custom_headers={"Message-ID": message_id})
    try:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier
    except ImportError:
        raise ValueError("FONDOS_AVISO_CANAL=slack needs apache-airflow-providers-slack installed") from None
    # Escaped as Slack requires (a fund's text must never mention @channel or hide a link), no previews.
    return SlackWebhookNotifier(slack_webhook_conn_id=cfg["conn_id"],
                                text=f"*{aviso.slack_escape(mensaje.subject)}*\n{aviso.slack_escape(mensaje.text)}",
                                unfurl_links=False, unfurl_media=False)


def enviar_una_vez(cfg: dict[str, str], id_proceso: int | None, firma: str, estado: str, componer,
                   context: dict[str, Any] | None = None, message_id: str | None = None):
    """Reserve this outcome of the proceso (logs.Proceso_Avisos), send the message `componer()` writes, confirm:
    (Accion, Secuencia, the message; None when YA_ENVIADO). Without a proceso (`id_proceso` None) nothing can be
    reserved: the message is sent with `message_id`."""
    secuencia = accion = None
    if id_proceso is not None:
        with database(autocommit=True) as db:
            secuencia, accion = aviso.reservar(db, id_proceso, firma, cfg["canal"], estado)
        if accion == "YA_ENVIADO":
            return accion, secuencia, None
        message_id = aviso.message_id(id_proceso, secuencia)
    mensaje = componer()
    # notify(), not the notifier's __call__: nothing of a fund's text is rendered as a Jinja template
    _notifier(cfg, mensaje, message_id).notify(context or {})
    if secuencia is not None:
        with database(autocommit=True) as db:
            aviso.confirmar(db, id_proceso, secuencia)
    return accion, secuencia, mensaje


def config() -> dict[str, str]:
    """The message channel as configured (FONDOS_AVISO_*): canal, conn_id, para, de."""
    return _config()


def enviar(p: dict[str, Any], context: dict[str, Any] | None = None, run: str | None = None) -> str:
    """Send the morning message of this closed proceso unless its outcome was the last one sent; say what happened.

    Reserve, send, confirm: a send that fails raises (cerrar_proceso's retry sends it); a sender that dies
    after sending and before confirming leaves the reservation open, and the retry sends the same message
    again with the same Message-ID (at least once, never silently lost)."""
    cfg = _config()
    if cfg["canal"] == "none":
        return "not sent: FONDOS_AVISO_CANAL=none"
    if cfg["canal"] == "smtp" and not cfg["para"]:
        return "not sent: no recipients (set FONDOS_AVISO_PARA to send the morning message)"
    accion, secuencia, mensaje = enviar_una_vez(cfg, p["id_proceso"], aviso.firma(p), p["estado"],
                                                lambda: aviso.componer(p, base_url(), run), context)
    if accion == "YA_ENVIADO":
        return f"not sent again: this outcome of proceso {p['id_proceso']} was the last one reported (message {secuencia})"
    where = cfg["para"] if cfg["canal"] == "smtp" else cfg["conn_id"]
    again = " (again: the previous try never confirmed it)" if accion == "REENVIAR" else ""
    return f"sent by {cfg['canal']} to {where}{again}: {mensaje.subject}"


def enviar_alertas(p: dict[str, Any], context: dict[str, Any] | None = None) -> list[str]:
    """Send the message of each rollback trigger recorded for this proceso, once; say what happened.

    Reserve (logs.sp_Registrar_Alerta with the channel), send, confirm, as the morning message: a send
    that fails raises (the task's retry sends it); another sender holding the reservation (under 10
    minutes) is left alone; one that died is replaced after that."""
    cfg = _config()
    with database(autocommit=True) as db:
        alertas = disparadores.leer(db, p["id_proceso"])
    out = []
    for a in alertas:
        if a["envio"] == "ENVIADO":
            continue
        if cfg["canal"] == "none" or (cfg["canal"] == "smtp" and not cfg["para"]):
            out.append(f"rollback alert {a['disparador']} recorded, not sent: no channel or recipients "
                       "(FONDOS_AVISO_CANAL, FONDOS_AVISO_PARA)")
            continue
        alerta = disparadores.Alerta(a["disparador"], a["detalle"])
        with database(autocommit=True) as db:
            r = disparadores.registrar(db, p["id_proceso"], alerta, canal=cfg["canal"])
        if r["resultado"] != "ENVIAR":
            out.append(f"rollback alert {a['disparador']}: {r['resultado']}")
            continue
        mensaje = aviso.componer_alerta(p, a, base_url())
        _notifier(cfg, mensaje, aviso.alerta_message_id(p["id_proceso"], a["disparador"])).notify(context or {})
        with database(autocommit=True) as db:
            disparadores.confirmar(db, p["id_proceso"], a["disparador"])
        out.append(f"rollback alert {a['disparador']} sent by {cfg['canal']}: {mensaje.subject}")
    return out
