"""The per-fund summary table an operator reads: proceso figures, then one line per fund."""

from __future__ import annotations

from typing import Any

from fondos.pipeline.aviso import lineas_firma
from fondos.pipeline.stages import FAILED_STATES, stage_order

_CHECKS = {"OK": "OK", "SIN_COMPARACION": "no comparison", "RETENIDO": "HELD", "ACEPTADO": "accepted",
           "PENDIENTE": "not run"}
_SHORT = {"OK": "OK", "ERROR": "ERROR", "OMITIDO": "-", "PENDIENTE": "pend", "EN_PROGRESO": "run",
          "REINTENTANDO": "retry"}


def format_proceso(p: dict[str, Any]) -> str:
    stages = stage_order()
    head = (f"proceso {p['id_proceso']}  fecha {p['fechareporte']}  estado {p['estado']}  "
            f"fondos {p['totalfondos']}  OK {p['fondosexitosos']}  ERROR {p['fondosfallidos']}")
    if p.get("fondoslegado") is not None:
        head += (f"\narchitecture: {p['totalfondos']} fund(s) on v3 (this proceso), {p['fondoslegado']} active "
                 "with the legacy writer (v2) when it was created")
    if p.get("legado"):
        head += ("\nlegacy history (written by the legacy backend; read-only): one ID_Ejecucion shared by every fund, "
                 "stage states as the legacy Estado_Process_* columns hold them")
    firma = p.get("firma")
    checks = {f["id_ejecucion"]: f for f in (firma or {}).get("fondos", [])}
    cols = ["ID_Ejecucion", "fund", "short name", "estado"] + [f"{s} (rows)" for s in stages]
    if firma:
        cols += ["checks", "published"]
    lines = []
    for f in p["fondos"]:
        cells = [str(f["id_ejecucion"]), str(f["id_fund"]), f["fundshortname"][:28], f["estado"]]
        for s in stages:
            e = f["etapas"].get(s, {})
            rows = f" ({e['filas']})" if e.get("filas") is not None else ""
            cells.append(_SHORT.get(e.get("estado"), e.get("estado") or "?") + rows)
        if firma:
            c = checks.get(f["id_ejecucion"]) or {}
            cells += [_CHECKS.get(c.get("verificacion"), "-"), "yes" if c.get("publicado") else "no"]
        lines.append(cells)
    widths = [max([len(c)] + [len(r[i]) for r in lines]) for i, c in enumerate(cols)]
    out = [head, "", "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in lines]
    if not lines:
        out.append("(no fund rows recorded for this proceso)")
    if p.get("metricas"):
        out += ["", "plan metrics: " + p["metricas"]["texto"]]
    if firma:
        out += ["", *lineas_firma(firma)]
    for a in p.get("alertas") or []:
        out += ["", f"ROLLBACK TRIGGER {a['disparador']} (message {a['envio']}): {a['detalle']}",
                f"  what to do: {a['accion']}"]
    for title, failed in (("errors:", True), ("notes:", False)):
        found = [(f, s, e["mensaje"]) for f in p["fondos"] for s, e in f["etapas"].items()
                 if e.get("mensaje") and (e.get("estado") in FAILED_STATES) == failed]
        if found:
            out += ["", title]
            out += [f"  fund {f['id_fund']} {s}: {m}" for f, s, m in found]
    return "\n".join(out)
