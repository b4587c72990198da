"""Conformance suite of the per-fund pipeline, run against every reachable backend.

The plan's four critical tests (isolation, integrity, aggregation, rollback)
plus idempotency and bad input. PostgreSQL always; SQL Server when
FONDOS_TEST_MSSQL_URL is set.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from conftest import STATS_WAIT
from fondos.db.connection import database
from fondos.errors import DataError, InvalidInput
from fondos.pipeline import proceso
from fondos.pipeline.metrics import delta, lock_counters
from fondos.pipeline.stages import STAGES, stage_order
from pipeline_helpers import (
    ALL_ROW_TABLES,
    FECHA,
    count,
    etapa,
    fund_fingerprints,
    fund_rows_fingerprint,
    proceso_row,
    run_all,
    seed,
    start,
)


@pytest.fixture
def conn(db):
    """Autocommit connection for assertions (the `db` fixture migrated the database)."""
    with database(autocommit=True) as c:
        yield c


def _remove_positions(conn, portfolio: str, fecha: date = FECHA) -> list[tuple]:
    rows = conn.execute("SELECT * FROM source.Geneva_Posiciones WHERE Portfolio = %s AND FechaReporte = %s",
                        (portfolio, fecha))
    conn.execute("DELETE FROM source.Geneva_Posiciones WHERE Portfolio = %s AND FechaReporte = %s", (portfolio, fecha))
    return [(r["fechareporte"], r["portfolio"], r["id_instrumento"], r["tipo_instrumento"], r["moneda"],
             r["cantidad"], r["costolocal"]) for r in rows]


def _restore_positions(conn, rows: list[tuple]) -> None:
    for r in rows:
        conn.execute("INSERT INTO source.Geneva_Posiciones (FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, "
                     "Moneda, Cantidad, CostoLocal) VALUES (%s, %s, %s, %s, %s, %s, %s)", r)


# --- integrity ---------------------------------------------------------------

def test_every_fund_gets_its_own_ejecucion_under_one_proceso(conn):
    seed(8, 20)
    items = start("integrity-1")
    assert len(items) == 8
    assert len({i["id_ejecucion"] for i in items}) == 8
    assert len({i["id_proceso"] for i in items}) == 1
    id_proceso = items[0]["id_proceso"]
    assert id_proceso not in {i["id_ejecucion"] for i in items}  # one number space: an id names one thing
    rows = conn.execute("SELECT ID_Ejecucion, ID_Fund, ID_Proceso, FechaReporte, Estado FROM logs.Ejecuciones "
                        "WHERE ID_Proceso = %s", (id_proceso,))
    assert {(r["id_ejecucion"], r["id_fund"]) for r in rows} == {(i["id_ejecucion"], i["id_fund"]) for i in items}
    assert all(r["fechareporte"] == FECHA and r["estado"] == "EN_PROGRESO" for r in rows)
    assert count(conn, "SELECT COUNT(*) FROM logs.Ejecucion_Fondos f JOIN logs.Ejecuciones e "
                       "ON e.ID_Ejecucion = f.ID_Ejecucion WHERE e.ID_Proceso = %s", (id_proceso,)) == 8
    assert count(conn, "SELECT COUNT(*) FROM logs.Ejecucion_Etapas t JOIN logs.Ejecuciones e "
                       "ON e.ID_Ejecucion = t.ID_Ejecucion WHERE e.ID_Proceso = %s", (id_proceso,)) == 8 * 5
    # funds 4 and 8 have no derivatives, fund 5 no custodian: recorded as OMITIDO up front
    by_fund = {i["id_fund"]: i["etapas"] for i in items}
    assert "Derivados" not in by_fund[104] and "UBS" not in by_fund[105] and by_fund[101] == stage_order_for_all()
    assert etapa(conn, items[3]["id_ejecucion"], "Derivados")["estado"] == "OMITIDO"
    p = proceso_row(conn, id_proceso)
    assert (p["totalfondos"], p["fondosexitosos"], p["fondosfallidos"], p["estado"]) == (8, 0, 0, "EN_PROGRESO")


def stage_order_for_all():
    return ["IPA", "CAPM", "PNL", "Derivados", "UBS"]


def test_same_run_key_returns_the_same_proceso_and_creates_nothing(conn):
    seed(3, 10)
    first = start("same-key")
    before = count(conn, "SELECT COUNT(*) FROM logs.Ejecuciones")
    assert start("same-key") == first
    assert count(conn, "SELECT COUNT(*) FROM logs.Ejecuciones") == before
    assert count(conn, "SELECT COUNT(*) FROM logs.Procesos WHERE ClaveEjecucion = %s", ("same-key",)) == 1


def test_a_run_key_outside_latin1_is_kept_as_written(conn):
    """Airflow run_ids carry what the user typed: on SQL Server a VARCHAR key became '?'s (024)."""
    seed(2, 10)
    clave = "manual__2026-03-13 日本 ñandú €"
    items = start(clave)
    assert start(clave) == items
    assert proceso.proceso_de_clave(clave) == items[0]["id_proceso"]
    assert proceso.proceso_de_clave("manual__2026-03-13 ?? ñandú €") is None
    rows = conn.execute("SELECT ClaveEjecucion FROM logs.vw_Procesos WHERE ID_Proceso = %s", (items[0]["id_proceso"],))
    assert [r["claveejecucion"] for r in rows] == [clave]


def test_fund_list_limits_the_proceso(conn):
    seed(5, 10)
    items = start("subset", fondos=[102, 104])
    assert sorted(i["id_fund"] for i in items) == [102, 104]
    assert proceso_row(conn, items[0]["id_proceso"])["totalfondos"] == 2


# --- bad input ---------------------------------------------------------------

@pytest.mark.parametrize("fondos, fecha, message", [
    (None, date.today() + timedelta(days=1), "is in the future"),
    ([999], FECHA, "unknown or inactive fund(s): 999"),
])
def test_bad_input_is_refused_with_a_clear_message_and_creates_nothing(conn, fondos, fecha, message):
    seed(3, 10)
    with pytest.raises(InvalidInput) as err:
        start("bad-input", fecha=fecha, fondos=fondos)
    assert message in str(err.value)
    assert count(conn, "SELECT COUNT(*) FROM logs.Procesos") == 0
    assert count(conn, "SELECT COUNT(*) FROM logs.Ejecuciones") == 0


def test_a_date_without_source_data_is_refused_up_front_naming_the_feed(conn):
    seed(2, 5)  # FECHA has every feed; the day before has prices and FX rates but no positions
    for fecha, feed in ((FECHA - timedelta(days=1), "source.Geneva_Posiciones has no positions for any of the 2 fund(s)"),
                        (FECHA - timedelta(days=2), "source.TiposCambio has no FX rates for that date")):
        with pytest.raises(InvalidInput) as err:
            start(f"no-data-{fecha}", fecha=fecha)
        assert f"no source data for {fecha}: {feed}" in str(err.value)
        assert "Nothing was created" in str(err.value) and "Load the" in str(err.value)
    assert count(conn, "SELECT COUNT(*) FROM logs.vw_Procesos") == 0


def test_funds_without_source_data_are_listed_at_once_and_the_rest_proceed(conn, caplog):
    seed(3, 5)
    _remove_positions(conn, "LAFID002")
    with caplog.at_level(logging.WARNING, logger="fondos.pipeline.proceso"):
        items = start("partial-data")
    assert len(items) == 3
    assert ("1 of 3 funds lack source data for 2026-03-13 and will fail:\n  fund 102 "
            in caplog.text) and "no positions in source.Geneva_Posiciones for portfolio LAFID002" in caplog.text


def test_no_active_funds_is_refused(conn):
    seed(2, 5)
    conn.execute("UPDATE config.Fondos SET Activo = %s", (False,))
    with pytest.raises(InvalidInput, match="no active funds"):
        start("nobody")
    assert count(conn, "SELECT COUNT(*) FROM logs.Procesos") == 0


def test_second_run_of_a_date_while_the_first_is_in_progress_is_refused(conn):
    seed(2, 5)
    first = start("run-a")
    with pytest.raises(InvalidInput) as err:
        start("run-b")
    assert f"proceso {first[0]['id_proceso']}" in str(err.value) and "EN_PROGRESO" in str(err.value)
    assert "run-a" in str(err.value)
    assert count(conn, "SELECT COUNT(*) FROM logs.Procesos") == 1
    # once the first one is finished, a new run of the date is allowed (a reprocess)
    run_all(first)
    proceso.cerrar_proceso(first[0]["id_proceso"])
    assert start("run-b")[0]["id_proceso"] != first[0]["id_proceso"]


def test_run_key_reused_for_another_date_is_refused(conn):
    seed(2, 5)
    seed(2, 5, fecha=FECHA - timedelta(days=1))
    start("key-x")
    with pytest.raises(InvalidInput, match="already belongs to proceso"):
        start("key-x", fecha=FECHA - timedelta(days=1))


def test_stage_step_pointed_at_another_funds_ejecucion_is_refused(conn):
    seed(2, 5)
    a, b = start("cross")
    wrong = dict(a, id_ejecucion=b["id_ejecucion"])  # fund A's parameters with fund B's ejecución
    with pytest.raises(DataError, match="is not the ejecución of fund 101"):
        proceso.ejecutar_etapa(wrong, "IPA")
    assert count(conn, "SELECT COUNT(*) FROM extract.IPA WHERE ID_Ejecucion = %s", (b["id_ejecucion"],)) == 0


def test_missing_source_data_fails_that_fund_and_stage_with_a_message_naming_them(conn):
    seed(3, 20)
    items = start("missing")
    _remove_positions(conn, items[1]["portfolio_geneva"])
    with pytest.raises(DataError) as err:
        proceso.ejecutar_etapa(items[1], "IPA")
    text = str(err.value)
    for expected in ("IPA", "fund 102", items[1]["fundshortname"], str(items[1]["id_ejecucion"]), "2026-03-13",
                     "source.Geneva_Posiciones", "clear this fund's task"):
        assert expected in text
    e = etapa(conn, items[1]["id_ejecucion"], "IPA")
    assert e["estado"] == "ERROR" and "source.Geneva_Posiciones" in e["mensaje"] and e["intentos"] == 1
    assert proceso.ejecutar_fondo(items[0])["PNL"] == "OK"  # the others are not affected


def test_missing_fx_rate_names_the_currency(conn):
    seed(2, 20)
    items = start("fx")
    conn.execute("DELETE FROM source.TiposCambio WHERE FechaReporte = %s AND Moneda = %s", (FECHA, "EUR"))
    outcome = proceso.ejecutar_fondo(items[0])
    assert outcome["IPA"] == "ERROR"
    assert "no rate in source.TiposCambio" in etapa(conn, items[0]["id_ejecucion"], "IPA")["mensaje"]
    assert "EUR" in etapa(conn, items[0]["id_ejecucion"], "IPA")["mensaje"]


# --- aggregation -------------------------------------------------------------

def test_proceso_figures_are_recomputed_from_children_and_a_retried_fund_counts_once(conn):
    seed(4, 30)
    items = start("aggregation")
    id_proceso = items[0]["id_proceso"]
    saved = {i: _remove_positions(conn, items[i]["portfolio_geneva"]) for i in (1, 3)}

    outcomes = run_all(items)
    assert [outcomes[i["id_fund"]]["IPA"] for i in items] == ["OK", "ERROR", "OK", "ERROR"]
    assert outcomes[102]["PNL"] == "NO_EJECUTADA"
    closed = proceso.cerrar_proceso(id_proceso)
    assert (closed["estado"], closed["totalfondos"], closed["fondosexitosos"], closed["fondosfallidos"]) == (
        "ERROR", 4, 2, 2)
    assert closed["fechafin"] is not None
    assert [f["estado"] for f in closed["fondos"]] == ["OK", "ERROR", "OK", "ERROR"]
    # the stages behind the failed IPA never ran and stay PENDIENTE; they are not counted as new failures
    assert closed["fondos"][1]["etapas"]["PNL"]["estado"] == "PENDIENTE"

    # retry fund 102 after its data arrives: it moves from failed to succeeded, counted once
    _restore_positions(conn, saved[1])
    assert set(proceso.ejecutar_fondo(items[1]).values()) <= {"OK", "OMITIDO"}
    p = proceso_row(conn, id_proceso)
    assert (p["estado"], p["fondosexitosos"], p["fondosfallidos"]) == ("ERROR", 3, 1)
    assert etapa(conn, items[1]["id_ejecucion"], "IPA")["intentos"] == 2

    _restore_positions(conn, saved[3])
    proceso.ejecutar_fondo(items[3])
    closed = proceso.cerrar_proceso(id_proceso)
    assert (closed["estado"], closed["fondosexitosos"], closed["fondosfallidos"]) == ("OK", 4, 0)


def _figures_from_scratch(conn, id_proceso: int) -> tuple[dict, tuple]:
    """Every ejecución's (state, end) and the proceso's (state, counts, has an end), recomputed here from the
    stage rows alone: an ejecución ends when it is not EN_PROGRESO, at its last stage's end."""
    rows = conn.execute(
        "SELECT t.ID_Ejecucion, CASE WHEN SUM(CASE WHEN t.Estado = 'ERROR' THEN 1 ELSE 0 END) > 0 THEN 'ERROR' "
        "WHEN MIN(CASE WHEN t.Estado IN ('OK', 'OMITIDO') THEN 1 ELSE 0 END) = 1 THEN 'OK' ELSE 'EN_PROGRESO' END "
        "AS Estado, MAX(t.FechaFin) AS Fin FROM logs.Ejecucion_Etapas t "
        "JOIN logs.Ejecuciones e ON e.ID_Ejecucion = t.ID_Ejecucion "
        "WHERE e.ID_Proceso = %s GROUP BY t.ID_Ejecucion", (id_proceso,))
    estados = {r["id_ejecucion"]: (r["estado"], None if r["estado"] == "EN_PROGRESO" else r["fin"]) for r in rows}
    ok = sum(v[0] == "OK" for v in estados.values())
    err = sum(v[0] == "ERROR" for v in estados.values())
    estado = "EN_PROGRESO" if ok + err < len(estados) else ("ERROR" if err else "OK")
    return estados, (estado, len(estados), ok, err, estado != "EN_PROGRESO")


