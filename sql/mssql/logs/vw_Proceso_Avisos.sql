-- logs.vw_Proceso_Avisos
-- The morning messages sent for each proceso (migration 023): one row per
-- distinct outcome reported, with where it went and when.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER VIEW logs.vw_Proceso_Avisos
AS
SELECT
    a.ID_Proceso,
    p.FechaReporte,
    a.Firma,
    a.Canal,
    a.Estado,
    a.FechaEnvio
FROM logs.Proceso_Avisos AS a
INNER JOIN logs.Procesos AS p ON a.ID_Proceso = p.ID_Proceso;
GO

GRANT SELECT ON logs.vw_Proceso_Avisos TO fondos_pipeline;
GO
