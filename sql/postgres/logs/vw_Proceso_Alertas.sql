-- logs.vw_Proceso_Alertas
-- The rollback triggers that fired for each proceso (migration 029): which
-- one, the figures that fired it, the plan's action, when it was recorded and
-- where its message stands (Envio, Canal, FechaEnvio).
CREATE OR REPLACE VIEW logs.vw_Proceso_Alertas AS
SELECT
    a.ID_Proceso,
    p.FechaReporte,
    a.Disparador,
    a.Detalle,
    a.Accion,
    a.FechaRegistro,
    a.Envio,
    a.Canal,
    a.FechaEnvio
FROM logs.Proceso_Alertas AS a
INNER JOIN logs.Procesos AS p ON a.ID_Proceso = p.ID_Proceso;

GRANT SELECT ON logs.vw_Proceso_Alertas TO fondos_pipeline;

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Proceso_Alertas TO fondos_lector;
GRANT SELECT ON logs.vw_Proceso_Alertas TO fondos_operador;
