"""The morning message (issue 13, part 5): when a run ends, cerrar_proceso sends one message through
Airflow's notifiers (SMTP by default, Slack by configuration) naming the date, the verdict, the funds OK
and failed, and each failed fund's stage, reason and board link; once per outcome, never lost on a retry.
Captured by real sinks: aiosmtpd for SMTP, a local HTTP server for the Slack webhook."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from conftest import fresh_dag
from fondos.airflow import aviso as envio
from fondos.db.connection import database
from fondos.pipeline import aviso, proceso
from pipeline_helpers import put_back_positions, run_all, seed, start, take_positions


def test_a_failed_run_sends_exactly_one_message_naming_each_failed_fund(fund_db, smtp):
    seed(3, 20)
    fund_db.execute("DELETE FROM source.Geneva_Posiciones WHERE Portfolio = %s", ("LAFID002",))
    dr = fresh_dag().test(run_conf={"fecha": "2026-03-13"})
    assert dr.state == "failed"
    assert len(smtp.messages) == 1
    m = smtp.messages[0]
    assert m["Subject"].startswith("[Fondos] 2026-03-13 ERROR: 2 OK, 1 failed of 3 · plan metrics: ")
    assert set(a.strip() for a in m["To"].split(",")) == {"ops@example.com", "risk@example.com"}
    body = smtp.text()
    reason = fund_db.execute("SELECT Mensaje FROM logs.vw_Ejecucion_Etapas WHERE ID_Fund = 102 "
                             "AND Etapa = 'IPA'")[0]["mensaje"]
    assert "fund 102 FI GLOBAL BALANCEADO 002" in body and "IPA: " in body
    assert "source.Geneva_Posiciones" in reason and reason.replace("'", "&#x27;") in body
    assert "http://airflow.example.com:8080/fondos/board/?fecha=2026-03-13" in body
    assert "fund 101" not in body and "fund 103" not in body
    assert "Plan metrics: " in body and "Deadlocks 0" in body
    sent = fund_db.execute("SELECT Secuencia, Canal, Estado, Envio FROM logs.vw_Proceso_Avisos")
    assert [(r["secuencia"], r["canal"], r["estado"], r["envio"]) for r in sent] == [(1, "smtp", "ERROR", "ENVIADO")]
    assert m["Message-ID"] == aviso.message_id(fund_db.execute("SELECT ID_Proceso FROM logs.Procesos")[0]["id_proceso"], 1)


def test_a_refused_send_fails_cerrar_proceso_and_its_retry_sends_it_once(fund_db, smtp):
    """The SMTP server refuses the first message: cerrar_proceso's first try fails saying so, Airflow retries
    it, the retry sends the message: one message, none lost."""
    seed(2, 5)
    smtp.refuse = 1
    dag = fresh_dag()
    dag.get_task("cerrar_proceso").retry_delay = timedelta(seconds=1)  # the retry itself is what is tested, not its 20 s
    dr = dag.test(run_conf={"fecha": "2026-03-13"})
    assert dr.state == "success"
    tries = {ti.task_id: ti.try_number for ti in dr.get_task_instances() if ti.map_index == -1}
    assert tries["cerrar_proceso"] == 2 and smtp.refused == 1
    assert len(smtp.messages) == 1 and "2026-03-13 OK: 2 OK, 0 failed of 2" in smtp.messages[0]["Subject"]


def _closed(fail_portfolio: str | None = None, clave: str = "aviso"):
    seed(3, 5)
    items = start(clave)
    saved = []
    if fail_portfolio:
        with database(autocommit=True) as c:
            saved = take_positions(c, fail_portfolio)
    run_all(items)
    return items, saved, proceso.cerrar_proceso(items[0]["id_proceso"])


def test_cerrar_proceso_run_again_with_the_same_outcome_sends_nothing_new_and_a_new_outcome_does(db, smtp):
    items, saved, p = _closed(fail_portfolio="LAFID002")
    pid = items[0]["id_proceso"]
    assert envio.enviar(p).startswith("sent by smtp to ops@example.com, risk@example.com: [Fondos] 2026-03-13 ERROR")
    again = proceso.cerrar_proceso(pid)  # cerrar_proceso run again (cleared): same outcome
    assert envio.enviar(again).startswith("not sent again: this outcome of proceso")
    assert len(smtp.messages) == 1
    with database(autocommit=True) as c:  # the fund is repaired and retried: a new outcome, a new message
        put_back_positions(c, saved)
    assert proceso.ejecutar_fondo(items[1])["PNL"] == "OK"
    fixed = proceso.cerrar_proceso(pid)
    assert fixed["estado"] == "OK" and envio.enviar(fixed).startswith("sent by smtp")
    with database(autocommit=True) as c:  # the feed disappears again, the fund runs again: the first outcome again
        take_positions(c, saved[0]["portfolio"])
    proceso.revertir_ejecucion(items[1]["id_ejecucion"])
    assert proceso.ejecutar_fondo(items[1])["IPA"] == "ERROR"
    broken = proceso.cerrar_proceso(pid)
    assert aviso.firma(broken) == aviso.firma(p) and envio.enviar(broken).startswith("sent by smtp")
    assert [m["Subject"].split(" · ")[0] for m in smtp.messages] == [
        "[Fondos] 2026-03-13 ERROR: 2 OK, 1 failed of 3", "[Fondos] 2026-03-13 OK: 3 OK, 0 failed of 3",
        "[Fondos] 2026-03-13 ERROR: 2 OK, 1 failed of 3"]
    assert [m["Message-ID"] for m in smtp.messages] == [aviso.message_id(pid, n) for n in (1, 2, 3)]


def test_a_sender_dying_between_send_and_confirm_resends_the_same_message(db, smtp, monkeypatch):
    """At least once, never silently lost: the retry sends it again with the same Message-ID."""
    _, _, p = _closed(fail_portfolio="LAFID002", clave="muere")
    real = aviso.confirmar

    def worker_lost(*args):
        raise RuntimeError("worker lost right after the SMTP server accepted the message")

    monkeypatch.setattr(aviso, "confirmar", worker_lost)
    with pytest.raises(RuntimeError, match="worker lost"):
        envio.enviar(p)
    monkeypatch.setattr(aviso, "confirmar", real)
    assert envio.enviar(p).startswith("sent by smtp to ops@example.com, risk@example.com (again: ")
    assert envio.enviar(p).startswith("not sent again")
    assert len(smtp.messages) == 2 and smtp.messages[0]["Message-ID"] == smtp.messages[1]["Message-ID"]
    with database(autocommit=True) as c:
        rows = c.execute("SELECT Secuencia, Envio FROM logs.vw_Proceso_Avisos WHERE ID_Proceso = %s",
                         (p["id_proceso"],))
    assert [(r["secuencia"], r["envio"]) for r in rows] == [(1, "ENVIADO")]


def test_fund_text_reaches_the_mail_literally_never_rendered_as_a_template(db, smtp):
    """Through the real SmtpNotifier (sender from the connection, as when FONDOS_AVISO_DE is unset)."""
    _, _, p = _closed(fail_portfolio="LAFID002", clave="plantilla")
    failed = next(f for f in p["fondos"] if f["estado"] != "OK")
    failed["etapas"]["IPA"]["mensaje"] = "feed {{ conn.password }} {% if 1 %}x{% endif %} <script>"
    assert envio.enviar(p).startswith("sent by smtp")
    body = smtp.text()
    assert "feed {{ conn.password }} {% if 1 %}x{% endif %} &lt;script&gt;" in body and "<script>" not in body
    assert smtp.messages[0]["From"] == "fondos@example.com"


def test_the_outcome_signature_ignores_message_texts_and_follows_the_outcome(db):
    _, _, p = _closed(fail_portfolio="LAFID002", clave="firma")
    base = aviso.firma(p)
    reworded = json.loads(json.dumps(p, default=str))
    for f in reworded["fondos"]:
        for e in f["etapas"].values():
            e["mensaje"] = (e["mensaje"] or "") + " (attempt 2)"
    assert aviso.firma(reworded) == base
    other_stage = json.loads(json.dumps(p, default=str))
    failed = next(f for f in other_stage["fondos"] if f["estado"] != "OK")
    failed["etapas"]["CAPM"]["estado"] = "ERROR"
    assert aviso.firma(other_stage) != base


def test_no_recipients_or_channel_none_sends_nothing_and_says_so(db, monkeypatch):
    _, _, p = _closed(clave="sin-destino")
    monkeypatch.delenv("FONDOS_AVISO_PARA", raising=False)
    assert envio.enviar(p) == "not sent: no recipients (set FONDOS_AVISO_PARA to send the morning message)"
    monkeypatch.setenv("FONDOS_AVISO_CANAL", "none")
    assert envio.enviar(p) == "not sent: FONDOS_AVISO_CANAL=none"
    monkeypatch.setenv("FONDOS_AVISO_CANAL", "teams")
    with pytest.raises(ValueError, match="FONDOS_AVISO_CANAL='teams': use one of smtp, slack, none"):
        envio.enviar(p)


def test_slack_by_configuration_through_its_provider(db, monkeypatch):
    posts = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            posts.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("FONDOS_AVISO_CANAL", "slack")
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_DEFAULT", json.dumps({
            "conn_type": "slackwebhook", "password": f"http://127.0.0.1:{server.server_port}/services/T0/B0/X"}))
        _, _, p = _closed(fail_portfolio="LAFID003", clave="slack")
        assert envio.enviar(p).startswith("sent by slack to slack_default")
        assert envio.enviar(p).startswith("not sent again")
    finally:
        server.shutdown()
        server.server_close()
    assert len(posts) == 1 and posts[0][0] == "/services/T0/B0/X"
    text = posts[0][1]["text"]
    assert "2026-03-13 ERROR: 2 OK, 1 failed of 3" in text and "fund 103" in text and "IPA: " in text
    assert posts[0][1]["unfurl_links"] is False and posts[0][1]["unfurl_media"] is False


def test_slack_text_is_escaped_so_a_fund_name_never_pings_or_links(db, monkeypatch):
    """Issue 19: a feed value such as `<!channel>` reached Slack as a mention of everyone."""
    posts = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("FONDOS_AVISO_CANAL", "slack")
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_DEFAULT", json.dumps({
            "conn_type": "slackwebhook", "password": f"http://127.0.0.1:{server.server_port}/services/T0/B0/X"}))
        seed(3, 5)
        with database(autocommit=True) as c:
            c.execute("UPDATE config.Fondos SET FundShortName = %s WHERE ID_Fund = 103",
                      ("<!channel> R&D <http://evil.example|click>",))
        items = start("slack-escape")
        with database(autocommit=True) as c:
            saved = take_positions(c, items[2]["portfolio_geneva"])
        run_all(items)
        assert envio.enviar(proceso.cerrar_proceso(items[0]["id_proceso"])).startswith("sent by slack")
        with database(autocommit=True) as c:
            put_back_positions(c, saved)
    finally:
        server.shutdown()
        server.server_close()
    text = posts[0]["text"]
    assert "&lt;!channel&gt; R&amp;D &lt;http://evil.example|click&gt;" in text, text
    assert "<!" not in text and "<http" not in text


def test_an_unknown_channel_is_an_import_error_of_the_dag_naming_the_channels(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from conftest import ROOT

    monkeypatch.setenv("FONDOS_AVISO_CANAL", "teams")
    bag = DagBag(str(ROOT / "dags"))
    assert "procesos_diarios" not in bag.dags
    errors = " ".join(bag.import_errors.values())
    assert "FONDOS_AVISO_CANAL='teams': use one of smtp, slack, none" in errors
