"""make mutate: break one formula of the PostgreSQL stage functions at a time and show the tests catch it.

Each mutation is a one-token change a tired developer could make (a fallback order, an FX direction, a
sign, a rounding place). For each, the file is changed, the oracle and numeric-contract tests run against
fresh databases (which deploy the changed function), and the file is restored, whatever happens. A
mutation the tests do not catch "survives": the command then exits 1.

    make mutate            # all 12 mutations, a few seconds each (39 s in all here)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGING = ROOT / "sql" / "postgres" / "staging"
TESTS = ["tests/test_oracle.py", "tests/test_numeric_contract.py"]

MUTATIONS = [
    ("price fallback order", "IPA_01_RescatarLocalPrice_v2.sql",
     "COALESCE(hoy.Precio, ant.Precio,", "COALESCE(ant.Precio, hoy.Precio,"),
    ("unit-cost rounding place", "IPA_01_RescatarLocalPrice_v2.sql",
     "/ NULLIF(i.Cantidad, 0), 6)", "/ NULLIF(i.Cantidad, 0), 4)"),
    ("FX direction", "IPA_02_ValorizarPosiciones_v2.sql",
     "CAST(fl.TipoCambio AS NUMERIC(38, 20)) / fb.TipoCambio",
     "CAST(fb.TipoCambio AS NUMERIC(38, 20)) / fl.TipoCambio"),
    ("base value from the unrounded local value", "IPA_02_ValorizarPosiciones_v2.sql",
     "ROUND(v.ValorLocal * v.TipoCambio, 4)", "ROUND(i.Cantidad * pr.PrecioLocal * v.TipoCambio, 4)"),
    ("cash rounding place", "IPA_03_CargarCaja_v2.sql",
     "/ fb.TipoCambio, 8), 4)", "/ fb.TipoCambio, 8), 2)"),
    ("weight rounding place", "IPA_04_ConsolidarFinal_v2.sql",
     "AS NUMERIC(38, 20)) / v_total, 6)", "AS NUMERIC(38, 20)) / v_total, 4)"),
    ("redemption sign", "CAPM_01_CargarMovimientos_v2.sql",
     "THEN -ABS(m.Monto) ELSE ABS(m.Monto) END,", "THEN ABS(m.Monto) ELSE ABS(m.Monto) END,"),
    ("sold leg at the bought leg's rate", "Derivados_01_Valorizar_v2.sql",
     "ROUND(d.MontoVenta * ROUND(CAST(fv.TipoCambio", "ROUND(d.MontoVenta * ROUND(CAST(fc.TipoCambio"),
    ("custodian break sign", "UBS_02_Conciliar_v2.sql",
     "COALESCE(u.CantidadCustodio, 0) - COALESCE(c.Cantidad, 0),",
     "COALESCE(c.Cantidad, 0) - COALESCE(u.CantidadCustodio, 0),"),
    ("breaks added instead of counted apart", "UBS_03_ConsolidarFinal_v2.sql",
     "FILTER (WHERE r.Estado_Conciliacion <> 'CUADRA')", "FILTER (WHERE r.Estado_Conciliacion <> 'SOLO_CUSTODIO')"),
    ("P&L sign", "PNL_01_CalcularResultado_v2.sql",
     "(w.PrecioLocal - COALESCE(pr.PrecioAnterior, w.PrecioLocal))",
     "(COALESCE(pr.PrecioAnterior, w.PrecioLocal) - w.PrecioLocal)"),
    ("return not net of flows", "PNL_02_ConsolidarFinal_v2.sql",
     "v_inicial := v_patrimonio - v_resultado - v_flujo;", "v_inicial := v_patrimonio - v_resultado;"),
]


def run_one(name: str, file: str, old: str, new: str) -> bool:
    path = STAGING / file
    original = path.read_text()
    if original.count(old) < 1:
        raise SystemExit(f"mutation '{name}': the text to change is not in {file} any more; update bench/mutate.py")
    try:
        path.write_text(original.replace(old, new))
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *TESTS,
                                 "-k", "not mssql"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    finally:
        path.write_text(original)
    caught = result.returncode != 0
    first = next((line for line in result.stdout.splitlines() if "expected" in line and line.startswith("E ")), "")
    print(f"{'caught  ' if caught else 'SURVIVED'}  {name:45} {file}\n          {first.strip()[:150]}", flush=True)
    return caught


def main() -> int:
    started = time.monotonic()
    caught = [run_one(*m) for m in MUTATIONS]
    print(f"\n{sum(caught)} of {len(caught)} mutations caught in {time.monotonic() - started:.0f} s")
    return 0 if all(caught) else 1


if __name__ == "__main__":
    sys.exit(main())
