-- config.vw_Fondos_Arquitectura
-- Every fund with the architecture that processes it (028): 'v3'
-- procesos_diarios, 'v2' the legacy writer, since when and set by whom. What
-- `fondos fondos lista` shows; the operator's login reads it, and crear_proceso
-- (the pipeline's login) counts the funds it will map before creating the proceso.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER VIEW config.vw_Fondos_Arquitectura
AS
SELECT
    f.ID_Fund,
    f.FundShortName,
    f.Activo,
    f.Arquitectura,
    f.ArquitecturaDesde,
    f.ArquitecturaUsuario
FROM config.Fondos AS f;
GO

GRANT SELECT ON config.vw_Fondos_Arquitectura TO fondos_operador;
GRANT SELECT ON config.vw_Fondos_Arquitectura TO fondos_pipeline;
GO