def test_every_stage_update_leaves_the_proceso_figures_equal_to_a_full_recount(conn, monkeypatch):
    """sp_Actualizar_Estado_Etapa recomputes the proceso only when the fund's own state changes; after every
    single call, stored states and figures must still equal a recount from the stage rows."""
    seed(4, 30)
    items = start("recount")
    id_proceso = items[0]["id_proceso"]
    saved = _remove_positions(conn, items[1]["portfolio_geneva"])
    original, checked, wrong = proceso._registrar, [], []

    def registrar_and_check(db, item, etapa_, estado, filas=None, mensaje=None, intento=None):
        result = original(db, item, etapa_, estado, filas, mensaje, intento)
        estados, figures = _figures_from_scratch(conn, id_proceso)
        stored = {r["id_ejecucion"]: (r["estado"], r["fechafin"]) for r in conn.execute(
            "SELECT ID_Ejecucion, Estado, FechaFin FROM logs.Ejecuciones WHERE ID_Proceso = %s", (id_proceso,))}
        p = conn.execute("SELECT Estado, TotalFondos, FondosExitosos, FondosFallidos, FechaFin FROM logs.Procesos "
                         "WHERE ID_Proceso = %s", (id_proceso,))[0]
        got = (p["estado"], p["totalfondos"], p["fondosexitosos"], p["fondosfallidos"], p["fechafin"] is not None)
        if stored != estados or got != figures:  # recorded, not raised: the pipeline would catch it
            wrong.append(f"after {etapa_} {estado} of {item['id_ejecucion']}: stored {stored} {got}, "
                         f"recount {estados} {figures}")
        checked.append((item["id_ejecucion"], etapa_, estado))
        return result

    monkeypatch.setattr(proceso, "_registrar", registrar_and_check)
    run_all(items)  # fund 102 fails in IPA
    # a failure callback on a stage behind it: the fund stays ERROR, only its end moves
    proceso.registrar_error(items[1], "CAPM", "CAPM task failed (test)")
    _restore_positions(conn, saved)
    proceso.ejecutar_fondo(items[1])  # its retry: ERROR -> EN_PROGRESO -> OK
    proceso.revertir_ejecucion(items[2]["id_ejecucion"])  # a rollback, then that fund again
    proceso.ejecutar_fondo(items[2])
    assert not wrong, "\n".join(wrong)
    assert len(checked) >= 4 * 2 * 3  # every fund: EN_PROGRESO and an outcome for at least three stages
    assert {e for _, _, e in checked} >= {"EN_PROGRESO", "OK", "ERROR"}
    assert proceso_row(conn, id_proceso)["fondosexitosos"] == 4


