"""Reading one fund's sources and results from the database, and comparing them with the oracle."""

from __future__ import annotations

from datetime import date, timedelta

import oracle
from fondos.db.connection import Database


def fuentes(db: Database, id_fund: int, fecha: date) -> oracle.Fuentes:
    fondo = db.execute("SELECT * FROM config.Fondos WHERE ID_Fund = %s", (id_fund,))[0]
    pos = db.execute("SELECT ID_Instrumento, Tipo_Instrumento, Moneda, Cantidad, CostoLocal FROM source.Geneva_Posiciones "
                     "WHERE Portfolio = %s AND FechaReporte = %s", (fondo["portfolio_geneva"], fecha))
    held = [r["id_instrumento"] for r in pos]
    precios = {}
    if held:
        marks = ", ".join(["%s"] * len(held))
        for r in db.execute(f"SELECT ID_Instrumento, FechaReporte, Precio FROM source.Geneva_Precios "
                            f"WHERE ID_Instrumento IN ({marks}) AND FechaReporte BETWEEN %s AND %s",
                            (*held, fecha - timedelta(days=oracle.WINDOW_DAYS), fecha)):
            precios[(r["id_instrumento"], r["fechareporte"])] = r["precio"]
    fx = {r["moneda"].strip(): r["tipocambio"] for r in db.execute(
        "SELECT Moneda, TipoCambio FROM source.TiposCambio WHERE FechaReporte = %s", (fecha,))}
    f = oracle.Fuentes(
        fecha=fecha, base=fondo["moneda_base"].strip(),
        posiciones=[(r["id_instrumento"], r["tipo_instrumento"], r["moneda"].strip(), r["cantidad"], r["costolocal"])
                    for r in pos],
        precios=precios, fx=fx,
        caja=[(r["moneda"].strip(), r["saldo"]) for r in db.execute(
            "SELECT Moneda, Saldo FROM source.Geneva_Caja WHERE Portfolio = %s AND FechaReporte = %s",
            (fondo["portfolio_geneva"], fecha))])
    if fondo["portfolio_capm"]:
        f.movimientos = [(r["id_movimiento"], r["tipomovimiento"], r["moneda"].strip(), r["monto"]) for r in db.execute(
            "SELECT ID_Movimiento, TipoMovimiento, Moneda, Monto FROM source.CAPM_Movimientos "
            "WHERE Portfolio = %s AND FechaReporte = %s", (fondo["portfolio_capm"], fecha))]
    if fondo["aplica_derivados"]:
        f.derivados = [(r["id_contrato"], r["tipo_derivado"], r["monedacompra"].strip(), r["montocompra"],
                        r["monedaventa"].strip(), r["montoventa"], r["fechavencimiento"]) for r in db.execute(
            "SELECT * FROM source.Derivados_Contratos WHERE Portfolio = %s AND FechaReporte = %s",
            (fondo["portfolio_derivados"], fecha))]
    if fondo["aplica_ubs"]:
        f.custodia = [(r["id_instrumento"], r["cantidad"]) for r in db.execute(
            "SELECT ID_Instrumento, Cantidad FROM source.UBS_Custodia WHERE Cuenta = %s AND FechaReporte = %s",
            (fondo["portfolio_ubs"], fecha))]
    return f


def expected(f: oracle.Fuentes, derivados: bool, ubs: bool) -> dict:
    i = oracle.ipa(f)
    c = oracle.capm(f)
    d = oracle.derivados(f, i) if derivados else None
    return {"ipa": i, "capm": c, "derivados": d, "ubs": oracle.ubs(f, i) if ubs else None, "pnl": oracle.pnl(f, i, c, d)}


def _rows(db: Database, table: str, id_ejecucion: int, key) -> dict:
    return {key(r): r for r in db.execute(f"SELECT * FROM {table} WHERE ID_Ejecucion = %s", (id_ejecucion,))}


