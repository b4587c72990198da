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
* Every 7th fund is short-heavy: instead of cash it holds a USD overdraft of
  about 98 % of its positions, so its net assets are about 2 % of its gross
  and its largest lines weigh many times its net assets (the IPA weight guard).
* Fast: PostgreSQL gets COPY, SQL Server multi-row INSERTs; 50 funds x 2,000
  positions is about 250,000 rows.
* Never touches real data. A demo fund is recognised by what the seeder
  itself writes (ID_Fund 101 + k with its generated short name and Geneva
  portfolio). If config.Fondos holds any other fund on a demo id, a demo
  name or a demo portfolio code, the seeder refuses and changes nothing. It
  only changes the date it seeds, and only the demo portfolios' feeds of
  that date: prices and FX rates are inserted where missing and never
  rewritten (they are a function of the instrument or currency and the
  date), so re-seeding a date gives identical data and an earlier date
  keeps its own. `--fondos N` deactivates demo funds beyond N.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from fondos.db.connection import Database
from fondos.pipeline.fechas import previous_business_day

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


def demo_fund(i: int) -> Fund:
    """The i-th demo fund (1-based), always the same."""
    name = f"FI {_REGION[i % len(_REGION)]} {_ASSET_CLASS[(i * 7) % len(_ASSET_CLASS)]} {i:03d}"
    return Fund(
        id_fund=FIRST_FUND_ID + i - 1, short_name=name, geneva=f"LAFID{i:03d}", capm=f"CAPM{i:03d}",
        derivados=None if i % 4 == 0 else f"DER{i:03d}", ubs=None if i % 5 == 0 else f"UBS{i:03d}",
        base="CLP" if i % 6 == 0 else "USD")


def funds(n: int) -> list[Fund]:
    return [demo_fund(i) for i in range(1, n + 1)]


class NotDemoData(RuntimeError):
    """config.Fondos holds funds the demo seeder did not create where it would write."""


def _is_demo(row: dict) -> bool:
    i = row["id_fund"] - FIRST_FUND_ID + 1
    return i >= 1 and (row["fundshortname"], row["portfolio_geneva"]) == (demo_fund(i).short_name, demo_fund(i).geneva)


def _check_only_demo(db: Database, fund_list: list[Fund]) -> list[int]:
    """Refuse when a fund the seeder did not create sits where it would write; return the demo ids beyond N."""
    rows = db.execute("SELECT ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM, Portfolio_Derivados, "
                      "Portfolio_UBS FROM config.Fondos ORDER BY ID_Fund")
    ids = {f.id_fund for f in fund_list}
    names = {f.short_name for f in fund_list}
    codes = {c for f in fund_list for c in (f.geneva, f.capm, f.derivados, f.ubs) if c}
    conflicts = []
    for r in rows:
        if _is_demo(r):
            continue
        used = sorted(c for c in (r["portfolio_geneva"], r["portfolio_capm"], r["portfolio_derivados"],
                                  r["portfolio_ubs"]) if c in codes)
        if r["id_fund"] in ids or r["fundshortname"] in names or used:
            why = (f"on demo id {r['id_fund']}" if r["id_fund"] in ids else
                   "with a demo name" if r["fundshortname"] in names else f"using demo portfolio code(s) {used}")
            conflicts.append(f"fund {r['id_fund']} {r['fundshortname']!r} {why}")
    if conflicts:
        raise NotDemoData(
            f"demo seed refused: config.Fondos holds {len(conflicts)} fund(s) the demo seeder did not create "
            f"where it would write: {'; '.join(conflicts[:10])}{' ...' if len(conflicts) > 10 else ''}. "
            "Nothing was changed. Seed demo data only into a database of its own (e.g. the embedded one: "
            "unset AIRFLOW_CONN_FONDOS_DB), or seed fewer funds.")
    return [r["id_fund"] for r in rows if _is_demo(r) and r["id_fund"] not in ids]


def fx_rate(ccy: str, day: date) -> Decimal:
    """The feed's rate of a currency on a day (USD per unit)."""
    rate = CURRENCIES[ccy]
    if ccy == "USD":
        return rate
    return (rate * Decimal(str(1 + (_unit("fx", ccy, day) - 0.5) * 0.01))).quantize(Decimal("0.00000001"))


def short_heavy(fund: Fund) -> bool:
    return (fund.id_fund - FIRST_FUND_ID + 1) % 7 == 0


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


