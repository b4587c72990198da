"""The oracle's funds, shared by the oracle tests (tests/test_oracle.py) and the T-SQL differential check
(tests/test_tsql_twin.py): a fund worked out on paper, and random funds that stress rounding."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

D = Decimal


def insert_fund(c, fund: int, base: str, derivados: bool = True, ubs: bool = True) -> dict:
    codes = {"geneva": f"PAPER{fund}", "capm": f"PCAPM{fund}", "der": f"PDER{fund}" if derivados else None,
             "ubs": f"PUBS{fund}" if ubs else None}
    c.execute("INSERT INTO config.Fondos (ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM, Portfolio_Derivados, "
              "Portfolio_UBS, Moneda_Base, Aplica_Derivados, Aplica_UBS) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
              (fund, f"FONDO PAPEL {fund}", codes["geneva"], codes["capm"], codes["der"], codes["ubs"], base,
               derivados, ubs))
    return codes


def feed(c, table: str, columns: str, rows: list[tuple]) -> None:
    marks = ", ".join(["%s"] * len(rows[0])) if rows else ""
    for r in rows:
        c.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", r)


def paper_fund(c, fecha: date, fund: int = 951) -> None:
    """USD fund, EUR at 1.1: every fallback, a second currency, a short, an overdraft, a redemption, a forward,
    a custodian break each way (tests/test_oracle.py works its figures out by hand)."""
    y, old = fecha - timedelta(days=1), fecha - timedelta(days=3)
    codes = insert_fund(c, fund, "USD")
    feed(c, "source.TiposCambio", "FechaReporte, Moneda, TipoCambio", [(fecha, "USD", D(1)), (fecha, "EUR", D("1.1"))])
    feed(c, "source.Geneva_Posiciones", "FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, Moneda, Cantidad, "
          "CostoLocal", [(fecha, codes["geneva"], "A", "RV", "USD", D(10), D(20)),    # priced today
                         (fecha, codes["geneva"], "B", "RV", "EUR", D(4), D(16)),     # gap today: 3 days ago
                         (fecha, codes["geneva"], "C", "RF", "USD", D(8), D(12)),     # never priced: unit cost 1.5
                         (fecha, codes["geneva"], "S", "RV", "USD", D(-5), D(-10))])  # a short
    feed(c, "source.Geneva_Precios", "FechaReporte, ID_Instrumento, Moneda, Precio",
          [(fecha, "A", "USD", D("2.5")), (y, "A", "USD", D("2.4")), (old, "B", "EUR", D(5)),
           (fecha, "S", "USD", D(2)), (y, "S", "USD", D("2.1"))])
    feed(c, "source.Geneva_Caja", "FechaReporte, Portfolio, Moneda, Saldo",
          [(fecha, codes["geneva"], "USD", D(100)), (fecha, codes["geneva"], "EUR", D(-10))])
    feed(c, "source.CAPM_Movimientos", "FechaReporte, Portfolio, ID_Movimiento, TipoMovimiento, Moneda, Monto",
          [(fecha, codes["capm"], "M1", "SUSCRIPCION", "USD", D(50)), (fecha, codes["capm"], "M2", "RESCATE", "USD", D(20))])
    feed(c, "source.Derivados_Contratos", "FechaReporte, Portfolio, ID_Contrato, Tipo_Derivado, MonedaCompra, "
          "MontoCompra, MonedaVenta, MontoVenta, FechaVencimiento",
          [(fecha, codes["der"], "F1", "FWD", "USD", D(100), "EUR", D(90), fecha + timedelta(days=30))])
    feed(c, "source.UBS_Custodia", "FechaReporte, Cuenta, ID_Instrumento, Cantidad",
          [(fecha, codes["ubs"], "A", D(10)), (fecha, codes["ubs"], "B", D(4)), (fecha, codes["ubs"], "S", D(-5)),
           (fecha, codes["ubs"], "Z", D(7))])


def random_fund(c, rng: random.Random, fund: int, fecha: date) -> None:
    """Amounts of every size that fit the columns (DECIMAL(19,4) in base currency too: beyond, the database
    refuses with a numeric overflow, which is right, and a separate concern)."""
    base = rng.choice(["USD", "CLP", "EUR"])
    codes = insert_fund(c, fund, base, derivados=rng.random() < 0.7, ubs=rng.random() < 0.7)
    held = []
    for k in range(rng.randint(1, 25)):
        ins, ccy = f"R{fund}-{k:03d}", rng.choice(list(RATES))
        # within the columns' range once converted: |local| < 10^10, and x 40,000 (CLF in CLP) < 10^15
        qty = D(rng.randint(-10**9, 10**10)).scaleb(-4)
        held.append(ins)
        feed(c, "source.Geneva_Posiciones", "FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, Moneda, "
              "Cantidad, CostoLocal", [(fecha, codes["geneva"], ins, "RV", ccy, qty, D(rng.randint(0, 10**12)).scaleb(-4))])
        for back in sorted(rng.sample(range(0, 12), rng.randint(0, 3))):
            feed(c, "source.Geneva_Precios", "FechaReporte, ID_Instrumento, Moneda, Precio",
                  [(fecha - timedelta(days=back), ins, ccy, D(rng.randint(1, 10**10)).scaleb(-6))])
    feed(c, "source.Geneva_Caja", "FechaReporte, Portfolio, Moneda, Saldo",
          [(fecha, codes["geneva"], ccy, D(rng.randint(-10**12, 10**12)).scaleb(-4))
           for ccy in rng.sample(list(RATES), rng.randint(0, 3))])
    feed(c, "source.CAPM_Movimientos", "FechaReporte, Portfolio, ID_Movimiento, TipoMovimiento, Moneda, Monto",
          [(fecha, codes["capm"], f"M{k}", rng.choice(["SUSCRIPCION", "RESCATE"]), rng.choice(list(RATES)),
            D(rng.randint(-10**10, 10**10)).scaleb(-4)) for k in range(rng.randint(0, 4))])
    if codes["der"]:
        feed(c, "source.Derivados_Contratos", "FechaReporte, Portfolio, ID_Contrato, Tipo_Derivado, MonedaCompra, "
              "MontoCompra, MonedaVenta, MontoVenta, FechaVencimiento",
              [(fecha, codes["der"], f"F{k}", "FWD", rng.choice(list(RATES)), D(rng.randint(1, 10**10)).scaleb(-4),
                rng.choice(list(RATES)), D(rng.randint(1, 10**10)).scaleb(-4), fecha + timedelta(days=rng.randint(1, 400)))
               for k in range(rng.randint(0, 4))])
    if codes["ubs"]:
        rows = [(fecha, codes["ubs"], ins, D(rng.randint(-10**9, 10**11)).scaleb(-4)) for ins in held
                if rng.random() < 0.8] + [(fecha, codes["ubs"], f"X{fund}", D(1))]
        feed(c, "source.UBS_Custodia", "FechaReporte, Cuenta, ID_Instrumento, Cantidad", rows)


RATES = {"USD": D(1), "EUR": D("1.08421377"), "CLP": D("0.00105123"), "CLF": D("41.87654321"), "BRL": D("0.18734567")}


