-- logs.vw_Proceso_Avisos
-- The morning messages sent for each proceso (migration 023): one row per
-- distinct outcome reported, with where it went and when.
CREATE OR REPLACE VIEW logs.vw_Proceso_Avisos AS
SELECT
    a.ID_Proceso,
    p.FechaReporte,
    a.Firma,
    a.Canal,
    a.Estado,
    a.FechaEnvio
FROM logs.Proceso_Avisos AS a
INNER JOIN logs.Procesos AS p ON a.ID_Proceso = p.ID_Proceso;

GRANT SELECT ON logs.vw_Proceso_Avisos TO fondos_pipeline;
