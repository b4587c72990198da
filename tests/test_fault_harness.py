"""One fault harness for every path of the day (issue 19).

A day: create the proceso (with the metrics snapshot), read it as the API does, run every stage of
every fund, read it again, check every fund and accept the held ones (030), close it (reconcile,
recount, metrics), send the morning message to a real SMTP server, sign it off (recorded once, every
fund published) and ask the deadline what the day still waits for (nothing). It runs once
undisturbed, recording every database call site it reaches (tests/fault_harness.py), and then once
per call site with the connection dropped at that site's first call, and a few times with
connections dropped at seeded random moments. Each time: the proceso ends OK, every fund's rows exist
once and equal the undisturbed day's (which equal the oracle), exactly one morning message is sent,
and the metrics are recorded.

A site whose healing is removed (a read through `db.execute` instead of `fondos.db.calls.read`, a
procedure called around `call`) fails the test, which names the site.
"""

from __future__ import annotations

import os
import time

import pytest
from fault_harness import Injector, RandomDropper

from fondos.airflow import aviso as envio
from fondos.airflow import plazo
from fondos.db.connection import database
from fondos.pipeline import arquitectura, firma, proceso
from fondos.web import lectura
from oracle_check import differences, expected, fuentes
from pipeline_helpers import FECHA, fund_fingerprints, seed

FUNDS = 3


def _day(clave: str) -> tuple[list[dict], dict, str]:
    # the operator's switch (028): a fund already on v3 moved to v3 again changes nothing, through the procedure
    assert [r["actual"] for r in arquitectura.asignar([101], "v3", usuario="harness")] == ["v3"]
    assert len(arquitectura.listar()) == FUNDS
    assert proceso.fondos_a_mapear() == FUNDS  # crear_proceso's count against Airflow's map limit
    items = proceso.inicializar_proceso(FECHA, "harness", clave)
    id_proceso = items[0]["id_proceso"]

    def api_reads():  # what GET /fondos/api/procesos?fecha=, /procesos/{id} and /ejecuciones/{id} read
        with database(autocommit=True) as db:
            assert lectura.procesos(db, FECHA, None, 50)
            assert lectura.proceso(db, id_proceso)
            assert lectura.ejecucion(db, items[0]["id_ejecucion"])

    api_reads()
    en_curso = proceso.vigilar_en_curso()  # the watcher DAG's pass while the proceso is open, before any fund ran
    assert [p["id_proceso"] for p in en_curso] == [id_proceso] and en_curso[0]["alertas"] == []
    for item in items:  # a mapped stage task receives only the id and reads its fund itself
        assert proceso.item_de_ejecucion(item["id_ejecucion"]) == item
        proceso.ejecutar_fondo(item)
    api_reads()
    # the checks (030): every fund OK is checked; an operator accepts the held ones (the demo's 30 positions
    # make some custodian breaks weigh more than 5 % of net assets)
    fondos = firma.controlar(id_proceso)
    assert all(f["verificacion"] in ("SIN_COMPARACION", "RETENIDO", "OK") for f in fondos), fondos
    for f in fondos:
        if f["verificacion"] == "RETENIDO":
            firma.aceptar(f["id_ejecucion"], "harness-operador", "breaks confirmed with the custodian")
    cerrado = proceso.cerrar_proceso(id_proceso)
    message = envio.enviar(cerrado)
    # the four-eyes sign-off (publicar_dia's call): recorded once, every fund published, nothing late
    decision = firma.firmar(id_proceso, "APROBADO", "harness-aprobador", clave=f"{clave}/firmar_dia")
    with database(autocommit=True) as db:
        cerrado["firma"] = (decision["publicadas"], len(firma.firmas(db, id_proceso)),
                            [r["id_ejecucion"] for r in firma.cifras_aprobadas(db, FECHA)],
                            [(f["verificacion"], f["aceptadopor"]) for f in firma.verificacion(db, id_proceso)])
    cerrado["plazo"] = plazo.pendientes(clave)
    # the rollback trigger the planted history fires (DURACION): its message, once
    cerrado["alertas_enviadas"] = envio.enviar_alertas(cerrado)
    with database(autocommit=True) as db:  # the parallel run against the planted legacy run (GET .../comparacion)
        comp = lectura.comparacion(db, FECHA, id_proceso, None, 1000)
    cerrado["comparacion"] = (comp["total_diferencias"],
                              [(f["id_fund"], f["filas_nuevo"], f["filas_legado"]) for f in comp["fondos"]])
    return items, cerrado, message


