"""Funds moved over gradually (migration 028): the DAG maps only the funds switched to v3, the legacy
writer's funds stay untouched, and a fund whose day runs cannot be moved."""

from __future__ import annotations

import itertools
import re
import threading
import time
from datetime import date, datetime, timedelta

import pytest

from conftest import fresh_dag
from fondos import cli
from fondos.db.backup import BackupPlan
from fondos.db.connection import database, open_database
from fondos.db.migrate import migrate
from fondos.errors import DataError, InvalidInput
from fondos.pipeline import arquitectura
from legacy_data import table_fingerprint
from pipeline_helpers import ALL_ROW_TABLES, FECHA, fund_fingerprints, run_all, seed, start

FONDOS = list(range(101, 111))
_SEQ = itertools.count()
NUEVOS = [102, 105, 107, 110]


def _cli(capsys, *argv) -> tuple[int, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def _arquitecturas(db) -> dict[int, str]:
    rows = db.execute("SELECT ID_Fund, Arquitectura FROM config.Fondos ORDER BY ID_Fund")
    db.commit()
    return {r["id_fund"]: r["arquitectura"] for r in rows}


def _legacy_run_for(db, funds: list[int], fecha: date, estado: str = "OK", inicio: datetime | None = None) -> int:
    """What the legacy writer leaves for its funds: one shared id, fund rows, extract rows by portfolio."""
    v2_id = int((inicio or datetime.now()).timestamp() * 1000) + next(_SEQ)  # two runs in one ms stay apart
    db.execute("INSERT INTO logs.Ejecuciones (ID_Ejecucion, FechaReporte, Estado, Usuario, TotalFondos, FechaInicio) "
               "VALUES (%s, %s, %s, %s, %s, %s)", (v2_id, fecha, estado, "node-backend", len(funds),
                                                   inicio or datetime.now()))
    for k in funds:
        pf = db.execute("SELECT Portfolio_Geneva FROM config.Fondos WHERE ID_Fund = %s", (k,))[0]["portfolio_geneva"]
        db.execute("INSERT INTO logs.Ejecucion_Fondos (ID_Ejecucion, ID_Fund, FundShortName, Portfolio_Geneva, "
                   "Estado_Process_IPA) VALUES (%s, %s, %s, %s, %s)", (v2_id, k, f"FONDO {k}", pf, "OK"))
        db.execute("INSERT INTO extract.IPA (ID_Ejecucion, FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, "
                   "Moneda, Cantidad, CostoLocal) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                   (v2_id, fecha, pf, "INS1", "RV", "USD", 1, 1))
    db.commit()
    return v2_id


def test_a_ten_fund_day_with_four_switched_runs_those_four_and_leaves_the_six_untouched(fund_db, capsys):
    seed(10, 10)
    code, out = _cli(capsys, "fondos", "arquitectura", "v2", *map(str, FONDOS))
    assert code == 0 and "10 fund(s) moved to v2" in out
    code, out = _cli(capsys, "fondos", "arquitectura", "v3", *map(str, NUEVOS))
    assert code == 0 and "4 fund(s) moved to v3 (procesos_diarios), 0 already there" in out
    assert re.search(r"^\s+102\s+.*\bv2 -> v3$", out, re.M) and not re.search(r"^\s+101\s", out, re.M)
    legacy_six = [k for k in FONDOS if k not in NUEVOS]
    v2_id = _legacy_run_for(fund_db, legacy_six, FECHA)
    fondos_before = table_fingerprint(fund_db, "config.Fondos")
    legacy_before = fund_fingerprints(fund_db, v2_id, [*ALL_ROW_TABLES, "logs.Ejecucion_Fondos"])
    run_before = fund_db.execute("SELECT * FROM logs.Ejecuciones WHERE ID_Ejecucion = %s", (v2_id,))
    fund_db.commit()

    dr = fresh_dag().test(run_conf={"fecha": FECHA.isoformat()})

    assert dr.state == "success"
    mapped = sorted(ti.map_index for ti in dr.get_task_instances() if ti.task_id == "procesar_fondo.ipa")
    assert mapped == [0, 1, 2, 3]
    p = fund_db.execute("SELECT ID_Proceso, Estado, TotalFondos, FondosExitosos, FondosLegado FROM logs.vw_Procesos "
                        "WHERE NOT Legado")[0]
    assert (p["estado"], p["totalfondos"], p["fondosexitosos"], p["fondoslegado"]) == ("OK", 4, 4, 6)
    run = fund_db.execute("SELECT ID_Fund FROM logs.Ejecuciones WHERE ID_Proceso = %s ORDER BY ID_Fund",
                          (p["id_proceso"],))
    assert [r["id_fund"] for r in run] == NUEVOS
    # the six: no ejecución of the new pipeline, and their legacy rows exactly as they were
    assert fund_db.execute("SELECT COUNT(*) AS n FROM logs.Ejecuciones WHERE ID_Fund = ANY(%s)",
                           (legacy_six,))[0]["n"] == 0
    assert table_fingerprint(fund_db, "config.Fondos") == fondos_before
    assert fund_fingerprints(fund_db, v2_id, [*ALL_ROW_TABLES, "logs.Ejecucion_Fondos"]) == legacy_before
    assert fund_db.execute("SELECT * FROM logs.Ejecuciones WHERE ID_Ejecucion = %s", (v2_id,)) == run_before
    assert legacy_before["extract.IPA"][0] == len(legacy_six)  # the fingerprint saw the legacy rows
    [crear] = [ti for ti in dr.get_task_instances() if ti.task_id == "crear_proceso"]
    ids = [r["id_ejecucion"] for r in fund_db.execute(
        "SELECT ID_Ejecucion FROM logs.Ejecuciones WHERE ID_Proceso = %s ORDER BY ID_Fund", (p["id_proceso"],))]
    assert crear.xcom_pull(task_ids="crear_proceso") == ids  # each mapped task receives only its fund's id
    fund_db.commit()
    code, out = _cli(capsys, "proceso", "estado", "--id", str(p["id_proceso"]))
    assert "architecture: 4 fund(s) on v3 (this proceso), 6 active with the legacy writer (v2)" in out
    from fondos.web import lectura

    with database(autocommit=True) as c:  # what the API answers and the board shows
        assert (lectura.proceso(c, p["id_proceso"])["fondoslegado"], lectura.proceso(c, p["id_proceso"])["totalfondos"]) \
            == (6, 4)
    code, out = _cli(capsys, "fondos", "lista")
    assert "10 fund(s): 4 active on v3 (procesos_diarios), 6 active on v2 (the legacy writer)" in out
    legado = fund_db.execute("SELECT ID_Fund FROM config.vw_Fondos_Legado ORDER BY ID_Fund")
    assert [r["id_fund"] for r in legado] == legacy_six


def test_a_fund_whose_day_runs_is_not_moved_and_nothing_of_the_list_changes(db, capsys):
    seed(3, 5)
    items = start("arq-en-curso", fondos=[101, 102])
    before = _arquitecturas(db)
    code, out = _cli(capsys, "fondos", "arquitectura", "v2", "101", "103")  # 103 is idle, 101 runs
    assert code == 1
    assert "the day is running for fund(s) 101 (ejecución" in out and "103 (" not in out
    assert "nothing was changed" in out and "fondos proceso cerrar --id" in out
    assert _arquitecturas(db) == before  # not even the idle 103: all of the list or none
    run_all(items)
    from fondos.pipeline.proceso import cerrar_proceso

    cerrar_proceso(items[0]["id_proceso"])
    code, out = _cli(capsys, "fondos", "arquitectura", "v2", "101", "103")
    assert code == 0 and "2 fund(s) moved to v2" in out
    assert _arquitecturas(db) == {101: "v2", 102: "v3", 103: "v2"}
    assert items[0]["id_fund"] == 101
    row = db.execute("SELECT ArquitecturaUsuario, ArquitecturaDesde FROM config.Fondos WHERE ID_Fund = 101")[0]
    assert row["arquitecturausuario"] and row["arquitecturadesde"] > datetime.now() - timedelta(minutes=5)
    db.commit()


def test_a_stage_still_running_beside_a_failed_one_blocks_the_fund(db):
    """An ejecución turns ERROR at its first failed stage while sibling stages still run: still its day."""
    seed(6, 5)
    items = start("arq-hermana")
    item = next(it for it in items if "Derivados" in it["etapas"])
    from fondos.pipeline.proceso import _registrar

    for etapa, estado in (("IPA", "EN_PROGRESO"), ("IPA", "OK"), ("Derivados", "EN_PROGRESO"),
                          ("Derivados", "ERROR"), ("CAPM", "EN_PROGRESO")):
        _registrar(db, item, etapa, estado, mensaje="prueba" if estado == "ERROR" else None)
    estado = db.execute("SELECT Estado FROM logs.Ejecuciones WHERE ID_Ejecucion = %s", (item["id_ejecucion"],))
    db.commit()
    assert estado[0]["estado"] == "ERROR"
    with pytest.raises(DataError, match=rf"{item['id_fund']} \(stage CAPM EN_PROGRESO of ejecución"):
        arquitectura.asignar([item["id_fund"]], "v2")


def test_a_running_legacy_run_blocks_its_funds_and_a_crashed_old_one_does_not(pg_db, capsys):
    db = pg_db
    seed(3, 5)
    arquitectura.asignar([101, 102, 103], "v2")
    ahora = db.execute("SELECT LOCALTIMESTAMP(3) AS t")[0]["t"]  # the server's clock, as the procedure's
    db.commit()
    _legacy_run_for(db, [101], FECHA, estado="EN_PROGRESO", inicio=ahora - timedelta(hours=23, minutes=55))
    _legacy_run_for(db, [102], FECHA, estado="EN_PROGRESO", inicio=ahora - timedelta(hours=24, minutes=5))
    with pytest.raises(DataError, match=r"the day is running for fund\(s\) 101 \(legacy run \d+\)"):
        arquitectura.asignar([101], "v3")
    assert _arquitecturas(db)[101] == "v2"
    assert [r["actual"] for r in arquitectura.asignar([102, 103], "v3")] == ["v3", "v3"]


def test_unknown_funds_and_bad_values_are_refused_with_nothing_changed(db, capsys):
    seed(2, 5)
    before = _arquitecturas(db)
    with pytest.raises(DataError, match=r"unknown fund\(s\): 999 \(see config.Fondos\): nothing was changed"):
        arquitectura.asignar([101, 999], "v2")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["fondos", "arquitectura", "v4", "101"])
    assert exit_.value.code == 2 and "invalid choice: 'v4'" in capsys.readouterr().err
    from fondos.db.calls import call

    for args, message in ((("101", "V3"), "Arquitectura must be v2"), (("1O1", "v3"), "comma-separated list"),
                          (("", "v3"), "comma-separated list")):
        with pytest.raises(DataError, match=message):
            call(db, "config.sp_Asignar_Arquitectura", {"Fondos": args[0], "Arquitectura": args[1], "Usuario": "x"})
        db.rollback()
    assert _arquitecturas(db) == before


def test_initialisation_refuses_a_listed_v2_fund_and_a_day_with_every_fund_on_v2(db):
    seed(3, 5)
    arquitectura.asignar([102], "v2")
    with pytest.raises(InvalidInput, match=r"fund\(s\) 102 are processed by the legacy writer .* nothing was created"):
        start("arq-lista", fondos=[101, 102])
    arquitectura.asignar([101, 103], "v2")
    with pytest.raises(InvalidInput, match=r"no active funds on the new architecture .* all 3 active fund\(s\) are with "
                                        r"the legacy writer"):
        start("arq-ninguno")
    assert db.execute("SELECT COUNT(*) AS n FROM logs.Procesos")[0]["n"] == 0
    db.commit()


def test_a_switch_waits_for_an_initialisation_in_flight_and_then_sees_its_day_running(pg_db):
    """The initialisation holds the architecture lock shared until it commits; the switch takes it exclusive,
    so it waits, then finds the new ejecuciones and refuses. Without the lock it would move a fund mid-creation."""
    seed(2, 5)
    init = open_database()  # a transaction of its own, left open
    init.execute("SELECT * FROM logs.sp_Inicializar_Proceso(%s, %s, %s)", (FECHA, "pytest", "arq-carrera"))
    outcome: dict[str, object] = {}

    def switch():
        try:
            outcome["rows"] = arquitectura.asignar([101], "v2")
        except Exception as exc:  # the refusal is what this test expects
            outcome["error"] = exc

    db = pg_db
    t = threading.Thread(target=switch)
    t.start()
    deadline, waiting = time.monotonic() + 30, 0
    while time.monotonic() < deadline and not waiting and t.is_alive():
        waiting = db.execute("SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[0]["n"]
        db.commit()
        time.sleep(0.05)
    assert waiting == 1 and t.is_alive(), "the switch did not wait for the initialisation's architecture lock"
    init.commit()
    init.close()
    t.join(30)
    assert not t.is_alive()
    assert "the day is running for fund(s) 101" in str(outcome.get("error")), outcome
    assert _arquitecturas(db)[101] == "v3"


def _v3_run(db, id_fund: int, fecha: date, n: int) -> None:
    """An ejecución of procesos_diarios (new ids, >= 10^15) for one fund on a date."""
    db.execute("INSERT INTO logs.Procesos (ID_Proceso, FechaReporte, Estado, Usuario, TotalFondos) "
               "VALUES (%s, %s, 'OK', 'pytest', 1)", (10**15 + 10 * n, fecha))
    db.execute("INSERT INTO logs.Ejecuciones (ID_Ejecucion, ID_Proceso, ID_Fund, FechaReporte, Estado, Usuario, "
               "TotalFondos) VALUES (%s, %s, %s, %s, 'OK', 'pytest', 1)", (10**15 + 10 * n + 1, 10**15 + 10 * n,
                                                                            id_fund, fecha))
    db.commit()


def test_028_leaves_each_existing_fund_with_the_writer_that_processed_it_last(fresh_pg_db):
    db = open_database()
    migrate(db, target=27)
    seed(4, 5)
    db.execute("INSERT INTO config.Fondos (ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM) "
               "VALUES (105, 'NUNCA CORRIDO', 'P105', 'C105')")  # active, never processed by anyone
    hace3, ayer = FECHA - timedelta(days=3), FECHA - timedelta(days=1)
    _legacy_run_for(db, [101, 102, 103, 104], hace3)
    _v3_run(db, 101, FECHA, 1)  # legacy, then procesos_diarios: v3
    _v3_run(db, 102, hace3, 2)  # both on the legacy run's own date: procesos_diarios has it, v3
    _v3_run(db, 103, ayer, 3)   # procesos_diarios, then the legacy writer again on FECHA: v2
    _legacy_run_for(db, [103], FECHA)
    # 104: the legacy writer only: v2; 105: nobody yet: v3
    migrate(db, backup=BackupPlan.none("test copy"))
    assert _arquitecturas(db) == {101: "v3", 102: "v3", 103: "v2", 104: "v2", 105: "v3"}
    db.execute("INSERT INTO config.Fondos (ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM) "
               "VALUES (106, 'NUEVO', 'P106', 'C106')")
    db.commit()
    assert _arquitecturas(db)[106] == "v3"  # a fund added later: the new pipeline
    db.close()


def test_028_on_a_database_without_legacy_runs_puts_every_fund_on_v3(fresh_pg_db):
    db = open_database()
    migrate(db, target=27)
    seed(2, 5)
    migrate(db)
    assert _arquitecturas(db) == {101: "v3", 102: "v3"}
    db.close()
