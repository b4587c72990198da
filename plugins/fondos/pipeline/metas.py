"""The plan's success metrics ("Métricas de Éxito") and a proceso's verdict against them.

| metric                    | target   | tolerance |
|---------------------------|----------|-----------|
| deadlocks per run         | 0        | at most 1 |
| lock escalations          | 0        | at most 2 |
| total duration (50 funds) | < 10 min | < 15 min  |
| funds processed per hour  | > 300    | > 200     |
| queries with a timeout    | 0        | at most 1 |

Each metric is `met`, `within tolerance`, `missed`, or `not measured` (the
value is NULL: the engine has no such counter, or it could not be read). The
proceso's verdict is the worst of its measured metrics; `not measured` ones are
named, never counted as met. Pure functions: the numbers come from
logs.vw_Proceso_Metricas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MET, TOLERATED, MISSED, UNMEASURED = "met", "within tolerance", "missed", "not measured"
_RANK = {MET: 0, TOLERATED: 1, MISSED: 2}


@dataclass(frozen=True)
class Meta:
    key: str          # column of logs.vw_Proceso_Metricas (lower case)
    label: str
    target: str       # as the plan writes it
    tolerance: str
    higher_is_better: bool
    target_value: float
    tolerance_value: float
    unit: str = ""
    strict: bool = False  # the plan writes "< 10 min": the limit itself is not met (the others say "max N")

    def grade(self, value: Any) -> str:
        if value is None:
            return UNMEASURED
        v = float(value)
        if self.higher_is_better:
            return MET if v > self.target_value else TOLERATED if v > self.tolerance_value else MISSED
        if self.strict:
            return MET if v < self.target_value else TOLERATED if v < self.tolerance_value else MISSED
        return MET if v <= self.target_value else TOLERATED if v <= self.tolerance_value else MISSED


METAS = (
    Meta("deadlocks", "Deadlocks", "0", "max 1", False, 0, 1),
    Meta("lockescalations", "Lock escalations", "0", "max 2", False, 0, 2),
    Meta("duracionsegundos", "Duration", "< 10 min", "< 15 min", False, 600, 900, "s", strict=True),
    Meta("fondosporhora", "Funds per hour", "> 300", "> 200", True, 300, 200, "/h"),
    Meta("locktimeouts", "Queries with a lock timeout", "0", "max 1", False, 0, 1),
)


def _show(meta: Meta, value: Any) -> str:
    if value is None:
        return "n/a"
    if meta.key == "duracionsegundos":
        m, s = divmod(int(value), 60)
        return f"{m} min {s:02d} s"
    return f"{float(value):g}{meta.unit}" if meta.key == "fondosporhora" else str(int(value))


def veredicto(row: dict[str, Any] | None) -> dict[str, Any]:
    """The verdict of one proceso from its logs.vw_Proceso_Metricas row (keys lower case)."""
    if not row:
        return {"veredicto": UNMEASURED, "closed": False, "metricas": [],
                "texto": "no metrics recorded for this proceso (created before migration 022, or not started)"}
    closed = row.get("fechacierremedicion") is not None
    metricas = []
    for meta in METAS:
        value = row.get(meta.key) if closed else None
        metricas.append({"metrica": meta.key, "nombre": meta.label, "valor": None if value is None else float(value),
                         "mostrado": _show(meta, value), "objetivo": meta.target, "tolerancia": meta.tolerance,
                         "resultado": meta.grade(value)})
    graded = [m["resultado"] for m in metricas if m["resultado"] != UNMEASURED]
    overall = UNMEASURED if not closed or not graded else max(graded, key=_RANK.__getitem__)
    if not closed:
        texto = "the proceso is not closed yet: its metrics are taken when it closes"
    else:
        parts = [f"{m['nombre']} {m['mostrado']} ({m['resultado']}; target {m['objetivo']}, tolerance "
                 f"{m['tolerancia']})" for m in metricas]
        texto = f"{overall.upper()}: " + "; ".join(parts)
    return {"veredicto": overall, "closed": closed, "metricas": metricas, "texto": texto,
            "motor": row.get("motor"), "reintentos": row.get("reintentos")}
