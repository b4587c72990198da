"""Demo data that looks like a fund administrator's morning: `fondos demo seed`.

For a report date and N funds it fills `config.Fondos` and every `source.*`
feed: Geneva positions, prices (today and the previous business day), cash,
FX rates, capital movements, FX forwards and custodian holdings.

* Deterministic: the same arguments always give the same rows. A price is a
  function of (instrument, date) only, so seeding two dates agrees on the
  price both share.
* Reconciles: custodian quantities equal the accounting ones, except a few
  deliberate breaks per fund (a quantity off, a position the custodian lacks,
  one it holds that accounting lacks).
* Realistic gaps: some instruments have no price today (the price rescue uses
  the previous one), a few none at all (unit cost); every 4th fund has no
  derivatives, every 5th no custodian account.
* Fast: PostgreSQL gets COPY, SQL Server multi-row INSERTs; 50 funds x 2,000
  positions is about 250,000 rows.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from fondos.db import Database
from fondos.fechas import previous_business_day

log = logging.getLogger(__name__)

FIRST_FUND_ID = 101
CURRENCIES = {"USD": Decimal("1"), "EUR": Decimal("1.0842"), "CLP": Decimal("0.00105"),
              "BRL": Decimal("0.1873"), "MXN": Decimal("0.0551"), "GBP": Decimal("1.2695")}
_ASSET_CLASS = ["RENTA FIJA", "ACCIONES", "BALANCEADO", "DEUDA CORTO PLAZO", "MONEY MARKET", "RETORNO ABSOLUTO"]
_REGION = ["LATAM", "CHILE", "GLOBAL", "USA", "EUROPA", "EMERGENTES", "BRASIL", "MEXICO", "ASIA"]


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) from its inputs (not Python's salted hash)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Fund:
    id_fund: int
    short_name: str
    geneva: str
    capm: str
    derivados: str | None
    ubs: str | None
    base: str


def funds(n: int) -> list[Fund]:
    out = []
    for i in range(1, n + 1):
        name = f"FI {_REGION[i % len(_REGION)]} {_ASSET_CLASS[(i * 7) % len(_ASSET_CLASS)]} {i:03d}"
        out.append(Fund(
            id_fund=FIRST_FUND_ID + i - 1, short_name=name, geneva=f"LAFID{i:03d}", capm=f"CAPM{i:03d}",
            derivados=None if i % 4 == 0 else f"DER{i:03d}", ubs=None if i % 5 == 0 else f"UBS{i:03d}",
            base="CLP" if i % 6 == 0 else "USD"))
    return out


def instrument_currency(instr: str) -> str:
    return list(CURRENCIES)[int(_unit("ccy", instr) * 4)]  # USD, EUR, CLP, BRL


def price(instr: str, day: date) -> Decimal | None:
    """The feed's price of an instrument on a day; None where the feed has a gap."""
    if _unit("noprice", instr) < 0.004:  # never priced: the rescue falls back to cost
        return None
    if _unit("gap", instr, day) < 0.03:  # missing that day: the rescue takes the previous day
        return None
    base = 5 + 995 * _unit("px", instr)
    if instrument_currency(instr) == "CLP":
        base *= 900
    drift = 1 + (_unit("d", instr, day) - 0.5) * 0.04
    return Decimal(str(round(base * drift, 6)))


