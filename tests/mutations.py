"""The mutations `make mutate` applies, to both dialects: one-token changes a tired developer could make
(a fallback order, an FX direction, a sign, a rounding place), each written once per dialect.

bench/mutate.py applies each to the PostgreSQL twin (caught by the oracle tests) and to the T-SQL (caught
by the differential check, tests/test_tsql_twin.py, which also runs every T-SQL mutation in `make test`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str  # under sql/<dialect>/staging
    pg_old: str
    pg_new: str
    tsql_old: str
    tsql_new: str


_FL = "CAST(fl.TipoCambio AS DECIMAL(19, 8)) / CAST(fb.TipoCambio AS DECIMAL(19, 8))"
_FB = "CAST(fb.TipoCambio AS DECIMAL(19, 8)) / CAST(fl.TipoCambio AS DECIMAL(19, 8))"
_I = " " * 16

MUTATIONS = [
    Mutation("price fallback order", "IPA_01_RescatarLocalPrice_v2.sql",
             "COALESCE(hoy.Precio, ant.Precio,", "COALESCE(ant.Precio, hoy.Precio,",
             f"COALESCE(\n{_I}hoy.Precio,\n{_I}ant.Precio,", f"COALESCE(\n{_I}ant.Precio,\n{_I}hoy.Precio,"),
    Mutation("unit-cost rounding place", "IPA_01_RescatarLocalPrice_v2.sql",
             "/ NULLIF(i.Cantidad, 0), 6)", "/ NULLIF(i.Cantidad, 0), 4)",
             "AS DECIMAL(19, 4)), 6) AS DECIMAL(19, 6))", "AS DECIMAL(19, 4)), 4) AS DECIMAL(19, 6))"),
    Mutation("FX direction", "IPA_02_ValorizarPosiciones_v2.sql",
             "CAST(fl.TipoCambio AS NUMERIC(38, 20)) / fb.TipoCambio",
             "CAST(fb.TipoCambio AS NUMERIC(38, 20)) / fl.TipoCambio", _FL, _FB),
    Mutation("base value from the unrounded local value", "IPA_02_ValorizarPosiciones_v2.sql",
             "ROUND(v.ValorLocal * v.TipoCambio, 4)", "ROUND(i.Cantidad * pr.PrecioLocal * v.TipoCambio, 4)",
             "ROUND(v.ValorLocal * v.TipoCambio, 4)",
             "ROUND(CAST(i.Cantidad AS DECIMAL(18, 4)) * pr.PrecioLocal * v.TipoCambio, 4)"),
    Mutation("cash rounding place", "IPA_03_CargarCaja_v2.sql",
             "/ fb.TipoCambio, 8), 4)", "/ fb.TipoCambio, 8), 2)",
             "ROUND(CAST(SUM(c.Saldo) AS DECIMAL(19, 4)) * r.TipoCambio, 4)",
             "ROUND(CAST(SUM(c.Saldo) AS DECIMAL(19, 4)) * r.TipoCambio, 2)"),
    Mutation("weight rounding place", "IPA_04_ConsolidarFinal_v2.sql",
             "AS NUMERIC(38, 20)) / v_total, 6)", "AS NUMERIC(38, 20)) / v_total, 4)",
             "/ @Total, 6)", "/ @Total, 4)"),
    Mutation("redemption sign", "CAPM_01_CargarMovimientos_v2.sql",
             "THEN -ABS(m.Monto) ELSE ABS(m.Monto) END,", "THEN ABS(m.Monto) ELSE ABS(m.Monto) END,",
             "THEN -ABS(m.Monto)", "THEN ABS(m.Monto)"),
    Mutation("sold leg at the bought leg's rate", "Derivados_01_Valorizar_v2.sql",
             "ROUND(d.MontoVenta * ROUND(CAST(fv.TipoCambio", "ROUND(d.MontoVenta * ROUND(CAST(fc.TipoCambio",
             "CAST(d.MontoVenta AS DECIMAL(19, 4)) * r.TipoCambioVenta",
             "CAST(d.MontoVenta AS DECIMAL(19, 4)) * r.TipoCambioCompra"),
    Mutation("custodian break sign", "UBS_02_Conciliar_v2.sql",
             "COALESCE(u.CantidadCustodio, 0) - COALESCE(c.Cantidad, 0),",
             "COALESCE(c.Cantidad, 0) - COALESCE(u.CantidadCustodio, 0),",
             "ISNULL(u.CantidadCustodio, 0) - ISNULL(c.Cantidad, 0)",
             "ISNULL(c.Cantidad, 0) - ISNULL(u.CantidadCustodio, 0)"),
    Mutation("breaks added instead of counted apart", "UBS_03_ConsolidarFinal_v2.sql",
             "FILTER (WHERE r.Estado_Conciliacion <> 'CUADRA')", "FILTER (WHERE r.Estado_Conciliacion <> 'SOLO_CUSTODIO')",
             "r.Estado_Conciliacion <> 'CUADRA'", "r.Estado_Conciliacion <> 'SOLO_CUSTODIO'"),
    Mutation("P&L sign", "PNL_01_CalcularResultado_v2.sql",
             "(w.PrecioLocal - COALESCE(pr.PrecioAnterior, w.PrecioLocal))",
             "(COALESCE(pr.PrecioAnterior, w.PrecioLocal) - w.PrecioLocal)",
             "w.PrecioLocal - COALESCE(pr.PrecioAnterior, w.PrecioLocal)",
             "COALESCE(pr.PrecioAnterior, w.PrecioLocal) - w.PrecioLocal"),
    Mutation("return not net of flows", "PNL_02_ConsolidarFinal_v2.sql",
             "v_inicial := v_patrimonio - v_resultado - v_flujo;", "v_inicial := v_patrimonio - v_resultado;",
             "SET @Inicial = @Patrimonio - @Resultado - @Flujo;", "SET @Inicial = @Patrimonio - @Resultado;"),
]
