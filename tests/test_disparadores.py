"""The plan's rollback triggers: each fires exactly at its boundary, is recorded once, is shown in the API and
`fondos proceso estado`, and its message is sent once through the morning message's channel."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from conftest import fresh_dag
from fondos import cli
from fondos.airflow import aviso as envio
from fondos.pipeline import disparadores, proceso
from fondos.pipeline.aviso import alerta_message_id
from fondos.pipeline.disparadores import duracion_sobre_baseline, fallos_primeras_2h
from fondos.web import lectura
from pipeline_helpers import FECHA, run_all, seed, start

INICIO = datetime(2026, 3, 16, 6, 0, 0)


def _fondos(fallos: list[timedelta | None], total: int) -> dict:
    """A proceso of `total` funds; the first ones failed at INICIO + each offset (None: failed, no end time)."""
    fondos = []
    for i in range(total):
        if i < len(fallos):
            fin = None if fallos[i] is None else INICIO + fallos[i]
            etapas = {"IPA": {"estado": "ERROR", "fin": fin}, "PNL": {"estado": "PENDIENTE", "fin": None}}
            fondos.append({"id_fund": 101 + i, "estado": "ERROR", "etapas": etapas})
        else:
            fondos.append({"id_fund": 101 + i, "estado": "OK", "etapas": {"IPA": {"estado": "OK", "fin": INICIO}}})
    return {"id_proceso": 1, "fechainicio": INICIO, "totalfondos": total, "fondos": fondos}


def test_escenario_1_fires_above_half_of_the_funds_failed_within_two_hours_boundary_included():
    two_h = timedelta(hours=2)
    assert fallos_primeras_2h(_fondos([timedelta(minutes=5)] * 5, 10)) is None  # exactly 50%: not more
    fired = fallos_primeras_2h(_fondos([timedelta(minutes=5)] * 6, 10))
    assert fired is not None and fired.disparador == "FALLOS_2H"
    assert fired.detalle.startswith("6 of 10 funds failed by 2026-03-16 08:00:00") and "101, 102, 103" in fired.detalle
    assert fallos_primeras_2h(_fondos([timedelta(minutes=5)] * 5 + [two_h], 10)) is not None  # at 2:00:00: within
    assert fallos_primeras_2h(_fondos([timedelta(minutes=5)] * 5 + [two_h + timedelta(seconds=1)], 10)) is None
    assert fallos_primeras_2h(_fondos([timedelta(minutes=5)] * 5 + [None], 10)) is None  # no end time: not counted
    assert fallos_primeras_2h(_fondos([timedelta(0)] * 2, 3)) is not None  # 2 of 3
    p = _fondos([timedelta(0)] * 3, 3)
    p["fechainicio"] = None
    assert fallos_primeras_2h(p) is None  # no start recorded: nothing can be counted against it
    p = _fondos([timedelta(minutes=5)] * 6, 10)
    p["fondos"][0]["estado"] = "EN_PROGRESO"  # failed, retried, running again: not failed now
    assert fallos_primeras_2h(p) is None
    p = _fondos([timedelta(hours=3)] * 6, 10)
    for f in p["fondos"][:6]:  # a later stage failed first, inside the window: the first failure counts
        f["etapas"]["CAPM"] = {"estado": "ERROR", "fin": INICIO + timedelta(minutes=1)}
    assert fallos_primeras_2h(p) is not None


def _dias(segundos: list[int], desde: date = date(2026, 3, 2)) -> list[dict]:
    """Report dates with these durations, oldest first in the list; returned newest first like ultimos_dias."""
    out = [{"id_proceso": i, "fechareporte": desde + timedelta(days=i), "duracionsegundos": s}
           for i, s in enumerate(segundos)]
    return sorted(out, key=lambda d: d["fechareporte"], reverse=True)


def test_escenario_2_fires_above_twenty_percent_over_the_baseline_exactly(monkeypatch):
    monkeypatch.delenv("FONDOS_ROLLBACK_BASELINE", raising=False)  # the plan's 25 minutes: 1500 s, trigger > 1800 s
    alerta, texto = duracion_sobre_baseline(_dias([1800] * 5))  # a mean of exactly 1.2 x: not above
    assert alerta is None and "1800.0 s against a baseline of 1500 s (configured: 25 min)" in texto
    alerta, _ = duracion_sobre_baseline(_dias([1800] * 4 + [1801]))  # one second more in five days
    assert alerta is not None and alerta.disparador == "DURACION" and "1800.2 s" in alerta.detalle
    # only the last five report dates count: an old slow day does not
    assert duracion_sobre_baseline(_dias([9000] + [1500] * 5))[0] is None
    alerta, texto = duracion_sobre_baseline(_dias([3000] * 4))
    assert alerta is None and texto == "duration trigger not evaluated: 4 report date(s) closed, it needs 5"
    monkeypatch.setenv("FONDOS_ROLLBACK_BASELINE", "10")
    assert duracion_sobre_baseline(_dias([720] * 5))[0] is None and duracion_sobre_baseline(_dias([721] * 5))[0]


def test_escenario_2_with_a_baseline_measured_from_the_first_week(monkeypatch):
    monkeypatch.setenv("FONDOS_ROLLBACK_BASELINE", "primera-semana")
    first_week = [1000] * 5
    alerta, texto = duracion_sobre_baseline(_dias(first_week + [1200] * 4))
    assert alerta is None and "9 report date(s) closed, it needs 10" in texto
    alerta, texto = duracion_sobre_baseline(_dias(first_week + [1200] * 5))
    assert alerta is None and "baseline of 1000 s (measured: mean of the first 5 report dates" in texto
    assert duracion_sobre_baseline(_dias(first_week + [1200] * 4 + [1201]))[0] is not None
    monkeypatch.setenv("FONDOS_ROLLBACK_BASELINE", "mucho")
    with pytest.raises(ValueError, match="give minutes .e.g. 25. or primera-semana"):
        duracion_sobre_baseline(_dias(first_week))


# --- on the database -------------------------------------------------------------------------------

def _fail_sources(db, funds: list[int]) -> None:
    for k in funds:
        db.execute("DELETE FROM source.Geneva_Posiciones WHERE Portfolio = %s", (f"LAFID{k - 100:03d}",))
    db.commit()


def _alertas(db) -> list[tuple]:
    rows = db.execute("SELECT ID_Proceso, Disparador, Envio FROM logs.vw_Proceso_Alertas ORDER BY ID_Proceso, Disparador")
    db.commit()
    return [(r["id_proceso"], r["disparador"], r["envio"]) for r in rows]


@pytest.mark.parametrize("failing, fires", [(5, False), (6, True)])
def test_a_day_with_more_than_half_of_the_funds_failed_records_the_trigger_once(db, failing, fires, capsys):
    seed(10, 5)
    _fail_sources(db, list(range(101, 101 + failing)))
    items = start(f"fallos-{failing}")
    run_all(items)
    pid = items[0]["id_proceso"]
    p = proceso.cerrar_proceso(pid)
    assert p["fondosfallidos"] == failing
    assert [a["disparador"] for a in p["alertas"]] == (["FALLOS_2H"] if fires else [])
    proceso.cerrar_proceso(pid)  # closed again (a retried cerrar_proceso): still once
    assert _alertas(db) == ([(pid, "FALLOS_2H", "PENDIENTE")] if fires else [])
    detalle = lectura.proceso(db, pid)
    assert [a["disparador"] for a in detalle["alertas"]] == (["FALLOS_2H"] if fires else [])
    cli.main(["proceso", "estado", "--id", str(pid)])
    out = capsys.readouterr().out
    assert ("ROLLBACK TRIGGER" in out) == fires
    assert ("6 of 10 funds failed by" in out) == fires
    assert ("Rollback Plan, Escenario 1" in out) == fires


def _historia(db, segundos: list[int]) -> list[int]:
    """Closed procesos of procesos_diarios on consecutive report dates with these durations."""
    ids = []
    for i, s in enumerate(segundos):
        pid = 10**15 + 900 + i
        inicio = datetime(2026, 3, 2, 6, 0) + timedelta(days=i)
        db.execute("INSERT INTO logs.Procesos (ID_Proceso, FechaReporte, Estado, Usuario, TotalFondos, FondosExitosos, "
                   "FondosFallidos, FechaInicio, FechaFin) VALUES (%s, %s, 'OK', 'pytest', 1, 1, 0, %s, %s)",
                   (pid, inicio.date(), inicio, inicio + timedelta(seconds=s)))
        ids.append(pid)
    db.commit()
    return ids


@pytest.mark.parametrize("ultimo, fires", [(1800, False), (1801, True)])
def test_a_week_whose_mean_duration_passes_the_baseline_by_more_than_20_percent_records_it_once(
        db, monkeypatch, ultimo, fires):
    monkeypatch.delenv("FONDOS_ROLLBACK_BASELINE", raising=False)
    ids = _historia(db, [1800, 1800, 1800, 1800, ultimo])
    p = db.execute("SELECT ID_Proceso, FechaReporte, FechaInicio, TotalFondos FROM logs.vw_Procesos "
                   "WHERE ID_Proceso = %s", (ids[-1],))[0]
    db.commit()
    p["fondos"] = []
    for _ in range(2):  # evaluated twice: recorded once
        lines = disparadores.vigilar_y_registrar(db, p, cerrado=True)
    expected = "1800.2 s" if fires else "1800.0 s"
    assert any(expected in line for line in lines), lines
    assert _alertas(db) == ([(ids[-1], "DURACION", "PENDIENTE")] if fires else [])


def test_the_message_of_a_trigger_is_sent_once_and_a_dead_senders_reservation_is_taken_over(pg_db, smtp):
    db = pg_db
    seed(3, 5)
    _fail_sources(db, [101, 102])
    items = start("alerta-envio")
    run_all(items)
    p = proceso.cerrar_proceso(items[0]["id_proceso"])
    pid = p["id_proceso"]
    sent = envio.enviar_alertas(p)
    assert sent == [f"rollback alert FALLOS_2H sent by smtp: [Fondos] ROLLBACK TRIGGER {FECHA}: more than 50% of "
                    "the funds failed in the first 2 hours"]
    assert envio.enviar_alertas(p) == []  # ENVIADO: nothing again
    # a second sender that read PENDIENTE before the first confirmed: the procedure says YA_ENVIADO
    r = disparadores.registrar(db, pid, disparadores.Alerta("FALLOS_2H", "otro detalle"), canal="smtp")
    assert (r["nueva"], r["envio"], r["resultado"]) == (False, "ENVIADO", "YA_ENVIADO")
    assert "2 of 3 funds failed" in db.execute("SELECT Detalle FROM logs.vw_Proceso_Alertas WHERE ID_Proceso = %s",
                                                (pid,))[0]["detalle"]  # the first figures are kept
    db.commit()
    assert len(smtp.messages) == 1
    m = smtp.messages[0]
    assert m["Message-ID"] == alerta_message_id(pid, "FALLOS_2H")
    body = smtp.text()
    assert "2 of 3 funds failed by" in body and "Rollback Plan, Escenario 1" in body and "fondos/board/?fecha=" in body
    assert _alertas(db) == [(pid, "FALLOS_2H", "ENVIADO")]

    # a second trigger reserved by a sender still alive is left alone; after 10 minutes it is taken over
    db.execute("UPDATE logs.Proceso_Alertas SET Envio = 'RESERVADO', FechaEnvio = NULL, "
               "FechaReserva = LOCALTIMESTAMP(3) WHERE ID_Proceso = %s", (pid,))
    db.commit()
    assert envio.enviar_alertas(p) == ["rollback alert FALLOS_2H: EN_CURSO"] and len(smtp.messages) == 1
    db.execute("UPDATE logs.Proceso_Alertas SET FechaReserva = LOCALTIMESTAMP(3) - INTERVAL '9 minutes' "
               "WHERE ID_Proceso = %s", (pid,))
    db.commit()
    assert envio.enviar_alertas(p) == ["rollback alert FALLOS_2H: EN_CURSO"] and len(smtp.messages) == 1
    db.execute("UPDATE logs.Proceso_Alertas SET FechaReserva = LOCALTIMESTAMP(3) - INTERVAL '11 minutes' "
               "WHERE ID_Proceso = %s", (pid,))
    db.commit()
    assert envio.enviar_alertas(p)[0].startswith("rollback alert FALLOS_2H sent by smtp")
    assert len(smtp.messages) == 2 and smtp.messages[1]["Message-ID"] == m["Message-ID"]
    assert _alertas(db) == [(pid, "FALLOS_2H", "ENVIADO")]


def test_with_no_channel_the_trigger_is_recorded_and_said_not_sent(db, monkeypatch):
    monkeypatch.setenv("FONDOS_AVISO_CANAL", "none")
    seed(3, 5)
    _fail_sources(db, [101, 102])
    items = start("alerta-sin-canal")
    run_all(items)
    p = proceso.cerrar_proceso(items[0]["id_proceso"])
    assert envio.enviar_alertas(p) == ["rollback alert FALLOS_2H recorded, not sent: no channel or recipients "
                                       "(FONDOS_AVISO_CANAL, FONDOS_AVISO_PARA)"]
    assert _alertas(db) == [(p["id_proceso"], "FALLOS_2H", "PENDIENTE")]


def test_the_watcher_dag_records_and_sends_the_trigger_while_the_day_runs(fund_db, smtp):
    seed(4, 5)
    _fail_sources(fund_db, [101, 102, 103])
    items = start("vigilada")
    for it in items[:3]:  # three funds failed; the fourth has not run yet: the day is still EN_PROGRESO
        proceso.ejecutar_fondo(it)
    watcher = fresh_dag("vigilancia_rollback")
    assert watcher.is_paused_upon_creation is True and watcher.max_active_runs == 1
    dr = watcher.test()
    assert dr.state == "success"
    estado = fund_db.execute("SELECT Estado FROM logs.vw_Procesos WHERE ID_Proceso = %s", (items[0]["id_proceso"],))
    assert estado[0]["estado"] == "EN_PROGRESO"  # it fired while the day was still running
    assert _alertas(fund_db) == [(items[0]["id_proceso"], "FALLOS_2H", "ENVIADO")]
    assert len(smtp.messages) == 1 and "3 of 4 funds failed by" in smtp.text()
    assert fresh_dag().dag_id == "procesos_diarios"  # the day's DAG still parses beside it


def test_an_unknown_trigger_or_channel_is_refused_by_the_procedure(db):
    from fondos.db.calls import call
    from fondos.errors import DataError

    seed(1, 5)
    items = start("alerta-mala")
    for disparador, canal, message in (("FALLOS_3H", None, "Disparador must be FALLOS_2H or DURACION"),
                                       ("FALLOS_2H", "fax", "Canal must be smtp, slack or NULL")):
        with pytest.raises(DataError, match=message):
            call(db, "logs.sp_Registrar_Alerta", {"ID_Proceso": items[0]["id_proceso"], "Disparador": disparador,
                                                   "Detalle": "x", "Accion": "y", "Canal": canal})
        db.rollback()
    assert _alertas(db) == []
