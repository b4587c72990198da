"""A messy legacy database, built the way the Node.js backend left real history.

30 report dates x 50 funds, one millisecond-timestamp ID_Ejecucion shared by
every fund of a run, plus every case a DBA finds in real history:

* re-runs of a date, a crashed run (EN_PROGRESO, no FechaFin), a run that
  failed before any fund was registered (zero funds);
* funds with quotes and non-ASCII names;
* shared-id runs where some funds failed a stage (Estado_Process_* ERROR);
* Estado spellings: 'ok', ' ERROR ', 'En_Progreso' (normalised) and, when
  asked, 'COMPLETADO' (refused);
* a run whose FechaFin is before its FechaInicio;
* ORPHAN: fund rows whose logs.Ejecuciones row is missing (restored later with
  ORPHAN_ROW, the highest id in logs);
* EXTRACT_ONLY: rows in extract/staging whose log rows were purged, with the
  highest id of all.

Everything is inserted with plain SQL (the fondos package only provides the
bulk insert), independently of the project's own fixtures.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fondos_dev.demo import _bulk

BASE_ID = 1_761_177_600_000  # 2025-10-23 in milliseconds, as the backend's clock made ids
FIRST_DATE = date(2025, 9, 1)
N_DATES = 30
N_FUNDS = 50
ORPHAN = BASE_ID + 9_000_000  # fund rows without their run (restored later)
EXTRACT_ONLY = BASE_ID + 9_500_000  # the highest id anywhere: only in extract/staging
NAMES = {7: "FONDO O'HIGGINS ÑUÑOA", 13: 'RENTA "PLUS" €', 21: "ACCIONES SÃO PAULO"}


def fund_name(k: int) -> str:
    return NAMES.get(k, f"FONDO LEGADO {k:03d}")


def runs() -> list[dict]:
    """The legacy runs: id, date, Estado, FechaInicio, FechaFin, and each fund's stage state."""
    out = []
    for d in range(N_DATES):
        fecha = FIRST_DATE + timedelta(days=d)
        start = datetime.combine(fecha, datetime.min.time()) + timedelta(hours=7)
        rid = BASE_ID + d * 86_400_000 // 1000 + 123  # distinct, timestamp-like
        failing = {d % N_FUNDS + 1} if d % 3 == 0 else set()
        estado = "ERROR" if failing else "OK"
        funds = {k: ("ERROR" if k in failing else "OK") for k in range(1, N_FUNDS + 1)}
        out.append({"id": rid, "fecha": fecha, "estado": estado, "inicio": start,
                    "fin": start + timedelta(minutes=25), "funds": funds})
    # spellings of the three states, and a run that ends before it starts
    out[1]["estado"] = "ok"
    out[2]["estado"] = " ERROR "
    out[4]["fin"] = out[4]["inicio"] - timedelta(minutes=3)
    # a re-run of date 5 (first attempt crashed: EN_PROGRESO, no end, spelled oddly)
    out[5]["estado"], out[5]["fin"] = "En_Progreso", None
    rerun = dict(out[5], id=out[5]["id"] + 777, estado="OK", fin=out[5]["inicio"] + timedelta(hours=1))
    # a run that died before registering any fund
    empty = {"id": out[9]["id"] + 555, "fecha": out[9]["fecha"], "estado": "ERROR", "inicio": out[9]["inicio"],
             "fin": out[9]["inicio"], "funds": {}}
    return [*out, rerun, empty]


