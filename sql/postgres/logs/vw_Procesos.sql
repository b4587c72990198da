-- logs.vw_Procesos
-- One row per proceso with its figures, how many funds are still running and
-- how long it took: "how did today go?"
CREATE OR REPLACE VIEW logs.vw_Procesos AS
SELECT
    p.ID_Proceso,
    p.FechaReporte,
    p.Estado,
    p.Usuario,
    p.ClaveEjecucion,
    p.TotalFondos,
    p.FondosExitosos,
    p.FondosFallidos,
    p.TotalFondos - p.FondosExitosos - p.FondosFallidos AS FondosEnProgreso,
    p.FechaInicio,
    p.FechaFin,
    CAST(EXTRACT(EPOCH FROM (p.FechaFin - p.FechaInicio)) AS INTEGER) AS DuracionSegundos
FROM logs.Procesos AS p;

GRANT SELECT ON logs.vw_Procesos TO fondos_pipeline;