def test_closing_marks_a_killed_stage_as_error(conn):
    seed(2, 10)
    items = start("killed")
    proceso.ejecutar_fondo(items[0])
    with database(autocommit=True) as db:  # fund 2's IPA task died right after recording EN_PROGRESO
        from fondos.db.calls import call

        call(db, "logs.sp_Actualizar_Estado_Etapa",
             {"ID_Ejecucion": items[1]["id_ejecucion"], "Etapa": "IPA", "Estado": "EN_PROGRESO"})
    assert proceso_row(conn, items[0]["id_proceso"])["estado"] == "EN_PROGRESO"
    # what Airflow knows and the killed task never could tell: its task failed (map index 1 = second fund)
    closed = proceso.cerrar_proceso(items[0]["id_proceso"], airflow={("IPA", 1): "failed"})
    assert (closed["estado"], closed["fondosexitosos"], closed["fondosfallidos"]) == ("ERROR", 1, 1)
    killed = etapa(conn, items[1]["id_ejecucion"], "IPA")
    assert killed["estado"] == "ERROR"
    assert killed["mensaje"].startswith("IPA was killed on try 1 (SIGKILL, OOM kill or timeout)")
    # the stages behind it never ran, and say so the same way as behind a data failure: PENDIENTE
    behind = {s: etapa(conn, items[1]["id_ejecucion"], s)["estado"] for s in STAGES if s != "IPA"}
    assert set(behind.values()) <= {"PENDIENTE", "OMITIDO"} and "PENDIENTE" in behind.values()