def build(db, unknown_estado: bool = False, orphan: bool = True) -> list[dict]:
    """Insert the history into a database migrated to 011 (the legacy schema). Returns runs()."""
    history = runs()
    if unknown_estado:
        history[7]["estado"] = "COMPLETADO"
    _bulk(db, "logs.Ejecuciones", ("ID_Ejecucion", "FechaReporte", "Estado", "Usuario", "FechaInicio", "FechaFin",
                                   "TotalFondos", "FondosExitosos", "FondosFallidos"),
          [(r["id"], r["fecha"], r["estado"], "node-backend", r["inicio"], r["fin"], len(r["funds"]),
            sum(1 for s in r["funds"].values() if s == "OK"), sum(1 for s in r["funds"].values() if s != "OK"))
           for r in history])
    fondos, ipa, work, capm = [], [], [], []
    for r in history:
        for k, state in r["funds"].items():
            pf = f"LAFID{k:02d}"
            fondos.append((r["id"], 100 + k, fund_name(k), pf, f"CAPM{k:02d}", state, state,
                           "OK" if state == "OK" else None))
            for i in range(2):
                ipa.append((r["id"], r["fecha"], pf, f"INS{k:02d}{i}", "RV", "USD", 100 + i, 1000 + i))
                work.append((r["id"], 100 + k, f"INS{k:02d}{i}", "RV", "USD", 100 + i, 10.5, "MERCADO",
                             1050 + i, 1, 1050 + i))
            capm.append((r["id"], 100 + k, 500, -200, 300, 2))
    if orphan:
        fondos.append((ORPHAN, 101, fund_name(1), "LAFID01", "CAPM01", "OK", "OK", "OK"))
    # extract/staging rows of a run whose log rows were purged
    ipa += [(EXTRACT_ONLY, FIRST_DATE, "LAFID01", "INS011", "RV", "USD", 5, 50)]
    work += [(EXTRACT_ONLY, 101, "INS011", "RV", "USD", 5, 10.5, "MERCADO", 52.5, 1, 52.5)]
    _bulk(db, "logs.Ejecucion_Fondos", ("ID_Ejecucion", "ID_Fund", "FundShortName", "Portfolio_Geneva",
                                        "Portfolio_CAPM", "Estado_Process_IPA", "Estado_Process_CAPM",
                                        "Estado_Process_PNL"), fondos)
    _bulk(db, "extract.IPA", ("ID_Ejecucion", "FechaReporte", "Portfolio", "ID_Instrumento", "Tipo_Instrumento",
                              "Moneda", "Cantidad", "CostoLocal"), ipa)
    _bulk(db, "staging.IPA_WorkTable", ("ID_Ejecucion", "ID_Fund", "ID_Instrumento", "Tipo_Instrumento", "Moneda",
                                        "Cantidad", "PrecioLocal", "FuentePrecio", "ValorMercadoLocal", "TipoCambio",
                                        "ValorMercadoBase"), work)
    _bulk(db, "staging.CAPM_Final", ("ID_Ejecucion", "ID_Fund", "Suscripciones", "Rescates", "FlujoNeto",
                                     "NumMovimientos"), capm)
    db.commit()
    return history


def restore_orphan_run(db) -> None:
    """What 015's and the preflight's advice says: restore the missing logs.Ejecuciones row."""
    db.execute("INSERT INTO logs.Ejecuciones (ID_Ejecucion, FechaReporte, Estado, Usuario, FechaInicio, FechaFin, "
               "TotalFondos, FondosExitosos, FondosFallidos) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
               (ORPHAN, FIRST_DATE, "OK", "restored", datetime(2025, 9, 1, 7), datetime(2025, 9, 1, 8), 1, 1, 0))
    db.commit()


def expected_counts(history: list[dict], restored_orphan: bool = True):
    """(per date: (ejecuciones, fund rows), per fund: rows) as the legacy data holds them."""
    per_date: dict[date, tuple[int, int]] = {}
    per_fund: dict[int, int] = {}
    for r in history:
        e, f = per_date.get(r["fecha"], (0, 0))
        per_date[r["fecha"]] = (e + 1, f + len(r["funds"]))
        for k in r["funds"]:
            per_fund[100 + k] = per_fund.get(100 + k, 0) + 1
    if restored_orphan:
        e, f = per_date[FIRST_DATE]
        per_date[FIRST_DATE] = (e + 1, f + 1)
        per_fund[101] += 1
    return per_date, per_fund
