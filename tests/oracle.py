"""An independent reference model of every figure the stages compute (issue 11).

Plain Python and `decimal.Decimal`, written from the rules as the documentation (docs/) states them, never from the
SQL (this module neither imports nor reads any .sql file). Given one fund's source rows for a date, it
says what every stage must produce; the tests compare the database with it value by value.

The rules, with the choices made where the plan is silent:

* Prices (IPA_01): the feed's price on FechaReporte (MERCADO); else the most recent price of the 10
  calendar days before it (ANTERIOR); else the unit cost ROUND(CostoLocal / Cantidad, 6) (COSTO; 0
  for a zero quantity). PrecioAnterior is the most recent price of those 10 days before FechaReporte,
  whatever the source of today's price (None when there is none).
* Conversion rate local -> base: ROUND(rate(local) / rate(base), 8); rates are "USD per unit".
* Positions (IPA_02): ValorMercadoLocal = ROUND(Cantidad x PrecioLocal, 4); ValorMercadoBase =
  ROUND(ValorMercadoLocal x rate, 4) (the base amount from the booked local amount).
* Cash (IPA_03): one line per currency, SaldoLocal = sum of the balances, SaldoBase = ROUND(SaldoLocal x
  rate, 4).
* Final IPA (IPA_04): one line per position (Linea = instrument, POSICION) and per cash currency
  (Linea = CAJA-<currency>, CAJA); net assets = sum of base values; PesoPct = ROUND(100 x ValorBase /
  net assets, 6), None when the net assets are not positive or |ValorBase| >= 9 x net assets.
* Capital flows (CAPM): subscriptions positive, redemptions negative (whatever the feed's sign),
  MontoBase = ROUND(signed amount x rate, 4); totals: subscriptions, redemptions, net, count.
* FX forwards (Derivados): each leg ROUND(amount x rate(leg), 4); fair value = bought - sold; days to
  maturity; summary: count, notional (sum of bought legs), fair value, exposure = ROUND(100 x notional /
  IPA net assets, 6), None when the net assets are not positive or |notional| >= 9 x them.
* Custodian (UBS): holdings summed per instrument; reconciliation over the union of accounting
  positions and custodian holdings: CUADRA, DIFERENCIA (custodian - accounting), SOLO_CONTABLE,
  SOLO_CUSTODIO; summary: instruments, breaks (everything but CUADRA).
* P&L (PNL): ResultadoLocal = ROUND(Cantidad x (PrecioLocal - PrecioAnterior), 4) (zero without a
  previous price); ResultadoBase = ROUND(ResultadoLocal x the position's rate, 4); fund: result = sum,
  net assets = IPA net assets + derivatives' fair value, net flow = CAPM net; return =
  ROUND(100 x result / (net assets - result - net flow), 6), None when that opening figure is not
  positive or |result| >= 9 x it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

WINDOW_DAYS = 10


def rnd(value: Decimal, places: int) -> Decimal:
    """SQL's ROUND on exact decimals: half away from zero."""
    with localcontext() as ctx:
        ctx.prec = 80
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def div(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        return a / b


def pct(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole <= 0 or abs(part) >= 9 * whole:
        return None
    return rnd(div(100 * part, whole), 6)


@dataclass
class Fuentes:
    """One fund's source rows for one date (as the feeds hold them)."""

    fecha: date
    base: str
    posiciones: list[tuple[str, str, str, Decimal, Decimal]]  # instrument, type, currency, quantity, cost
    precios: dict[tuple[str, date], Decimal]  # (instrument, date) -> price
    fx: dict[str, Decimal]  # currency -> rate on fecha
    caja: list[tuple[str, Decimal]] = field(default_factory=list)  # currency, balance
    movimientos: list[tuple[str, str, str, Decimal]] = field(default_factory=list)  # id, type, currency, amount
    derivados: list[tuple[str, str, str, Decimal, str, Decimal, date]] = field(default_factory=list)
    custodia: list[tuple[str, Decimal]] = field(default_factory=list)  # instrument, quantity

    def rate(self, ccy: str) -> Decimal:
        return rnd(div(self.fx[ccy], self.fx[self.base]), 8)


def ipa(f: Fuentes) -> dict:
    precios, work = {}, {}
    for ins, tipo, ccy, qty, cost in f.posiciones:
        hoy = f.precios.get((ins, f.fecha))
        previous = [(d, p) for (i, d), p in f.precios.items()
                    if i == ins and f.fecha - timedelta(days=WINDOW_DAYS) <= d < f.fecha]
        anterior = max(previous)[1] if previous else None
        if hoy is not None:
            price, source = hoy, "MERCADO"
        elif anterior is not None:
            price, source = anterior, "ANTERIOR"
        else:
            price, source = (rnd(div(cost, qty), 6) if qty != 0 else Decimal(0)), "COSTO"
        precios[ins] = {"preciolocal": price, "fuenteprecio": source, "precioanterior": anterior}
        local = rnd(qty * price, 4)
        work[ins] = {"tipo_instrumento": tipo, "moneda": ccy, "cantidad": qty, "preciolocal": price,
                     "fuenteprecio": source, "valormercadolocal": local, "tipocambio": f.rate(ccy),
                     "valormercadobase": rnd(local * f.rate(ccy), 4)}
    cash: dict[str, dict] = {}
    for ccy, balance in f.caja:
        cash.setdefault(ccy, {"saldolocal": Decimal(0)})["saldolocal"] += balance
    for ccy, c in cash.items():
        c.update(tipocambio=f.rate(ccy), saldobase=rnd(c["saldolocal"] * f.rate(ccy), 4))
    lines = {("POSICION", ins): (w["moneda"], w["valormercadolocal"], w["valormercadobase"]) for ins, w in work.items()}
    lines.update({("CAJA", f"CAJA-{ccy}"): (ccy, c["saldolocal"], c["saldobase"]) for ccy, c in cash.items()})
    net = sum((v[2] for v in lines.values()), Decimal(0))
    final = {key: {"moneda": ccy, "valorlocal": local, "valorbase": base, "pesopct": pct(base, net)}
             for key, (ccy, local, base) in lines.items()}
    return {"precios": precios, "work": work, "cash": cash, "final": final, "patrimonio": net}


def capm(f: Fuentes) -> dict:
    work = {}
    for mov, tipo, ccy, amount in f.movimientos:
        signed = -abs(amount) if tipo == "RESCATE" else abs(amount)
        work[mov] = {"tipomovimiento": tipo, "moneda": ccy, "montolocal": signed, "tipocambio": f.rate(ccy),
                     "montobase": rnd(signed * f.rate(ccy), 4)}
    bases = [w["montobase"] for w in work.values()]
    final = {"suscripciones": sum((b for b in bases if b > 0), Decimal(0)),
             "rescates": sum((b for b in bases if b < 0), Decimal(0)),
             "flujoneto": sum(bases, Decimal(0)), "nummovimientos": len(bases)}
    return {"work": work, "final": final}


def derivados(f: Fuentes, ipa_out: dict) -> dict:
    work = {}
    for contrato, tipo, mc, compra, mv, venta, vence in f.derivados:
        c, v = rnd(compra * f.rate(mc), 4), rnd(venta * f.rate(mv), 4)
        work[contrato] = {"tipo_derivado": tipo, "monedacompra": mc, "montocomprabase": c, "monedaventa": mv,
                          "montoventabase": v, "valorrazonablebase": c - v, "diasalvencimiento": (vence - f.fecha).days}
    nocional = sum((w["montocomprabase"] for w in work.values()), Decimal(0))
    final = {"numcontratos": len(work), "nocionalbase": nocional,
             "valorrazonablebase": sum((w["valorrazonablebase"] for w in work.values()), Decimal(0)),
             "exposicionpct": pct(nocional, ipa_out["patrimonio"])}
    return {"work": work, "final": final}


def ubs(f: Fuentes, ipa_out: dict) -> dict:
    custodio: dict[str, Decimal] = {}
    for ins, qty in f.custodia:
        custodio[ins] = custodio.get(ins, Decimal(0)) + qty
    contable = {ins: w["cantidad"] for ins, w in ipa_out["work"].items()}
    recon = {}
    for ins in contable.keys() | custodio.keys():
        c, u = contable.get(ins), custodio.get(ins)
        estado = ("SOLO_CUSTODIO" if c is None else "SOLO_CONTABLE" if u is None
                  else "CUADRA" if c == u else "DIFERENCIA")
        recon[ins] = {"cantidadcontable": c or Decimal(0), "cantidadcustodio": u or Decimal(0),
                      "diferencia": (u or Decimal(0)) - (c or Decimal(0)), "estado_conciliacion": estado}
    final = {"numinstrumentos": len(recon), "numquiebres": sum(1 for r in recon.values() if r["estado_conciliacion"] != "CUADRA")}
    return {"work": {ins: {"cantidadcustodio": q} for ins, q in custodio.items()}, "recon": recon, "final": final}


def pnl(f: Fuentes, ipa_out: dict, capm_out: dict, der_out: dict | None) -> dict:
    work = {}
    for ins, w in ipa_out["work"].items():
        anterior = ipa_out["precios"][ins]["precioanterior"]
        previous = anterior if anterior is not None else w["preciolocal"]
        local = rnd(w["cantidad"] * (w["preciolocal"] - previous), 4)
        work[ins] = {"precioanterior": previous, "resultadolocal": local,
                     "resultadobase": rnd(local * w["tipocambio"], 4)}
    resultado = sum((w["resultadobase"] for w in work.values()), Decimal(0))
    patrimonio = ipa_out["patrimonio"] + (der_out["final"]["valorrazonablebase"] if der_out else Decimal(0))
    flujo = capm_out["final"]["flujoneto"]
    final = {"resultadobase": resultado, "patrimoniobase": patrimonio, "flujoneto": flujo,
             "rentabilidadpct": pct(resultado, patrimonio - resultado - flujo)}
    return {"work": work, "final": final}
