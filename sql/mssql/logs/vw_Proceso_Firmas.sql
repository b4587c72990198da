-- logs.vw_Proceso_Firmas
-- Each sign-off decision of a proceso (migration 030, logs.sp_Firmar_Proceso):
-- APROBADO or RECHAZADO, by whom, asked by whom, the comment, how many
-- ejecuciones the approval published, and when.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER VIEW logs.vw_Proceso_Firmas
AS
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
GO

GRANT SELECT ON logs.vw_Proceso_Firmas TO fondos_pipeline;
GO

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Proceso_Firmas TO fondos_lector;
GRANT SELECT ON logs.vw_Proceso_Firmas TO fondos_operador;
GO