def _bulk(db: Database, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    rows = list(rows)
    if not rows:
        return 0
    if db.driver == "psycopg":
        cur = db.conn.cursor()
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        cur.close()
        return len(rows)
    per_statement = max(1, 2000 // len(columns))  # SQL Server allows 2,100 parameters per statement
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([placeholders] * len(chunk))
        db.execute(sql, [v for r in chunk for v in r])
    return len(rows)


def seed(db: Database, fecha: date, n_funds: int, positions: int = 200) -> dict[str, int]:
    """Replace the demo funds and the feeds of `fecha` (and the prices/FX of the day before)."""
    if n_funds < 1 or positions < 1:
        raise ValueError("--fondos and --posiciones must be at least 1")
    anterior = previous_business_day(fecha)
    fund_list = funds(n_funds)
    universe = [f"INS{k:06d}" for k in range(max(positions * 3, 500))]
    rng = random.Random(f"{fecha}|{n_funds}|{positions}")  # noqa: S311 - demo data, not security

    holdings: dict[int, list[tuple[str, Decimal]]] = {}
    for f in fund_list:
        picked = rng.sample(universe, min(positions, len(universe)))
        holdings[f.id_fund] = [(ins, Decimal(rng.randint(10, 50_000))) for ins in sorted(picked)]
    held = sorted({ins for h in holdings.values() for ins, _ in h})

    counts: dict[str, int] = {}
    ids = [f.id_fund for f in fund_list]
    id_list = ", ".join(["%s"] * len(ids))
    db.execute(f"DELETE FROM config.Fondos WHERE ID_Fund IN ({id_list})", ids)
    for table in ("source.Geneva_Posiciones", "source.Geneva_Caja", "source.CAPM_Movimientos",
                  "source.Derivados_Contratos"):
        db.execute(f"DELETE FROM {table} WHERE FechaReporte = %s", (fecha,))
    db.execute("DELETE FROM source.UBS_Custodia WHERE FechaReporte = %s", (fecha,))
    db.execute("DELETE FROM source.Geneva_Precios WHERE FechaReporte IN (%s, %s)", (fecha, anterior))
    db.execute("DELETE FROM source.TiposCambio WHERE FechaReporte IN (%s, %s)", (fecha, anterior))

    counts["config.Fondos"] = _bulk(db, "config.Fondos", (
        "ID_Fund", "FundShortName", "Portfolio_Geneva", "Portfolio_CAPM", "Portfolio_Derivados", "Portfolio_UBS",
        "Moneda_Base", "Aplica_IPA", "Aplica_CAPM", "Aplica_PNL", "Aplica_Derivados", "Aplica_UBS", "Activo"),
        [(f.id_fund, f.short_name, f.geneva, f.capm, f.derivados, f.ubs, f.base, True, True, True,
          f.derivados is not None, f.ubs is not None, True) for f in fund_list])

    counts["source.TiposCambio"] = _bulk(db, "source.TiposCambio", ("FechaReporte", "Moneda", "TipoCambio"), [
        (d, ccy, rate if ccy == "USD" else (rate * Decimal(str(1 + (_unit("fx", ccy, d) - 0.5) * 0.01))).quantize(
            Decimal("0.00000001")))
        for d in (anterior, fecha) for ccy, rate in CURRENCIES.items()])

    counts["source.Geneva_Precios"] = _bulk(db, "source.Geneva_Precios", (
        "FechaReporte", "ID_Instrumento", "Moneda", "Precio"),
        [(d, ins, instrument_currency(ins), p) for ins in held for d in (anterior, fecha)
         if (p := price(ins, d)) is not None])

    pos_rows, ubs_rows, cash_rows, capm_rows, der_rows = [], [], [], [], []
    for f in fund_list:
        for ins, qty in holdings[f.id_fund]:
            ref = price(ins, anterior) or Decimal("100")
            cost = (qty * ref * Decimal(str(0.9 + 0.2 * _unit("cost", f.id_fund, ins)))).quantize(Decimal("0.0001"))
            tipo = "RF" if _unit("tipo", ins) < 0.4 else "RV"
            pos_rows.append((fecha, f.geneva, ins, tipo, instrument_currency(ins), qty, cost))
        if f.ubs:
            for k, (ins, qty) in enumerate(holdings[f.id_fund]):
                if k == 3:
                    continue  # the custodian lacks it: SOLO_CONTABLE
                ubs_rows.append((fecha, f.ubs, ins, qty + (1 if k == 7 else 0)))  # one quantity off: DIFERENCIA
            ubs_rows.append((fecha, f.ubs, "INS999999", Decimal(100)))  # not in accounting: SOLO_CUSTODIO
        for ccy in ("USD", f.base, "EUR")[: 2 + f.id_fund % 2]:
            cash_rows.append((fecha, f.geneva, ccy, Decimal(rng.randint(10_000, 5_000_000))))
        for k in range(rng.randint(0, 5)):
            capm_rows.append((fecha, f.capm, f"MOV{f.id_fund}{k:03d}", rng.choice(["SUSCRIPCION", "RESCATE"]),
                              f.base, Decimal(rng.randint(1_000, 900_000))))
        if f.derivados:
            for k in range(rng.randint(3, 10)):
                sold = rng.choice(["EUR", "CLP", "BRL", "MXN"])
                notional = Decimal(rng.randint(50_000, 2_000_000))
                fwd = CURRENCIES[sold] * Decimal(str(1 + (rng.random() - 0.5) * 0.02))
                der_rows.append((fecha, f.derivados, f"FWD{f.id_fund}{k:03d}", "FWD", "USD", notional, sold,
                                 (notional / fwd).quantize(Decimal("0.0001")), fecha + timedelta(days=rng.randint(7, 180))))
    # de-duplicate cash lines when base is USD (USD, USD)
    cash_rows = list({(r[1], r[2]): r for r in cash_rows}.values())

    counts["source.Geneva_Posiciones"] = _bulk(db, "source.Geneva_Posiciones", (
        "FechaReporte", "Portfolio", "ID_Instrumento", "Tipo_Instrumento", "Moneda", "Cantidad", "CostoLocal"), pos_rows)
    counts["source.UBS_Custodia"] = _bulk(db, "source.UBS_Custodia", (
        "FechaReporte", "Cuenta", "ID_Instrumento", "Cantidad"), ubs_rows)
    counts["source.Geneva_Caja"] = _bulk(db, "source.Geneva_Caja", ("FechaReporte", "Portfolio", "Moneda", "Saldo"),
                                         cash_rows)
    counts["source.CAPM_Movimientos"] = _bulk(db, "source.CAPM_Movimientos", (
        "FechaReporte", "Portfolio", "ID_Movimiento", "TipoMovimiento", "Moneda", "Monto"), capm_rows)
    counts["source.Derivados_Contratos"] = _bulk(db, "source.Derivados_Contratos", (
        "FechaReporte", "Portfolio", "ID_Contrato", "Tipo_Derivado", "MonedaCompra", "MontoCompra", "MonedaVenta",
        "MontoVenta", "FechaVencimiento"), der_rows)
    db.commit()
    log.info("demo data for %s: %s", fecha, counts)
    return counts