def _marks(values: Sequence[object]) -> str:
    return ", ".join(["%s"] * len(values))


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


def _overdraft(holding: list[tuple[str, Decimal]], fecha: date, anterior: date) -> Decimal:
    """A USD balance of minus about 98 % of the positions' value (estimated as the pipeline values them)."""
    gross_usd = sum((qty * (price(ins, fecha) or price(ins, anterior) or Decimal("100"))
                     * fx_rate(instrument_currency(ins), fecha) for ins, qty in holding), Decimal(0))
    return -(gross_usd * Decimal("0.98")).quantize(Decimal("0.0001"))


def seed(db: Database, fecha: date, n_funds: int, positions: int = 200) -> dict[str, int]:
    """Replace the demo funds and their feeds of `fecha`; add the prices/FX of `fecha` and the day before
    that are missing. Raises NotDemoData, changing nothing, when real funds are in the way."""
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
    beyond = _check_only_demo(db, fund_list)
    ids = [f.id_fund for f in fund_list]
    db.execute(f"DELETE FROM config.Fondos WHERE ID_Fund IN ({_marks(ids)})", ids)
    if beyond:
        db.execute(f"UPDATE config.Fondos SET Activo = %s WHERE ID_Fund IN ({_marks(beyond)})", [False, *beyond])
        log.info("demo funds beyond %d deactivated: %s", n_funds, beyond)
    # Only the demo portfolios' feeds of this date are replaced.
    for table, column, codes in (
        ("source.Geneva_Posiciones", "Portfolio", [f.geneva for f in fund_list]),
        ("source.Geneva_Caja", "Portfolio", [f.geneva for f in fund_list]),
        ("source.CAPM_Movimientos", "Portfolio", [f.capm for f in fund_list]),
        ("source.Derivados_Contratos", "Portfolio", [f.derivados for f in fund_list if f.derivados]),
        ("source.UBS_Custodia", "Cuenta", [f.ubs for f in fund_list if f.ubs]),
    ):
        if codes:
            marks = ", ".join([db.varchar()] * len(codes))  # VARCHAR portfolio codes: a seek on SQL Server
            db.execute(f"DELETE FROM {table} WHERE FechaReporte = %s AND {column} IN ({marks})",
                       [fecha, *codes])

    counts["config.Fondos"] = _bulk(db, "config.Fondos", (
        "ID_Fund", "FundShortName", "Portfolio_Geneva", "Portfolio_CAPM", "Portfolio_Derivados", "Portfolio_UBS",
        "Moneda_Base", "Aplica_IPA", "Aplica_CAPM", "Aplica_PNL", "Aplica_Derivados", "Aplica_UBS", "Activo"),
        [(f.id_fund, f.short_name, f.geneva, f.capm, f.derivados, f.ubs, f.base, True, True, True,
          f.derivados is not None, f.ubs is not None, True) for f in fund_list])

    have_fx = {(r["fechareporte"], r["moneda"]) for r in db.execute(
        "SELECT FechaReporte, Moneda FROM source.TiposCambio WHERE FechaReporte IN (%s, %s)", (anterior, fecha))}
    counts["source.TiposCambio"] = _bulk(db, "source.TiposCambio", ("FechaReporte", "Moneda", "TipoCambio"), [
        (d, ccy, fx_rate(ccy, d)) for d in (anterior, fecha) for ccy in CURRENCIES if (d, ccy) not in have_fx])

    have_px = {(r["fechareporte"], r["id_instrumento"]) for r in db.execute(
        "SELECT FechaReporte, ID_Instrumento FROM source.Geneva_Precios WHERE FechaReporte IN (%s, %s)",
        (anterior, fecha))}
    counts["source.Geneva_Precios"] = _bulk(db, "source.Geneva_Precios", (
        "FechaReporte", "ID_Instrumento", "Moneda", "Precio"),
        [(d, ins, instrument_currency(ins), p) for ins in held for d in (anterior, fecha)
         if (d, ins) not in have_px and (p := price(ins, d)) is not None])

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
        cash = [(ccy, Decimal(rng.randint(10_000, 5_000_000))) for ccy in ("USD", f.base, "EUR")[: 2 + f.id_fund % 2]]
        if short_heavy(f):
            cash = [("USD", _overdraft(holdings[f.id_fund], fecha, anterior))]
        cash_rows += [(fecha, f.geneva, ccy, amount) for ccy, amount in cash]
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