def _plant_history(c) -> None:
    """Four slow closed report dates before FECHA, so every harness day closes the fifth and fires the duration
    trigger (its record and message are paths of the day too), and a legacy run of FECHA to compare with."""
    from datetime import datetime, timedelta

    for i in range(1, 5):
        inicio = datetime.combine(FECHA, datetime.min.time()) - timedelta(days=i)
        c.execute("INSERT INTO logs.Procesos (ID_Proceso, FechaReporte, Estado, Usuario, TotalFondos, FondosExitosos, "
                  "FondosFallidos, FechaInicio, FechaFin) VALUES (%s, %s, 'OK', 'harness', 1, 1, 0, %s, %s)",
                  (10**15 + 10**9 + i, inicio.date(), inicio, inicio + timedelta(hours=3)))
    legacy = 1773400000000
    c.execute("INSERT INTO logs.Ejecuciones (ID_Ejecucion, FechaReporte, Estado, Usuario, TotalFondos) "
              "VALUES (%s, %s, 'OK', 'node-backend', %s)", (legacy, FECHA, FUNDS))
    for k in range(101, 101 + FUNDS):
        c.execute("INSERT INTO logs.Ejecucion_Fondos (ID_Ejecucion, ID_Fund, FundShortName, Portfolio_Geneva) "
                  "VALUES (%s, %s, %s, %s)", (legacy, k, f"FONDO {k}", f"LAFID{k - 100:03d}"))
    c.commit()


@pytest.fixture
def harness(migrated_pg_db, smtp, monkeypatch):
    monkeypatch.setenv("FONDOS_METRICS_STATS_WAIT_S", "0")  # the counters' flush wait: not what is tested here
    with database() as m:
        conninfo = m.conn.info.dsn
    seed(FUNDS, 30)
    with database() as c:
        _plant_history(c)
        # fund 102 held every day (its own prices threshold 0 %): the operator's acceptance is a path of the day
        c.execute("INSERT INTO config.Fondos_Controles (ID_Fund, Control, Umbral) VALUES (102, 'PRECIOS', 0)")
        c.commit()
    injector = Injector(conninfo)
    injector.install(monkeypatch)
    calm_items, calm, message = _day("calm")
    assert calm["estado"] == "OK" and message.startswith("sent"), (calm["estado"], message)
    assert [a["disparador"] for a in calm["alertas"]] == ["DURACION"], calm["alertas"]
    assert calm["alertas_enviadas"][0].startswith("rollback alert DURACION sent by smtp"), calm["alertas_enviadas"]
    assert len(smtp.messages) == 2 and "ROLLBACK TRIGGER" in smtp.messages[1]["Subject"]
    with database(autocommit=True) as c:
        for it in calm_items:  # the undisturbed day is right: every figure equals the oracle's
            exp = expected(fuentes(c, it["id_fund"], FECHA), derivados="Derivados" in it["etapas"], ubs="UBS" in it["etapas"])
            assert not differences(c, it["id_fund"], it["id_ejecucion"], exp)
        reference = {it["id_fund"]: fund_fingerprints(c, it["id_ejecucion"]) for it in calm_items}
    reference["comparacion"] = calm["comparacion"]
    reference["verificacion"] = calm["firma"][3]
    assert ("ACEPTADO", "harness-operador") in reference["verificacion"], reference["verificacion"]
    total, fondos = calm["comparacion"]  # against the planted legacy run, which has no rows: all only new
    assert [f for f, _, _ in fondos] == [101, 102, 103]
    assert all(legado == 0 and nuevo > 0 for _, nuevo, legado in fondos) and total >= sum(n for _, n, _ in fondos)
    return injector, reference, smtp


def _check_day(label: str, reference: dict, smtp, sent_before: int, items: list[dict], cerrado: dict, message: str):
    assert cerrado["estado"] == "OK", f"{label}: the proceso ended {cerrado['estado']}: {cerrado.get('fondos')}"
    assert message.startswith("sent"), f"{label}: {message}"
    subjects = [m["Subject"] for m in smtp.messages[sent_before:]]
    assert len(subjects) == 2 and "ROLLBACK TRIGGER" not in subjects[0] and "ROLLBACK TRIGGER" in subjects[1], \
        f"{label}: expected the morning message and one rollback alert, got {subjects}"
    with database(autocommit=True) as c:
        alertas = c.execute("SELECT Disparador, Envio FROM logs.vw_Proceso_Alertas WHERE ID_Proceso = %s",
                            (items[0]["id_proceso"],))
    assert [(a["disparador"], a["envio"]) for a in alertas] == [("DURACION", "ENVIADO")], f"{label}: {alertas}"
    assert cerrado["comparacion"] == reference["comparacion"], f"{label}: the parallel run's comparison differs"
    publicadas, decisiones, cifras, verificacion = cerrado["firma"]
    assert (publicadas, decisiones) == (FUNDS, 1), f"{label}: sign-off published {publicadas}, {decisiones} decision(s)"
    assert cifras == [it["id_ejecucion"] for it in items], f"{label}: approved figures {cifras}"
    assert verificacion == reference["verificacion"], f"{label}: checks {verificacion}"
    assert cerrado["plazo"] is None, f"{label}: the deadline would still see {cerrado['plazo']}"
    with database(autocommit=True) as c:
        for it in items:
            assert fund_fingerprints(c, it["id_ejecucion"]) == reference[it["id_fund"]], \
                f"{label}: fund {it['id_fund']}'s rows differ from the undisturbed day's"
        metricas = c.execute("SELECT Deadlocks_Inicio, FechaCierreMedicion, Deadlocks FROM logs.Proceso_Metricas "
                             "WHERE ID_Proceso = %s", (items[0]["id_proceso"],))
    # both snapshots taken (the server did not restart, so nothing is NULL for a good reason)
    assert metricas and metricas[0]["deadlocks_inicio"] is not None and metricas[0]["fechacierremedicion"] is not None \
        and metricas[0]["deadlocks"] is not None, f"{label}: metrics {metricas}"


