-- logs.vw_Proceso_Firmas
-- Each sign-off decision of a proceso (migration 030, logs.sp_Firmar_Proceso):
-- APROBADO or RECHAZADO, by whom, asked by whom, the comment, how many
-- ejecuciones the approval published, and when.
CREATE OR REPLACE VIEW logs.vw_Proceso_Firmas AS
SELECT
    g.ID_Proceso,
    p.FechaReporte,
    g.Secuencia,
    g.Decision,
    g.Usuario,
    g.Solicitante,
    g.Comentario,
    g.Publicadas,
    g.FechaFirma
FROM logs.Proceso_Firmas AS g
INNER JOIN logs.Procesos AS p ON g.ID_Proceso = p.ID_Proceso;

GRANT SELECT ON logs.vw_Proceso_Firmas TO fondos_pipeline;

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Proceso_Firmas TO fondos_lector;
GRANT SELECT ON logs.vw_Proceso_Firmas TO fondos_operador;