def test_cli_cerrar_exits_non_zero_when_it_closes_the_proceso_as_error(conn, capsys):
    from fondos import cli

    seed(2, 5)
    items = start("cli-cerrar")
    proceso.ejecutar_fondo(items[0])
    with database(autocommit=True) as db:  # the second fund's IPA task died after it started
        from fondos.db.calls import call

        call(db, "logs.sp_Actualizar_Estado_Etapa",
             {"ID_Ejecucion": items[1]["id_ejecucion"], "Etapa": "IPA", "Estado": "EN_PROGRESO"})
    code = cli.main(["proceso", "cerrar", "--id", str(items[0]["id_proceso"])])
    out = capsys.readouterr().out
    assert code == 1 and "estado ERROR" in out and "IPA attempt 1 never recorded an outcome" in out
    assert cli.main(["proceso", "cerrar", "--id", str(items[0]["id_proceso"])]) == 1  # still ERROR, still says so


def test_never_run_stages_get_the_same_state_after_a_kill_and_after_a_data_failure(conn):
    seed(2, 10)
    items = start("same-state")
    conn.execute("DELETE FROM source.Geneva_Posiciones WHERE Portfolio = %s", (items[0]["portfolio_geneva"],))
    data_failure = proceso.ejecutar_fondo(items[0])  # IPA fails on data, the rest never run
    assert data_failure["IPA"] == "ERROR"
    with database(autocommit=True) as db:  # the other fund's IPA task is SIGKILLed after it started
        from fondos.db.calls import call

        call(db, "logs.sp_Actualizar_Estado_Etapa",
             {"ID_Ejecucion": items[1]["id_ejecucion"], "Etapa": "IPA", "Estado": "EN_PROGRESO"})
    proceso.cerrar_proceso(items[0]["id_proceso"], airflow={("IPA", 0): "failed", ("IPA", 1): "failed"})
    states = [{s: etapa(conn, it["id_ejecucion"], s)["estado"] for s in STAGES} for it in items]
    assert states[0] == states[1]
    assert states[0]["IPA"] == "ERROR" and states[0]["PNL"] == "PENDIENTE"


