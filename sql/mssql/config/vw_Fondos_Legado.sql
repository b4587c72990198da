-- config.vw_Fondos_Legado
-- The funds the legacy writer still processes during the transition (028):
-- active funds whose config.Fondos.Arquitectura is 'v2'. The legacy writer's
-- fund query must read this view instead of config.Fondos, so a fund moved to
-- procesos_diarios ('v3') is processed by one writer only.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER VIEW config.vw_Fondos_Legado
AS
SELECT
    f.ID_Fund,
    f.FundShortName,
    f.Portfolio_Geneva,
    f.Portfolio_CAPM,
    f.Portfolio_Derivados,
    f.Portfolio_UBS,
    f.Moneda_Base,
    f.Aplica_IPA,
    f.Aplica_CAPM,
    f.Aplica_PNL,
    f.Aplica_Derivados,
    f.Aplica_UBS,
    f.ArquitecturaDesde,
    f.ArquitecturaUsuario
FROM config.Fondos AS f
WHERE f.Activo = 1 AND f.Arquitectura = 'v2';
GO

GRANT SELECT ON config.vw_Fondos_Legado TO fondos_operador;
GO
