-- logs.vw_Proceso_Avisos
-- The morning messages of each proceso (migration 023): one row per outcome
-- reported, in order (Secuencia), with where it went, whether its sending was
-- confirmed (Envio) and when.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client (a module keeps both).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER VIEW logs.vw_Proceso_Avisos
AS
SELECT
    a.ID_Proceso,
    p.FechaReporte,
    a.Secuencia,
    a.Firma,
    a.Canal,
    a.Estado,
    a.Envio,
    a.FechaReserva,
    a.FechaEnvio
FROM logs.Proceso_Avisos AS a
INNER JOIN logs.Procesos AS p ON a.ID_Proceso = p.ID_Proceso;
GO

GRANT SELECT ON logs.vw_Proceso_Avisos TO fondos_pipeline;
GO

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Proceso_Avisos TO fondos_lector;
GRANT SELECT ON logs.vw_Proceso_Avisos TO fondos_operador;
GO
