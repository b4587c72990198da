-- logs.vw_Ejecucion_Fondos
-- One row per ejecución of procesos_diarios (one fund of one proceso): what a
-- stage task needs to run that fund, as sp_Inicializar_Proceso snapshotted it
-- (the fund's name and portfolio codes at creation; a stage is applicable
-- unless its Estado_Process_* is OMITIDO). Each mapped task of the DAG
-- receives only its ID_Ejecucion and reads the rest here, so its work does not
-- grow with the number of funds. Legacy runs (no ID_Fund on logs.Ejecuciones)
-- are not listed.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER VIEW logs.vw_Ejecucion_Fondos
AS
SELECT
    e.ID_Proceso,
    e.ID_Ejecucion,
    e.ID_Fund,
    e.FechaReporte,
    f.FundShortName,
    f.Portfolio_Geneva,
    f.Portfolio_CAPM,
    f.Portfolio_Derivados,
    f.Portfolio_UBS,
    f.Estado_Process_IPA,
    f.Estado_Process_CAPM,
    f.Estado_Process_PNL,
    f.Estado_Process_Derivados,
    f.Estado_Process_UBS
FROM logs.Ejecuciones AS e
INNER JOIN logs.Ejecucion_Fondos AS f ON e.ID_Ejecucion = f.ID_Ejecucion
WHERE e.ID_Fund IS NOT NULL;
GO

GRANT SELECT ON logs.vw_Ejecucion_Fondos TO fondos_pipeline;
GO

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too (the checks' fund names).
GRANT SELECT ON logs.vw_Ejecucion_Fondos TO fondos_lector;
GRANT SELECT ON logs.vw_Ejecucion_Fondos TO fondos_operador;
GO