def test_an_attempt_that_finds_its_stage_in_progress_records_the_interrupted_one(conn):
    seed(1, 10)
    item = start("interrupted")[0]
    with database(autocommit=True) as db:  # attempt 1 started, then its task was killed
        from fondos.db.calls import call

        call(db, "logs.sp_Actualizar_Estado_Etapa",
             {"ID_Ejecucion": item["id_ejecucion"], "Etapa": "IPA", "Estado": "EN_PROGRESO"})
    proceso.ejecutar_etapa(item, "IPA")  # attempt 2
    e = etapa(conn, item["id_ejecucion"], "IPA")
    assert (e["estado"], e["intentos"]) == ("OK", 2)
    assert e["mensaje"].startswith("attempt 1 was interrupted: it started at ")
    assert "never recorded an outcome (task killed, worker lost or timed out); attempt 2 started at" in e["mensaje"]


# --- idempotency -------------------------------------------------------------

def test_running_any_step_twice_gives_identical_tables(conn):
    seed(3, 50)
    items = start("idempotent")
    run_all(items)
    before = {i["id_ejecucion"]: fund_fingerprints(conn, i["id_ejecucion"]) for i in items}
    assert all(fp["staging.IPA_Final"][0] > 0 for fp in before.values())
    for item in items:  # every step of every stage, once more
        for name in stage_order():
            if name in item["etapas"]:
                proceso.ejecutar_etapa(item, name)
    after = {i["id_ejecucion"]: fund_fingerprints(conn, i["id_ejecucion"]) for i in items}
    assert after == before


