"""The end of the day on the real embedded PostgreSQL (issue 21): the plausibility checks per fund on both sides
of each threshold, a fund with no previous day "no comparison", holds and an operator's acceptance, the
four-eyes sign-off, the publication and the view downstream reads, a re-run withdrawing a publication, and
every refusal saying why."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from fondos.db.connection import database
from fondos.errors import InvalidInput
from fondos.pipeline import firma, proceso
from fondos.web import lectura
from fondos.web.modelos import ProcesoDetalle
from pipeline_helpers import run_all, seed, start

D1 = date(2026, 3, 12)  # Thursday
D2 = date(2026, 3, 13)  # Friday: its previous business day is D1


def _day(fecha: date, clave: str, fondos: list[int] | None = None) -> int:
    items = start(clave, fecha, fondos)
    results = run_all(items)
    assert all(s in ("OK", "OMITIDO") for r in results.values() for s in r.values()), results
    id_proceso = items[0]["id_proceso"]
    proceso.cerrar_proceso(id_proceso)
    return id_proceso


def _by_fund(fondos: list[dict]) -> dict[int, dict]:
    return {int(f["id_fund"]): f for f in fondos}


def _check(f: dict, control: str) -> dict:
    return next(c for c in f["controles"] if c["control"] == control)


def _set_threshold(control: str, umbral: str, fund: int | None = None) -> None:
    with database(autocommit=True) as db:
        if fund is None:
            db.execute("UPDATE config.Controles SET Umbral = %s WHERE Control = %s", (Decimal(umbral), control))
        else:
            db.execute("INSERT INTO config.Fondos_Controles (ID_Fund, Control, Umbral) VALUES (%s, %s, %s)",
                       (fund, control, Decimal(umbral)))


def _scale_fund(fund: int, fecha: date, factor: int) -> None:
    """Multiply a fund's holdings on `fecha` (accounting and custodian alike): its net assets jump, nothing else."""
    with database(autocommit=True) as db:
        g = db.execute("SELECT Portfolio_Geneva, Portfolio_UBS FROM config.Fondos WHERE ID_Fund = %s", (fund,))[0]
        db.execute("UPDATE source.Geneva_Posiciones SET Cantidad = Cantidad * %s, CostoLocal = CostoLocal * %s "
                   "WHERE Portfolio = %s AND FechaReporte = %s", (factor, factor, g["portfolio_geneva"], fecha))
        if g["portfolio_ubs"]:
            db.execute("UPDATE source.UBS_Custodia SET Cantidad = Cantidad * %s "
                       "WHERE Cuenta = %s AND FechaReporte = %s", (factor, g["portfolio_ubs"], fecha))


@pytest.fixture
def two_days(migrated_pg_db):
    """Four demo funds on D1 (run, checked, approved by 'ana') and D2 seeded: fund 101's holdings tripled on D2.
    The demo's holdings move up to ~15 % from one day to the next (it draws each day afresh), so the net-assets
    threshold is set to 50 % here, as an operator sets it (config.Controles): tripling is far above it."""
    _set_threshold("PATRIMONIO", "50")
    seed(4, 200, D1)
    seed(4, 200, D2)
    p1 = _day(D1, "firma-d1")
    fondos = firma.controlar(p1)
    assert {f["verificacion"] for f in fondos} == {"SIN_COMPARACION"}, fondos  # the first day: nothing before it
    out = firma.firmar(p1, "APROBADO", "ana", clave="d1-ok")
    assert out["publicadas"] == 4 and out["nueva"]
    _scale_fund(101, D2, 3)
    return p1