def test_a_dropped_connection_at_every_call_site_of_the_day_heals(harness):
    injector, reference, smtp = harness
    sites = sorted(injector.sites)
    assert len(sites) >= 12, sites  # creation, stages, closing, metrics, message, API reads
    for area in ("pipeline/proceso.py", "pipeline/metrics.py", "pipeline/aviso.py", "web/lectura.py",
                 "pipeline/disparadores.py", "pipeline/arquitectura.py", "pipeline/comparar.py", "pipeline/firma.py"):
        assert any(s.startswith(area) for s in sites), (area, sites)
    assert any("< airflow/plazo.py:pendientes:" in s for s in sites), sites  # the deadline's reads (proceso's)
    failures = []
    for n, site in enumerate(sites):
        injector.target, injector.fired = site, []
        sent = len(smtp.messages)
        try:
            items, cerrado, message = _day(f"drop-{n}")
            assert injector.fired == [site], f"the day did not reach {site} again"
            _check_day(f"connection dropped at {site}", reference, smtp, sent, items, cerrado, message)
        except Exception as exc:  # noqa: BLE001 - every site is tried; all failures are reported together
            failures.append(f"{site}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
        finally:
            injector.target = None
            proceso.cerrar_procesos_en_progreso()  # a failed day must not block the next one
    print(f"\n{len(sites)} call sites, each with its connection dropped once: {len(sites) - len(failures)} healed")
    assert not failures, f"{len(failures)} of {len(sites)} call sites did not heal:\n" + "\n".join(failures)


def test_connections_dropped_at_random_moments_heal(harness):
    injector, reference, smtp = harness
    seed_ = int(os.environ.get("FONDOS_FAULT_SEED", time.time_ns() % 10**9))
    print(f"\nFONDOS_FAULT_SEED={seed_}")
    killed = 0
    for run in range(3):
        dropper = RandomDropper(injector.admin_conninfo, seed_ + run)
        sent = len(smtp.messages)
        dropper.start()
        try:
            items, cerrado, message = _day(f"random-{run}")
        finally:
            dropper.stop.set()
            dropper.join()
        killed += len(dropper.killed)
        _check_day(f"FONDOS_FAULT_SEED={seed_}, day {run}", reference, smtp, sent, items, cerrado, message)
    assert killed, f"FONDOS_FAULT_SEED={seed_}: no connection was dropped"
    print(f"{killed} connections dropped at random over 3 days")


@pytest.mark.parametrize("nth, estado", [(1, "EN_PROGRESO"), (2, "OK")])
def test_a_connection_lost_right_after_a_stage_state_commits_counts_the_attempt_once(harness, nth, estado):
    """The call that records a stage's EN_PROGRESO (or its OK) commits, and the connection is lost before
    its answer arrives: `call` sends it again. Before migration 027 that counted the attempt twice with a
    false "attempt 1 was interrupted" note (EN_PROGRESO), or refused the OK as "not EN_PROGRESO" and
    failed the stage (OK)."""
    injector, reference, smtp = harness
    site = next(s for s in injector.sites if s.startswith("pipeline/proceso.py:_registrar:"))
    injector.after_target, injector.after_nth = site, nth
    sent = len(smtp.messages)
    try:
        items, cerrado, message = _day(f"after-{estado}")
    finally:
        injector.after_target = None
    assert injector.fired == [f"after {site}"]
    _check_day(f"connection lost after {estado} committed", reference, smtp, sent, items, cerrado, message)
    with database(autocommit=True) as c:
        etapas = c.execute("SELECT Etapa, Intentos, Mensaje FROM logs.vw_Ejecucion_Etapas WHERE ID_Ejecucion = %s",
                           (items[0]["id_ejecucion"],))
    assert all(e["intentos"] == 1 and not e["mensaje"] for e in etapas if e["intentos"]), etapas