# --- rollback ----------------------------------------------------------------

def test_rolling_back_one_fund_leaves_the_others_untouched(conn):
    seed(3, 40)
    items = start("rollback-fund")
    run_all(items)
    others = {i["id_ejecucion"]: fund_fingerprints(conn, i["id_ejecucion"]) for i in items[1:]}
    deleted = proceso.revertir_ejecucion(items[0]["id_ejecucion"])
    assert deleted > 0
    assert all(n == 0 for n, _ in fund_fingerprints(conn, items[0]["id_ejecucion"]).values())
    assert {i["id_ejecucion"]: fund_fingerprints(conn, i["id_ejecucion"]) for i in items[1:]} == others
    assert etapa(conn, items[0]["id_ejecucion"], "IPA")["estado"] == "PENDIENTE"
    p = proceso_row(conn, items[0]["id_proceso"])
    assert (p["estado"], p["fondosexitosos"]) == ("EN_PROGRESO", 2)


def test_deleting_a_proceso_removes_everything_of_it_and_nothing_else(conn):
    seed(3, 30)
    seed(3, 30, fecha=FECHA - timedelta(days=1))
    keep = start("keep", fecha=FECHA - timedelta(days=1))
    run_all(keep)
    kept = {i["id_ejecucion"]: fund_fingerprints(conn, i["id_ejecucion"]) for i in keep}
    gone = start("gone")
    run_all(gone)
    proceso.eliminar_proceso(gone[0]["id_proceso"])

    ids = [i["id_ejecucion"] for i in gone]
    marks = ", ".join(["%s"] * len(ids))
    for table in ALL_ROW_TABLES:
        assert count(conn, f"SELECT COUNT(*) FROM {table} WHERE ID_Ejecucion IN ({marks})", ids) == 0, table
    for table in ("logs.Ejecuciones", "logs.Ejecucion_Fondos", "logs.Ejecucion_Etapas"):
        assert count(conn, f"SELECT COUNT(*) FROM {table} WHERE ID_Ejecucion IN ({marks})", ids) == 0, table
    assert count(conn, "SELECT COUNT(*) FROM logs.Procesos WHERE ID_Proceso = %s", (gone[0]["id_proceso"],)) == 0
    assert {i["id_ejecucion"]: fund_fingerprints(conn, i["id_ejecucion"]) for i in keep} == kept
    assert proceso_row(conn, keep[0]["id_proceso"])["estado"] == "OK"


# --- isolation ---------------------------------------------------------------

