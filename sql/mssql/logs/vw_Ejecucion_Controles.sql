-- logs.vw_Ejecucion_Controles
-- Each ejecución's plausibility checks as last run (migration 030,
-- logs.sp_Controlar_Ejecucion), with its proceso, fund and report date: the
-- check, its state (OK, RETENIDO, SIN_COMPARACION, NO_APLICA), the value found,
-- the previous approved value and its date (PATRIMONIO), the breaks' amount in
-- base currency (QUIEBRES_MONTO, Importe), and the threshold used.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER VIEW logs.vw_Ejecucion_Controles
AS
SELECT
    e.ID_Proceso,
    k.ID_Ejecucion,
    e.ID_Fund,
    e.FechaReporte,
    k.Control,
    k.Estado,
    k.Valor,
    k.ValorAnterior,
    k.Importe,
    k.Umbral,
    k.FechaAnterior,
    k.FechaControl
FROM logs.Ejecucion_Controles AS k
INNER JOIN logs.Ejecuciones AS e ON k.ID_Ejecucion = e.ID_Ejecucion;
GO

GRANT SELECT ON logs.vw_Ejecucion_Controles TO fondos_pipeline;
GO

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Ejecucion_Controles TO fondos_lector;
GRANT SELECT ON logs.vw_Ejecucion_Controles TO fondos_operador;
GO
