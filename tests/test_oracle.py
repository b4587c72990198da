"""The tests prove the numbers (issue 11): every figure every stage writes equals the independent oracle
(tests/oracle.py), value by value, on a fund a person can check on paper, on every demo fund, and on random
funds made per run with values that stress rounding. A failure names fund, table, key, field, expected and
actual value."""

from __future__ import annotations

import os
import random
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest

from fondos.db.connection import database
from oracle_check import differences, expected, fuentes
from pipeline_helpers import FECHA, run_all, seed, start

D = Decimal


@pytest.fixture
def conn(db):
    with database(autocommit=True) as c:
        yield c


def _insert_fund(c, fund: int, base: str, derivados: bool = True, ubs: bool = True) -> dict:
    codes = {"geneva": f"PAPER{fund}", "capm": f"PCAPM{fund}", "der": f"PDER{fund}" if derivados else None,
             "ubs": f"PUBS{fund}" if ubs else None}
    c.execute("INSERT INTO config.Fondos (ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM, Portfolio_Derivados, "
              "Portfolio_UBS, Moneda_Base, Aplica_Derivados, Aplica_UBS) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
              (fund, f"FONDO PAPEL {fund}", codes["geneva"], codes["capm"], codes["der"], codes["ubs"], base,
               derivados, ubs))
    return codes


def _feed(c, table: str, columns: str, rows: list[tuple]) -> None:
    marks = ", ".join(["%s"] * len(rows[0])) if rows else ""
    for r in rows:
        c.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", r)


def _check(conn, items: list[dict], fecha: date = FECHA, context: str = "") -> None:
    problems = []
    for it in items:
        f = fuentes(conn, it["id_fund"], fecha)
        exp = expected(f, derivados="Derivados" in it["etapas"], ubs="UBS" in it["etapas"])
        problems += differences(conn, it["id_fund"], it["id_ejecucion"], exp)
    assert not problems, f"{context}{len(problems)} figure(s) differ from the oracle:\n" + "\n".join(problems[:30])


