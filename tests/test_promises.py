"""Promises the README makes that no other test checked (issue 11's audit)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest

from fondos import cli
from fondos.db.calls import call
from fondos.db.connection import database
from fondos.errors import DataError
from fondos.pipeline import proceso
from fondos.pipeline.stages import STAGES
from legacy_data import table_fingerprint
from pipeline_helpers import ALL_ROW_TABLES, FECHA, run_all, seed, start

STEPS = [(stage.name, step) for stage in STAGES.values() for step in stage.steps]


@pytest.fixture
def conn(db):
    with database(autocommit=True) as c:
        yield c


@pytest.mark.parametrize("etapa, step", STEPS, ids=[s.procedure for _, s in STEPS])
def test_every_step_refuses_an_ejecucion_of_another_date(conn, etapa, step):
    seed(1, 5)
    item = start(f"wrong-date-{step.procedure}")[0]
    params = {p: (FECHA - timedelta(days=1) if p == "FechaReporte" else item[p.lower()]) for p in step.params}
    with pytest.raises(DataError, match=rf"ID_Ejecucion {item['id_ejecucion']} is not the ejecución of fund 101"):
        call(conn, step.procedure, params)
    assert all(conn.execute(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] == 0 for t in ALL_ROW_TABLES)


def test_a_rolled_back_fund_has_every_applicable_stage_pendiente_again(conn, capsys):
    seed(4, 10)
    items = start("revert-states")
    run_all(items)
    fund_104 = next(it for it in items if it["id_fund"] == 104)  # no derivatives: OMITIDO stays OMITIDO
    code = cli.main(["proceso", "revertir", "--ejecucion", str(fund_104["id_ejecucion"])])
    assert code == 0 and "rows deleted, stages back to PENDIENTE" in capsys.readouterr().out
    states = {r["etapa"]: (r["estado"], r["filas"], r["fechainicio"]) for r in conn.execute(
        "SELECT Etapa, Estado, Filas, FechaInicio FROM logs.vw_Ejecucion_Etapas WHERE ID_Ejecucion = %s",
        (fund_104["id_ejecucion"],))}
    assert states == {"IPA": ("PENDIENTE", None, None), "CAPM": ("PENDIENTE", None, None),
                      "PNL": ("PENDIENTE", None, None), "UBS": ("PENDIENTE", None, None),
                      "Derivados": ("OMITIDO", None, states["Derivados"][2])}
    assert all(conn.execute(f"SELECT COUNT(*) AS n FROM {t} WHERE ID_Ejecucion = %s",
                            (fund_104["id_ejecucion"],))[0]["n"] == 0 for t in ALL_ROW_TABLES)


def test_every_demo_fund_with_a_custodian_shows_exactly_its_three_breaks(conn):
    seed(6, 20)
    items = start("three-breaks")
    run_all(items)
    breaks = {r["id_fund"]: (r["numquiebres"], r["estados"]) for r in conn.execute(
        "SELECT e.ID_Fund, f.NumQuiebres, (SELECT STRING_AGG(r.Estado_Conciliacion, ',' ORDER BY r.Estado_Conciliacion) "
        "FROM staging.UBS_Reconciliacion AS r WHERE r.ID_Ejecucion = e.ID_Ejecucion "
        "AND r.Estado_Conciliacion <> 'CUADRA') AS estados "
        "FROM staging.UBS_Final AS f JOIN logs.Ejecuciones AS e ON e.ID_Ejecucion = f.ID_Ejecucion")}
    assert breaks == {f: (3, "DIFERENCIA,SOLO_CONTABLE,SOLO_CUSTODIO") for f in (101, 102, 103, 104, 106)}  # 105: none


def test_extract_and_staging_are_keyed_by_ejecucion_and_steps_avoid_nested_loops(migrated_pg_db):
    """PostgreSQL: 017's indexes lead with ID_Ejecucion on all 19 tables; every step runs with enable_nestloop off."""
    with database(autocommit=True) as conn:
        leading = {r["t"]: r["c"] for r in conn.execute(
            "SELECT n.nspname || '.' || c.relname AS t, a.attname AS c FROM pg_index AS i "
            "JOIN pg_class AS x ON x.oid = i.indexrelid JOIN pg_class AS c ON c.oid = i.indrelid "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
            "WHERE x.relname LIKE 'cix\\_%%' AND n.nspname IN ('extract', 'staging')")}
        assert leading == {t.lower(): "id_ejecucion" for t in ALL_ROW_TABLES}
        config = {r["f"]: r["cfg"] for r in conn.execute(
            "SELECT n.nspname || '.' || p.proname AS f, p.proconfig AS cfg FROM pg_proc AS p "
            "JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname IN ('extract', 'staging')")}
        assert set(config) == {s.procedure.lower() for _, s in STEPS}
        assert all("enable_nestloop=off" in cfg for cfg in config.values()), config


def test_demo_data_is_the_same_from_any_process(conn):
    """`python -m fondos_dev demo seed` in two processes with different hash seeds writes byte-identical feeds."""
    tables = ["config.Fondos", "source.Geneva_Posiciones", "source.Geneva_Precios", "source.Geneva_Caja",
              "source.TiposCambio", "source.CAPM_Movimientos", "source.Derivados_Contratos", "source.UBS_Custodia"]
    fingerprints = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, "-m", "fondos_dev", "demo", "seed", "--fecha", FECHA.isoformat(),
                              "--fondos", "5", "--posiciones", "30"], env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0 and out.stdout.startswith(f"demo data for {FECHA}: config.Fondos 5"), out
        fingerprints.append({t: table_fingerprint(conn, t) for t in tables})
    assert fingerprints[0] == fingerprints[1]
    assert fingerprints[0]["source.Geneva_Posiciones"][0] == 5 * 30