def differences(db: Database, id_fund: int, id_ejecucion: int, exp: dict) -> list[str]:
    """Every value where the database and the oracle disagree, as 'fund F table key field: expected X, got Y'."""
    out: list[str] = []

    def check(table: str, got: dict, want: dict) -> None:
        if set(got) != set(want):
            out.append(f"fund {id_fund} {table}: rows {sorted(map(str, got))} != expected {sorted(map(str, want))}")
        for key in set(got) & set(want):
            for name, value in want[key].items():
                actual = got[key][name]
                actual = actual.strip() if isinstance(actual, str) else actual
                if actual != value:
                    out.append(f"fund {id_fund} {table} {key} {name}: expected {value}, got {actual}")

    i = exp["ipa"]
    check("staging.IPA_Precios", _rows(db, "staging.IPA_Precios", id_ejecucion, lambda r: r["id_instrumento"]),
          i["precios"])
    check("staging.IPA_WorkTable", _rows(db, "staging.IPA_WorkTable", id_ejecucion, lambda r: r["id_instrumento"]),
          i["work"])
    check("staging.IPA_Cash", _rows(db, "staging.IPA_Cash", id_ejecucion, lambda r: r["moneda"].strip()), i["cash"])
    check("staging.IPA_Final", _rows(db, "staging.IPA_Final", id_ejecucion, lambda r: (r["tipo_linea"], r["linea"])),
          i["final"])
    check("staging.CAPM_WorkTable", _rows(db, "staging.CAPM_WorkTable", id_ejecucion, lambda r: r["id_movimiento"]),
          exp["capm"]["work"])
    check("staging.CAPM_Final", _rows(db, "staging.CAPM_Final", id_ejecucion, lambda r: "fund"),
          {"fund": exp["capm"]["final"]})
    if exp["derivados"]:
        check("staging.Derivados_WorkTable", _rows(db, "staging.Derivados_WorkTable", id_ejecucion,
                                                   lambda r: r["id_contrato"]), exp["derivados"]["work"])
        check("staging.Derivados_Final", _rows(db, "staging.Derivados_Final", id_ejecucion, lambda r: "fund"),
              {"fund": exp["derivados"]["final"]})
    if exp["ubs"]:
        check("staging.UBS_WorkTable", _rows(db, "staging.UBS_WorkTable", id_ejecucion, lambda r: r["id_instrumento"]),
              exp["ubs"]["work"])
        check("staging.UBS_Reconciliacion", _rows(db, "staging.UBS_Reconciliacion", id_ejecucion,
                                                  lambda r: r["id_instrumento"]), exp["ubs"]["recon"])
        check("staging.UBS_Final", _rows(db, "staging.UBS_Final", id_ejecucion, lambda r: "fund"),
              {"fund": exp["ubs"]["final"]})
    check("staging.PNL_WorkTable", _rows(db, "staging.PNL_WorkTable", id_ejecucion, lambda r: r["id_instrumento"]),
          exp["pnl"]["work"])
    check("staging.PNL_Final", _rows(db, "staging.PNL_Final", id_ejecucion, lambda r: "fund"),
          {"fund": exp["pnl"]["final"]})
    return out


def day_differences(db: Database, fecha: date, n_funds: int, positions: int) -> list[str]:
    """Every fund run of the date, after an end-to-end day: its rows written once (one IPA row per position,
    whatever killed or cut-off tries left behind) and its figures against the oracle's. Which stages apply comes
    from the fund's configuration, not from what the run recorded. Returns the differences."""
    ejecuciones = db.execute("SELECT ID_Ejecucion, ID_Fund FROM logs.Ejecuciones "
                             "WHERE ID_Fund IS NOT NULL AND FechaReporte = %s", (fecha,))
    assert len(ejecuciones) == n_funds, ejecuciones
    problems = []
    for e in ejecuciones:
        ipa = db.execute("SELECT COUNT(*) AS n FROM extract.IPA WHERE ID_Ejecucion = %s", (e["id_ejecucion"],))[0]["n"]
        assert ipa == positions, (e, ipa)
        fondo = db.execute("SELECT Aplica_Derivados, Aplica_UBS FROM config.Fondos WHERE ID_Fund = %s",
                           (e["id_fund"],))[0]
        exp = expected(fuentes(db, e["id_fund"], fecha), derivados=bool(fondo["aplica_derivados"]),
                       ubs=bool(fondo["aplica_ubs"]))
        problems += differences(db, e["id_fund"], e["id_ejecucion"], exp)
    return problems