def test_a_fund_checked_on_paper(conn):
    """USD fund, EUR at 1.1: every fallback, a second currency, a short, an overdraft, a redemption, a forward,
    a custodian break each way. The figures below were worked out by hand."""
    y, old = FECHA - timedelta(days=1), FECHA - timedelta(days=3)
    c = _insert_fund(conn, 951, "USD")
    _feed(conn, "source.TiposCambio", "FechaReporte, Moneda, TipoCambio", [(FECHA, "USD", D(1)), (FECHA, "EUR", D("1.1"))])
    _feed(conn, "source.Geneva_Posiciones", "FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, Moneda, Cantidad, "
          "CostoLocal", [(FECHA, c["geneva"], "A", "RV", "USD", D(10), D(20)),    # priced today
                         (FECHA, c["geneva"], "B", "RV", "EUR", D(4), D(16)),     # gap today: 3 days ago
                         (FECHA, c["geneva"], "C", "RF", "USD", D(8), D(12)),     # never priced: unit cost 1.5
                         (FECHA, c["geneva"], "S", "RV", "USD", D(-5), D(-10))])  # a short
    _feed(conn, "source.Geneva_Precios", "FechaReporte, ID_Instrumento, Moneda, Precio",
          [(FECHA, "A", "USD", D("2.5")), (y, "A", "USD", D("2.4")), (old, "B", "EUR", D(5)),
           (FECHA, "S", "USD", D(2)), (y, "S", "USD", D("2.1"))])
    _feed(conn, "source.Geneva_Caja", "FechaReporte, Portfolio, Moneda, Saldo",
          [(FECHA, c["geneva"], "USD", D(100)), (FECHA, c["geneva"], "EUR", D(-10))])
    _feed(conn, "source.CAPM_Movimientos", "FechaReporte, Portfolio, ID_Movimiento, TipoMovimiento, Moneda, Monto",
          [(FECHA, c["capm"], "M1", "SUSCRIPCION", "USD", D(50)), (FECHA, c["capm"], "M2", "RESCATE", "USD", D(20))])
    _feed(conn, "source.Derivados_Contratos", "FechaReporte, Portfolio, ID_Contrato, Tipo_Derivado, MonedaCompra, "
          "MontoCompra, MonedaVenta, MontoVenta, FechaVencimiento",
          [(FECHA, c["der"], "F1", "FWD", "USD", D(100), "EUR", D(90), FECHA + timedelta(days=30))])
    _feed(conn, "source.UBS_Custodia", "FechaReporte, Cuenta, ID_Instrumento, Cantidad",
          [(FECHA, c["ubs"], "A", D(10)), (FECHA, c["ubs"], "B", D(4)), (FECHA, c["ubs"], "S", D(-5)),
           (FECHA, c["ubs"], "Z", D(7))])
    items = start("paper", fondos=[951])
    assert run_all(items)[951] == {s: "OK" for s in ("IPA", "CAPM", "Derivados", "UBS", "PNL")}

    # by hand: A 25, B 4 x 5 x 1.1 = 22, C 8 x 1.5 = 12, S -10, cash 100 and -11: net assets 138
    rows = {(r["tipo_linea"], r["linea"]): r for r in conn.execute(
        "SELECT * FROM staging.IPA_Final WHERE ID_Ejecucion = %s", (items[0]["id_ejecucion"],))}
    assert {k: r["valorbase"] for k, r in rows.items()} == {
        ("POSICION", "A"): D("25.0000"), ("POSICION", "B"): D("22.0000"), ("POSICION", "C"): D("12.0000"),
        ("POSICION", "S"): D("-10.0000"), ("CAJA", "CAJA-USD"): D("100.0000"), ("CAJA", "CAJA-EUR"): D("-11.0000")}
    assert rows[("POSICION", "A")]["pesopct"] == D("18.115942")  # 25 / 138
    precios = {r["id_instrumento"]: r["fuenteprecio"] for r in conn.execute(
        "SELECT ID_Instrumento, FuentePrecio FROM staging.IPA_Precios WHERE ID_Ejecucion = %s", (items[0]["id_ejecucion"],))}
    assert precios == {"A": "MERCADO", "B": "ANTERIOR", "C": "COSTO", "S": "MERCADO"}
    capm = conn.execute("SELECT * FROM staging.CAPM_Final WHERE ID_Ejecucion = %s", (items[0]["id_ejecucion"],))[0]
    assert (capm["suscripciones"], capm["rescates"], capm["flujoneto"]) == (D(50), D(-20), D(30))
    der = conn.execute("SELECT * FROM staging.Derivados_Final WHERE ID_Ejecucion = %s", (items[0]["id_ejecucion"],))[0]
    assert (der["valorrazonablebase"], der["exposicionpct"]) == (D(1), D("72.463768"))  # 100 - 99; 100 / 138
    ubs = conn.execute("SELECT * FROM staging.UBS_Final WHERE ID_Ejecucion = %s", (items[0]["id_ejecucion"],))[0]
    assert (ubs["numinstrumentos"], ubs["numquiebres"]) == (5, 2)  # C only in accounting, Z only at the custodian
    pnl = conn.execute("SELECT * FROM staging.PNL_Final WHERE ID_Ejecucion = %s", (items[0]["id_ejecucion"],))[0]
    # A: 10 x 0.1 = 1; S: -5 x -0.1 = 0.5; B and C: 0. Opening: 139 - 1.5 - 30 = 107.5 -> 1.5 / 107.5
    assert (pnl["resultadobase"], pnl["patrimoniobase"], pnl["rentabilidadpct"]) == (D("1.5"), D(139), D("1.395349"))
    _check(conn, items)


def test_every_demo_fund_matches_the_oracle(conn):
    seed(14, 40)  # all fund shapes: no derivatives (104, 108, 112), no custodian (105, 110), short-heavy (107, 114)
    items = start("demo-oracle")
    run_all(items, workers=4)
    _check(conn, items)