def test_cli_eliminar_deletes_one_proceso_and_says_how_many_rows(conn, capsys):
    seed(2, 5)
    items = start("cli-eliminar")
    run_all(items)
    written = sum(conn.execute(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in ALL_ROW_TABLES)
    assert cli.main(["proceso", "eliminar", "--id", str(items[0]["id_proceso"])]) == 0
    assert f"proceso {items[0]['id_proceso']}: deleted with its ejecuciones and {written} extract/staging rows" \
        in capsys.readouterr().out
    assert conn.execute("SELECT COUNT(*) AS n FROM logs.vw_Procesos")[0]["n"] == 0
    assert proceso.proceso_de_clave("cli-eliminar") is None


def test_the_summary_an_operator_reads_names_each_failure_and_note(conn):
    from fondos.pipeline.report import format_proceso

    seed(3, 5)
    items = start("summary")
    conn.execute("DELETE FROM source.Geneva_Posiciones WHERE Portfolio = %s", ("LAFID002",))
    with database(autocommit=True) as c:  # fund 103's first IPA attempt was killed after it started
        call(c, "logs.sp_Actualizar_Estado_Etapa",
             {"ID_Ejecucion": items[2]["id_ejecucion"], "Etapa": "IPA", "Estado": "EN_PROGRESO"})
    run_all(items)
    text = format_proceso(proceso.cerrar_proceso(items[0]["id_proceso"]))
    lines = text.splitlines()
    assert lines[0] == f"proceso {items[0]['id_proceso']}  fecha 2026-03-13  estado ERROR  fondos 3  OK 2  ERROR 1"
    # columns two spaces apart: ID_Ejecucion, fund, short name, estado, the five stages, checks, published (030)
    table = {cells[1]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines
                                           if line[:1].isdigit() and len(line.split()) > 5)}
    assert table["102"][3:] == ["ERROR", "ERROR", "pend", "pend", "pend", "pend", "-", "no"]  # failed: no checks
    assert table["101"][3] == "OK" and table["103"][3] == "OK" and table["101"][9] != "-"
    errors = lines[lines.index("errors:") + 1:lines.index("notes:") - 1]  # a blank line before "notes:"
    assert len(errors) == 1 and errors[0].startswith("  fund 102 IPA: IPA failed for fund 102") \
        and "source.Geneva_Posiciones" in errors[0]
    notes = lines[lines.index("notes:") + 1:]
    assert len(notes) == 1 and notes[0].startswith("  fund 103 IPA: attempt 1 was interrupted")


def test_a_fund_with_a_stage_in_flight_cannot_be_reverted_or_its_proceso_deleted(conn):
    seed(2, 5)
    items = start("in-flight")
    run_all(items[:1])
    call(conn, "logs.sp_Actualizar_Estado_Etapa",  # fund 102's IPA started (or its task died)
         {"ID_Ejecucion": items[1]["id_ejecucion"], "Etapa": "IPA", "Estado": "EN_PROGRESO"})
    before = {t: table_fingerprint(conn, t) for t in ALL_ROW_TABLES}
    with pytest.raises(DataError, match=rf"revertir refused: stage IPA of ID_Ejecucion {items[1]['id_ejecucion']} "
                                        r"is EN_PROGRESO .* nothing was changed"):
        proceso.revertir_ejecucion(items[1]["id_ejecucion"])
    with pytest.raises(DataError, match=rf"eliminar refused: proceso {items[0]['id_proceso']} has 1 stage\(s\) "
                                        r"EN_PROGRESO or REINTENTANDO"):
        proceso.eliminar_proceso(items[0]["id_proceso"])
    assert {t: table_fingerprint(conn, t) for t in ALL_ROW_TABLES} == before


def test_an_attempt_whose_fund_was_reverted_meanwhile_does_not_record_ok(conn):
    seed(1, 5)
    item = start("reverted-meanwhile")[0]
    call(conn, "logs.sp_Actualizar_Estado_Etapa",
         {"ID_Ejecucion": item["id_ejecucion"], "Etapa": "CAPM", "Estado": "EN_PROGRESO"})
    call(conn, "logs.sp_Actualizar_Estado_Etapa",  # the operator closed the proceso while CAPM ran
         {"ID_Ejecucion": item["id_ejecucion"], "Etapa": "CAPM", "Estado": "ERROR", "Filas": None, "Mensaje": "closed"})
    with pytest.raises(DataError, match="stage CAPM of ID_Ejecucion .* is ERROR, not EN_PROGRESO: this attempt's OK "
                                        "is not recorded"):
        call(conn, "logs.sp_Actualizar_Estado_Etapa",
             {"ID_Ejecucion": item["id_ejecucion"], "Etapa": "CAPM", "Estado": "OK", "Filas": 3, "Mensaje": None})
    assert conn.execute("SELECT Estado FROM logs.vw_Ejecucion_Etapas WHERE ID_Ejecucion = %s AND Etapa = 'CAPM'",
                        (item["id_ejecucion"],))[0]["estado"] == "ERROR"
