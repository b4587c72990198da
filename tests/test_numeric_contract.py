"""One numeric contract for both engines (issue 10): every stored amount has one rounding point, computed
from exact operands. The values here are chosen where rounding twice shows (the 5th-7th decimals of the
unrounded amount are 4, 9 and >= 5, so rounding at 6 decimals first would flip the 4th): the database must
equal the exact decimal computation, written here independently with Python's decimal module.

SQL Server cannot run here; its twin gets the same contract through explicit casts (see each procedure's
header). On PostgreSQL NUMERIC arithmetic is exact, so these tests prove the formulas and rounding points."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal, getcontext

import pytest

from fondos.db.connection import database
from fondos.pipeline import proceso
from pipeline_helpers import FECHA, start

getcontext().prec = 60
FUND = 901
PORTFOLIO, CAPM = "NUMERIC01", "NUMCAPM01"
RATES = {"USD": Decimal("1"), "CLP": Decimal("0.00105123"), "EUR": Decimal("1.08421377")}


def r(value: Decimal, places: int) -> Decimal:
    """SQL's ROUND(x, n) on NUMERIC/DECIMAL: half away from zero."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def tipo_cambio(local: str, base: str) -> Decimal:
    return r(RATES[local] / RATES[base], 8)


def flips(exact: Decimal) -> bool:
    """Rounding at 6 decimals first would give another 4-decimal result."""
    return r(r(exact, 6), 4) != r(exact, 4)


def _stressing_positions(n: int) -> list[tuple[str, str, Decimal, Decimal]]:
    """(instrument, currency, quantity, price) whose base value is a double-rounding trap."""
    rng = random.Random(20260313)
    found = []
    while len(found) < n:
        ccy = rng.choice(["USD", "EUR", "CLP"])
        qty = Decimal(rng.randint(1, 9_999_999)).scaleb(-4) * rng.choice([1, 100, 10_000])
        px = Decimal(rng.randint(1, 999_999_999)).scaleb(-6)
        local = r(qty * px, 4)
        if flips(local * tipo_cambio(ccy, "CLP")) and flips(qty * px * tipo_cambio(ccy, "CLP")):
            found.append((f"NUM{len(found):04d}", ccy, qty, px))
    return found