def test_fifty_funds_in_parallel_no_deadlocks_and_same_rows_as_alone(conn, caplog, monkeypatch):
    """The plan's isolation test: 50 funds x 2,000 positions at once, one connection each."""
    monkeypatch.setenv("FONDOS_METRICS_STATS_WAIT_S", STATS_WAIT)  # counting deadlocks: let backends flush them
    seed(50, 2000)
    items = start("isolation-parallel")
    before = lock_counters(conn)
    with caplog.at_level(logging.WARNING, logger="fondos.db.calls"):
        outcomes = run_all(items, workers=50)
    counters = delta(before, lock_counters(conn))
    assert all(set(o.values()) <= {"OK", "OMITIDO"} for o in outcomes.values()), outcomes
    assert counters["deadlocks"] == 0, counters
    if conn.dialect == "mssql":  # PostgreSQL has no lock-timeout counter; its deadlock count is checked above
        assert counters["lock_timeouts"] == 0 and counters["lock_escalations"] == 0, counters
    assert not [r for r in caplog.records if "transient database error" in r.getMessage()]
    parallel = {i["id_fund"]: fund_fingerprints(conn, i["id_ejecucion"]) for i in items}
    written = conn.execute("SELECT SUM(Filas) AS n FROM logs.vw_Ejecucion_Etapas WHERE ID_Proceso = %s",
                           (items[0]["id_proceso"],))[0]["n"]
    print(f"\nisolation: 50 funds x 2,000 positions in parallel, {written} rows written by the stages, "
          f"server counters {counters}")
    assert sum(fp["extract.IPA"][0] for fp in parallel.values()) == 50 * 2000
    proceso.cerrar_proceso(items[0]["id_proceso"])

    alone = start("isolation-alone")  # the same funds, one after another
    run_all(alone, workers=1)
    for item in alone:
        assert fund_fingerprints(conn, item["id_ejecucion"]) == parallel[item["id_fund"]], item["id_fund"]


def test_stage_catalog_is_consistent():
    assert stage_order() == ["IPA", "CAPM", "Derivados", "UBS", "PNL"]
    for stage in STAGES.values():
        assert all(u in STAGES for u in stage.upstream)
        assert all(step.params[:3] == ("ID_Ejecucion", "FechaReporte", "ID_Fund") for step in stage.steps)
    assert STAGES["IPA"].steps[1].procedure == "staging.IPA_01_RescatarLocalPrice_v2"
    assert STAGES["IPA"].steps[1].params == ("ID_Ejecucion", "FechaReporte", "ID_Fund", "Portfolio_Geneva")


def test_fingerprint_helper_ignores_only_the_ejecucion_id(conn):
    seed(1, 5)
    item = start("fp")[0]
    proceso.ejecutar_etapa(item, "IPA")
    n, h = fund_rows_fingerprint(conn, "extract.IPA", item["id_ejecucion"])
    assert n == 5
    conn.execute("UPDATE extract.IPA SET Cantidad = Cantidad + 1 WHERE ID_Ejecucion = %s AND ID_Instrumento = "
                 "(SELECT MIN(ID_Instrumento) FROM extract.IPA WHERE ID_Ejecucion = %s)",
                 (item["id_ejecucion"], item["id_ejecucion"]))
    assert fund_rows_fingerprint(conn, "extract.IPA", item["id_ejecucion"]) != (n, h)


def test_a_mapped_task_reads_the_same_item_the_proceso_was_created_with(conn):
    """crear_proceso hands each mapped task only its ID_Ejecucion (a list of ids in XCom, ~18 bytes a fund
    instead of ~330); the task reads the rest from logs.vw_Ejecucion_Fondos, and it must be the same item."""

    seed(4, 5)
    items = start("items-por-id")
    assert [proceso.item_de_ejecucion(it["id_ejecucion"]) for it in items] == items
    assert any(len(it["etapas"]) < 5 for it in items)  # an OMITIDO stage is read back as not applicable
    run_all(items)  # a later stage reads it after the earlier ones changed the fund's row: still the same
    assert [proceso.item_de_ejecucion(it["id_ejecucion"]) for it in items] == items
    with pytest.raises(DataError, match="is not an ejecución of procesos_diarios"):
        proceso.item_de_ejecucion(42)