def test_net_assets_jump_holds_the_fund_naming_figure_previous_value_and_threshold(two_days):
    p2 = _day(D2, "firma-d2")
    fondos = _by_fund(firma.controlar(p2))
    held = fondos[101]
    assert held["verificacion"] == "RETENIDO", held
    c = _check(held, "PATRIMONIO")
    with database() as db:  # both figures from the fund's own rows, not from the view the check reads
        hoy = db.execute("SELECT f.PatrimonioBase FROM staging.PNL_Final AS f WHERE f.ID_Ejecucion = %s",
                         (held["id_ejecucion"],))[0]["patrimoniobase"]
        ayer = db.execute("SELECT f.PatrimonioBase FROM staging.PNL_Final AS f JOIN logs.Ejecuciones AS e "
                          "ON e.ID_Ejecucion = f.ID_Ejecucion WHERE e.ID_Proceso = %s AND e.ID_Fund = 101",
                          (two_days,))[0]["patrimoniobase"]
    expected = (Decimal(100) * abs(hoy - ayer) / abs(ayer)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    assert c["valor"] == expected and c["valoranterior"] == ayer and c["umbral"] == Decimal("50.0000")
    assert c["fechaanterior"] == D1.isoformat()
    assert held["razones"] == [f"net assets moved {expected:,.4f} % against 2026-03-12's approved {ayer:,.4f} "
                               "(threshold 50.0000 %)"]
    for fund in (102, 103, 104):  # the demo's own day-to-day move: within 50 %
        assert fondos[fund]["verificacion"] == "OK", (fund, [c["razon"] for c in fondos[fund]["controles"]])
        assert _check(fondos[fund], "PATRIMONIO")["valor"] <= Decimal(50)


def test_each_threshold_on_both_sides_of_its_boundary(two_days):
    p2 = _day(D2, "firma-d2")
    fondos = _by_fund(firma.controlar(p2))
    f2 = fondos[102]
    valores = {c["control"]: c["valor"] for c in f2["controles"]}
    with database() as db:  # re-run fund 2's checks with each threshold exactly at, then just below, its value
        item = db.execute("SELECT ID_Ejecucion FROM logs.vw_Ejecucion_Fondos WHERE ID_Proceso = %s AND ID_Fund = 102",
                          (p2,))[0]
    tested = 0
    for control in ("PATRIMONIO", "PRECIOS", "QUIEBRES", "QUIEBRES_MONTO"):
        if _check(f2, control)["estado"] == "NO_APLICA":
            continue
        tested += 1
        for umbral, estado in ((valores[control], "OK"), (valores[control] - Decimal("0.0001"), "RETENIDO")):
            with database(autocommit=True) as db:
                db.execute("DELETE FROM config.Fondos_Controles WHERE ID_Fund = 102")
                db.execute("INSERT INTO config.Fondos_Controles (ID_Fund, Control, Umbral) VALUES (102, %s, %s)",
                           (control, umbral))
                db.execute("SELECT * FROM logs.sp_Controlar_Ejecucion(%s, %s, 102, %s)", (item["id_ejecucion"], D2, D1))
                got = db.execute("SELECT Estado, Umbral FROM logs.vw_Ejecucion_Controles WHERE ID_Ejecucion = %s "
                                 "AND Control = %s", (item["id_ejecucion"], control))[0]
            assert (got["estado"], got["umbral"]) == (estado, umbral), (control, umbral, got)
    assert tested == 4, f2["controles"]  # fund 102 has every stage: all four checks crossed their boundary


def test_a_fund_without_approved_figures_the_day_before_is_no_comparison_never_a_silent_pass(migrated_pg_db):
    seed(2, 200, D2)
    p = _day(D2, "sin-ayer")
    fondos = firma.controlar(p)
    assert [f["verificacion"] for f in fondos] == ["SIN_COMPARACION", "SIN_COMPARACION"], [f["razones"] for f in fondos]
    assert all(f["razones"] == ["net assets: no comparison: no approved net assets for 2026-03-12 (the previous "
                                "business day) to compare with"] for f in fondos)


def test_held_fund_is_not_published_until_accepted_and_the_view_shows_every_other(two_days):
    p2 = _day(D2, "firma-d2")
    firma.controlar(p2)
    with pytest.raises(InvalidInput, match="four eyes: pytest asked for proceso"):
        firma.firmar(p2, "APROBADO", "pytest", clave="mine")  # the user who started it
    out = firma.firmar(p2, "APROBADO", "beto", clave="d2-first")
    assert (out["publicadas"], out["retenidos"], out["nueva"]) == (3, 1, True)
    again = firma.firmar(p2, "APROBADO", "beto", clave="d2-first")  # the same decision resent: recorded once
    assert (again["secuencia"], again["publicadas"], again["nueva"]) == (out["secuencia"], 3, False)
    with database() as db:
        assert sorted(r["id_fund"] for r in firma.cifras_aprobadas(db, D2)) == [102, 103, 104]
        assert len(firma.firmas(db, p2)) == 1
    held = _by_fund(firma.controlar(p2))[101]
    with pytest.raises(InvalidInput, match="needs who accepts it and why"):
        firma.aceptar(held["id_ejecucion"], "carla", "  ")
    with pytest.raises(InvalidInput, match="is not held"):
        firma.aceptar(_by_fund(firma.controlar(p2))[102]["id_ejecucion"], "carla", "fine")
    acc = firma.aceptar(held["id_ejecucion"], "carla", "subscription of 2x the fund confirmed by the trustee")
    assert acc["nueva"] and not firma.aceptar(held["id_ejecucion"], "carla", "again")["nueva"]
    f1 = _by_fund(firma.controlar(p2))[101]
    assert (f1["verificacion"], f1["aceptadopor"]) == ("ACEPTADO", "carla")
    out = firma.firmar(p2, "APROBADO", "beto", clave="d2-second")
    assert out["publicadas"] == 1  # only the accepted fund: the others are published already
    with database() as db:
        rows = {r["id_fund"]: r for r in firma.cifras_aprobadas(db, D2)}
        api = lectura.proceso(db, p2)  # what GET /fondos/api/procesos/{id} answers (and the board shows)
    assert sorted(rows) == [101, 102, 103, 104] and rows[101]["aprobador"] == "beto"
    detalle = ProcesoDetalle.model_validate(api)  # the API's own answer model
    assert detalle.firma.estado == "APROBADO" and detalle.firma.usuario == "beto" and detalle.firma.publicados == 4
    assert [d.publicadas for d in detalle.firma.decisiones] == [1, 3]
    f101 = next(f for f in detalle.ejecuciones if f.id_fund == 101)
    assert (f101.verificacion, f101.aceptadopor, f101.publicado) == ("ACEPTADO", "carla", True)
    assert any(c.control == "PATRIMONIO" and c.estado == "RETENIDO" and c.razon.startswith("net assets moved")
               for c in f101.controles)


def test_re_running_a_fund_after_approval_withdraws_its_figures_until_approved_again(two_days):
    with database() as db:
        before = {r["id_fund"] for r in firma.cifras_aprobadas(db, D1)}
        e3 = db.execute("SELECT ID_Ejecucion FROM logs.vw_Ejecucion_Fondos WHERE ID_Proceso = %s AND ID_Fund = 103",
                        (two_days,))[0]["id_ejecucion"]
    assert before == {101, 102, 103, 104}
    item = proceso.item_de_ejecucion(e3)
    assert proceso.ejecutar_etapa(item, "PNL")["estado"] == "OK"  # a re-run of fund 3's PNL after the approval
    with database() as db:
        assert {r["id_fund"] for r in firma.cifras_aprobadas(db, D1)} == {101, 102, 104}
    with pytest.raises(InvalidInput, match="did not run on their latest figures"):
        firma.firmar(two_days, "APROBADO", "ana", clave="d1-again")  # unchecked figures are never signed
    fondos = _by_fund(firma.controlar(two_days))
    assert fondos[103]["verificacion"] == "SIN_COMPARACION" and not fondos[103]["publicado"]
    assert fondos[101]["publicado"]  # the other funds' checks did not run again: their publication stands
    assert firma.firmar(two_days, "APROBADO", "ana", clave="d1-again")["publicadas"] == 1
    with database() as db:
        assert {r["id_fund"] for r in firma.cifras_aprobadas(db, D1)} == {101, 102, 103, 104}


def test_rejection_publishes_nothing_and_records_the_reason(migrated_pg_db):
    seed(2, 200, D2)
    p = _day(D2, "rechazo")
    firma.controlar(p)
    with pytest.raises(InvalidInput, match="needs a reason"):
        firma.firmar(p, "RECHAZADO", "beto", clave="r1")
    with pytest.raises(InvalidInput, match="Decision must be APROBADO or RECHAZADO"):
        firma.firmar(p, "aprobado", "beto", clave="r1")
    out = firma.firmar(p, "RECHAZADO", "beto", clave="r1", comentario="prices of 13 March were not final")
    assert out["publicadas"] == 0
    with database() as db:
        assert firma.cifras_aprobadas(db, D2) == []
        (d,) = firma.firmas(db, p)
    assert (d["decision"], d["usuario"], d["comentario"]) == ("RECHAZADO", "beto", "prices of 13 March were not final")


def test_a_running_proceso_cannot_be_signed_and_checks_refuse_a_fund_still_running(migrated_pg_db):
    seed(2, 200, D2)
    items = start("en-curso", D2)
    run_all(items[:1])
    with pytest.raises(InvalidInput, match="is still running"):
        firma.firmar(items[0]["id_proceso"], "APROBADO", "beto", clave="x")
    with database(autocommit=True) as db, pytest.raises(Exception, match="need every stage OK or OMITIDO"):
        db.execute("SELECT * FROM logs.sp_Controlar_Ejecucion(%s, %s, %s, %s)",
                   (items[1]["id_ejecucion"], D2, items[1]["id_fund"], D1))


def test_a_signed_off_proceso_is_never_deleted_and_a_cut_key_is_refused(migrated_pg_db):
    from legacy_data import table_fingerprint
    from pipeline_helpers import ALL_ROW_TABLES

    seed(2, 200, D2)
    p = _day(D2, "guardado")
    firma.controlar(p)
    with pytest.raises(InvalidInput, match="1 to 250 characters"):
        firma.firmar(p, "APROBADO", "beto", clave="k" * 251)  # never cut to 250 and matched to another key
    firma.firmar(p, "APROBADO", "beto", clave="k" * 250)
    with database() as db:
        before = {t: table_fingerprint(db, t) for t in ALL_ROW_TABLES}
        published = firma.cifras_aprobadas(db, D2)
    with pytest.raises(Exception, match=f"eliminar refused: proceso {p} is signed off"):
        proceso.eliminar_proceso(p)
    with database() as db:
        assert {t: table_fingerprint(db, t) for t in ALL_ROW_TABLES} == before
        assert firma.cifras_aprobadas(db, D2) == published and len(published) == 2


def test_an_answer_resent_after_a_fund_re_ran_publishes_nothing_new_and_who_cleared_cannot_sign(two_days):
    """publicar_dia retried with the same Airflow answer (the same key) after a fund ran again: the answer is the
    old decision, the re-run fund stays unpublished (publicar_dia then refuses, naming it); and the user named as
    the one who asked for the run (triggered or cleared it) cannot sign, as the one who created it cannot."""
    with database() as db:
        e3 = db.execute("SELECT ID_Ejecucion FROM logs.vw_Ejecucion_Fondos WHERE ID_Proceso = %s AND ID_Fund = 103",
                        (two_days,))[0]["id_ejecucion"]
    assert proceso.ejecutar_etapa(proceso.item_de_ejecucion(e3), "PNL")["estado"] == "OK"
    firma.controlar(two_days)
    again = firma.firmar(two_days, "APROBADO", "ana", clave="d1-ok")  # the fixture's approval, resent
    assert (again["nueva"], again["publicadas"]) == (False, 4)
    fondos = _by_fund(firma.controlar(two_days))
    assert fondos[103]["verificacion"] == "SIN_COMPARACION" and not fondos[103]["publicado"]
    with pytest.raises(InvalidInput, match="four eyes: carla asked for proceso"):
        firma.firmar(two_days, "APROBADO", "carla", clave="d1-carla", solicitante="carla")
    firma.firmar(two_days, "APROBADO", "ana", clave="d1-new", solicitante="carla")
    with database() as db:
        assert firma.firmas(db, two_days)[0]["solicitante"] == "carla"
        assert {r["id_fund"] for r in firma.cifras_aprobadas(db, D1)} == {101, 102, 103, 104}


def test_an_acceptance_lapses_when_the_fund_runs_again(two_days):
    p2 = _day(D2, "firma-d2")
    held = _by_fund(firma.controlar(p2))[101]
    firma.aceptar(held["id_ejecucion"], "carla", "confirmed")
    assert proceso.ejecutar_etapa(proceso.item_de_ejecucion(held["id_ejecucion"]), "PNL")["estado"] == "OK"
    again = _by_fund(firma.controlar(p2))[101]
    assert (again["verificacion"], again["aceptadopor"]) == ("RETENIDO", None)
    assert firma.firmar(p2, "APROBADO", "beto", clave="after-rerun")["publicadas"] == 3  # 101 held again


def test_the_deadline_callback_sends_once_for_a_day_waiting_and_nothing_for_a_day_signed_off(migrated_pg_db, smtp,
                                                                                              monkeypatch):
    import asyncio

    from fondos.airflow import plazo

    monkeypatch.setattr("fondos.pipeline.proceso.APROBADORES", ["ana", "beto"])  # as FONDOS_APROBADORES=ana,beto
    seed(2, 200, D2)
    p = _day(D2, "plazo-unit")
    firma.controlar(p)
    # the context the scheduler hands the callback: the run as the REST API's DAGRunResponse, and the deadline
    ctx = {"dag_run": {"dag_id": "x", "dag_run_id": "y"}, "deadline": {"deadline_time": "2026-03-16T10:30:00+00:00"}}
    with database(autocommit=True) as db:  # the run key the callback builds from the context: dag_id/run_id
        db.execute("UPDATE logs.Procesos SET ClaveEjecucion = 'x/y' WHERE ID_Proceso = %s", (p,))
    first = asyncio.run(plazo.avisar_plazo(ctx))
    assert first.startswith("x/y: deadline message sent by smtp"), first
    assert len(smtp.messages) == 1 and smtp.messages[0]["Subject"].startswith("[Fondos] LATE 2026-03-13")
    text = smtp.text()
    assert "the approval of ana, beto (task firmar_dia)" in text  # requester 'pytest' is not an approver
    assert asyncio.run(plazo.avisar_plazo(ctx)) == "x/y: the deadline's message was sent already"
    firma.firmar(p, "RECHAZADO", "beto", clave="r", comentario="not final")
    assert asyncio.run(plazo.avisar_plazo(ctx)) == "x/y: signed off before the deadline was handled: nothing sent"
    assert len(smtp.messages) == 1