def _random_fund(c, rng: random.Random, fund: int, fecha: date) -> None:
    """Amounts of every size that fit the columns (DECIMAL(19,4) in base currency too: beyond, the database
    refuses with a numeric overflow, which is right, and a separate concern)."""
    base = rng.choice(["USD", "CLP", "EUR"])
    codes = _insert_fund(c, fund, base, derivados=rng.random() < 0.7, ubs=rng.random() < 0.7)
    held = []
    for k in range(rng.randint(1, 25)):
        ins, ccy = f"R{fund}-{k:03d}", rng.choice(list(RATES))
        # within the columns' range once converted: |local| < 10^10, and x 40,000 (CLF in CLP) < 10^15
        qty = D(rng.randint(-10**9, 10**10)).scaleb(-4)
        held.append(ins)
        _feed(c, "source.Geneva_Posiciones", "FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, Moneda, "
              "Cantidad, CostoLocal", [(fecha, codes["geneva"], ins, "RV", ccy, qty, D(rng.randint(0, 10**12)).scaleb(-4))])
        for back in sorted(rng.sample(range(0, 12), rng.randint(0, 3))):
            _feed(c, "source.Geneva_Precios", "FechaReporte, ID_Instrumento, Moneda, Precio",
                  [(fecha - timedelta(days=back), ins, ccy, D(rng.randint(1, 10**10)).scaleb(-6))])
    _feed(c, "source.Geneva_Caja", "FechaReporte, Portfolio, Moneda, Saldo",
          [(fecha, codes["geneva"], ccy, D(rng.randint(-10**12, 10**12)).scaleb(-4))
           for ccy in rng.sample(list(RATES), rng.randint(0, 3))])
    _feed(c, "source.CAPM_Movimientos", "FechaReporte, Portfolio, ID_Movimiento, TipoMovimiento, Moneda, Monto",
          [(fecha, codes["capm"], f"M{k}", rng.choice(["SUSCRIPCION", "RESCATE"]), rng.choice(list(RATES)),
            D(rng.randint(-10**10, 10**10)).scaleb(-4)) for k in range(rng.randint(0, 4))])
    if codes["der"]:
        _feed(c, "source.Derivados_Contratos", "FechaReporte, Portfolio, ID_Contrato, Tipo_Derivado, MonedaCompra, "
              "MontoCompra, MonedaVenta, MontoVenta, FechaVencimiento",
              [(fecha, codes["der"], f"F{k}", "FWD", rng.choice(list(RATES)), D(rng.randint(1, 10**10)).scaleb(-4),
                rng.choice(list(RATES)), D(rng.randint(1, 10**10)).scaleb(-4), fecha + timedelta(days=rng.randint(1, 400)))
               for k in range(rng.randint(0, 4))])
    if codes["ubs"]:
        rows = [(fecha, codes["ubs"], ins, D(rng.randint(-10**9, 10**11)).scaleb(-4)) for ins in held
                if rng.random() < 0.8] + [(fecha, codes["ubs"], f"X{fund}", D(1))]
        _feed(c, "source.UBS_Custodia", "FechaReporte, Cuenta, ID_Instrumento, Cantidad", rows)


RATES = {"USD": D(1), "EUR": D("1.08421377"), "CLP": D("0.00105123"), "CLF": D("41.87654321"), "BRL": D("0.18734567")}


def test_random_funds_made_for_this_run_match_the_oracle(conn):
    run_seed = int(os.environ.get("FONDOS_ORACLE_SEED", time.time_ns() % 10**9))
    rng = random.Random(run_seed)
    for ccy, rate in RATES.items():
        _feed(conn, "source.TiposCambio", "FechaReporte, Moneda, TipoCambio", [(FECHA, ccy, rate)])
    funds = list(range(961, 967))
    for fund in funds:
        _random_fund(conn, rng, fund, FECHA)
    items = start("random-oracle", fondos=funds)
    run_all(items)
    _check(conn, items, context=f"random data, FONDOS_ORACLE_SEED={run_seed}: ")
