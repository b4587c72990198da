-- logs.vw_Ejecucion_Etapas
-- One row per fund and stage of every proceso, with state, times, rows,
-- attempts and error text: "which fund failed, where, and why?"
CREATE OR ALTER VIEW logs.vw_Ejecucion_Etapas
AS
SELECT
    e.ID_Proceso,
    e.FechaReporte,
    e.ID_Ejecucion,
    e.ID_Fund,
    f.FundShortName,
    e.Estado AS Estado_Ejecucion,
    t.Etapa,
    t.Estado,
    t.FechaInicio,
    t.FechaFin,
    DATEDIFF(SECOND, t.FechaInicio, t.FechaFin) AS DuracionSegundos,
    t.Filas,
    t.Intentos,
    t.Mensaje
FROM logs.Ejecuciones AS e
INNER JOIN logs.Ejecucion_Fondos AS f ON e.ID_Ejecucion = f.ID_Ejecucion
INNER JOIN logs.Ejecucion_Etapas AS t ON e.ID_Ejecucion = t.ID_Ejecucion;
GO

GRANT SELECT ON logs.vw_Ejecucion_Etapas TO fondos_pipeline;
GO