@pytest.fixture
def numeric_fund(db):
    positions = _stressing_positions(25)
    cash = [("USD", Decimal("1234567.8912")), ("EUR", Decimal("-987654.3219"))]
    flows = [("MOV1", "SUSCRIPCION", Decimal("333333.3333")), ("MOV2", "RESCATE", Decimal("777777.7777"))]
    with database(autocommit=True) as c:
        c.execute("INSERT INTO config.Fondos (ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM, Moneda_Base) "
                  "VALUES (%s, %s, %s, %s, %s)", (FUND, "FONDO NUMERICO", PORTFOLIO, CAPM, "CLP"))
        for ccy, rate in RATES.items():
            c.execute("INSERT INTO source.TiposCambio (FechaReporte, Moneda, TipoCambio) VALUES (%s, %s, %s)",
                      (FECHA, ccy, rate))
        for ins, ccy, qty, px in positions:
            c.execute("INSERT INTO source.Geneva_Posiciones (FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, "
                      "Moneda, Cantidad, CostoLocal) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                      (FECHA, PORTFOLIO, ins, "RV", ccy, qty, Decimal(1)))
            c.execute("INSERT INTO source.Geneva_Precios (FechaReporte, ID_Instrumento, Moneda, Precio) "
                      "VALUES (%s, %s, %s, %s)", (FECHA, ins, ccy, px))
        for ccy, amount in cash:
            c.execute("INSERT INTO source.Geneva_Caja (FechaReporte, Portfolio, Moneda, Saldo) VALUES (%s, %s, %s, %s)",
                      (FECHA, PORTFOLIO, ccy, amount))
        for mov, tipo, amount in flows:
            c.execute("INSERT INTO source.CAPM_Movimientos (FechaReporte, Portfolio, ID_Movimiento, TipoMovimiento, "
                      "Moneda, Monto) VALUES (%s, %s, %s, %s, %s, %s)", (FECHA, CAPM, mov, tipo, "EUR", amount))
    item = start("numeric", fondos=[FUND])[0]
    return item, positions, cash, flows


def test_position_values_equal_the_exact_decimal_contract(numeric_fund):
    item, positions, _, _ = numeric_fund
    assert proceso.ejecutar_etapa(item, "IPA")["estado"] == "OK"
    with database(autocommit=True) as c:
        rows = {x["id_instrumento"]: x for x in c.execute(
            "SELECT ID_Instrumento, PrecioLocal, ValorMercadoLocal, TipoCambio, ValorMercadoBase "
            "FROM staging.IPA_WorkTable WHERE ID_Ejecucion = %s", (item["id_ejecucion"],))}
    assert len(rows) == len(positions)
    for ins, ccy, qty, px in positions:
        local = r(qty * px, 4)
        tc = tipo_cambio(ccy, "CLP")
        got = rows[ins]
        assert (got["preciolocal"], got["valormercadolocal"], got["tipocambio"]) == (px, local, tc), ins
        assert got["valormercadobase"] == r(local * tc, 4), (
            f"fund {FUND} {ins}: expected {r(local * tc, 4)}, got {got['valormercadobase']}")


def test_cash_and_flows_equal_the_exact_decimal_contract(numeric_fund):
    item, _, cash, flows = numeric_fund
    assert proceso.ejecutar_etapa(item, "IPA")["estado"] == "OK"
    assert proceso.ejecutar_etapa(item, "CAPM")["estado"] == "OK"
    with database(autocommit=True) as c:
        saldo = {x["moneda"]: x["saldobase"] for x in c.execute(
            "SELECT Moneda, SaldoBase FROM staging.IPA_Cash WHERE ID_Ejecucion = %s", (item["id_ejecucion"],))}
        montos = {x["id_movimiento"]: (x["montolocal"], x["montobase"]) for x in c.execute(
            "SELECT ID_Movimiento, MontoLocal, MontoBase FROM staging.CAPM_WorkTable WHERE ID_Ejecucion = %s",
            (item["id_ejecucion"],))}
    assert saldo == {ccy: r(amount * tipo_cambio(ccy, "CLP"), 4) for ccy, amount in cash}
    signed = {mov: (-amount if tipo == "RESCATE" else amount) for mov, tipo, amount in flows}
    assert montos == {mov: (v, r(v * tipo_cambio("EUR", "CLP"), 4)) for mov, v in signed.items()}


def test_weights_follow_the_guard_on_a_short_heavy_fund(db):
    """Fund 107 (every 7th demo fund) holds an overdraft of about 98 % of its positions: its IPA must end OK,
    and each weight be ROUND(100 x line / net assets, 6), or NULL where the line is 9+ times the net assets."""
    from pipeline_helpers import seed

    seed(7, 40)
    item = next(it for it in start("short-heavy") if it["id_fund"] == 107)
    assert proceso.ejecutar_etapa(item, "IPA")["estado"] == "OK"
    with database(autocommit=True) as c:
        lines = c.execute("SELECT Linea, ValorBase, PesoPct FROM staging.IPA_Final WHERE ID_Ejecucion = %s",
                          (item["id_ejecucion"],))
    net = sum(x["valorbase"] for x in lines)
    assert 0 < net < Decimal("0.05") * sum(x["valorbase"] for x in lines if x["valorbase"] > 0)
    for x in lines:
        expected = r(100 * x["valorbase"] / net, 6) if abs(x["valorbase"]) < 9 * net else None
        assert x["pesopct"] == expected, (x["linea"], x["valorbase"], net)
    assert any(x["pesopct"] is None for x in lines) and any(x["pesopct"] is not None for x in lines)


def test_the_stressing_values_really_stress():
    """The chosen positions are traps: rounding at 6 decimals first changes every one of them."""
    for _, ccy, qty, px in _stressing_positions(25):
        assert flips(r(qty * px, 4) * tipo_cambio(ccy, "CLP"))
