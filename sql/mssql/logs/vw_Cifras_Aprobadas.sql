-- logs.vw_Cifras_Aprobadas
-- What downstream systems read: per fund and report date, the latest approved
-- and still current figures (migration 030). A publication is current while
-- its ejecución is OK and nothing of it ran after it: no stage started or
-- ended and no check ran after FechaPublicacion. A fund re-run after approval
-- therefore leaves this view until a new approval publishes it again; a held
-- fund that no operator accepted is never published.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER VIEW logs.vw_Cifras_Aprobadas
AS
SELECT
    x.ID_Fund,
    x.FechaReporte,
    x.ID_Proceso,
    x.ID_Ejecucion,
    f.PatrimonioBase,
    f.ResultadoBase,
    f.FlujoNeto,
    f.RentabilidadPct,
    x.Aprobador,
    x.FechaFirma,
    x.FechaPublicacion
FROM (
    SELECT
        e.ID_Fund,
        e.FechaReporte,
        e.ID_Proceso,
        e.ID_Ejecucion,
        g.Usuario AS Aprobador,
        g.FechaFirma,
        p.FechaPublicacion,
        ROW_NUMBER() OVER (
            PARTITION BY e.ID_Fund, e.FechaReporte ORDER BY p.FechaPublicacion DESC, p.ID_Ejecucion DESC
        ) AS Orden
    FROM logs.Ejecucion_Publicaciones AS p
    INNER JOIN logs.Proceso_Firmas AS g ON p.ID_Proceso = g.ID_Proceso AND p.Secuencia = g.Secuencia
    INNER JOIN logs.Ejecuciones AS e ON p.ID_Ejecucion = e.ID_Ejecucion
    WHERE
        e.Estado = 'OK'
        AND NOT EXISTS (
            SELECT 1 FROM logs.Ejecucion_Etapas AS t
            WHERE
                t.ID_Ejecucion = p.ID_Ejecucion
                AND (t.FechaInicio > p.FechaPublicacion OR t.FechaFin > p.FechaPublicacion)
        )
        AND NOT EXISTS (
            SELECT 1 FROM logs.Ejecucion_Controles AS k
            WHERE k.ID_Ejecucion = p.ID_Ejecucion AND k.FechaControl > p.FechaPublicacion
        )
) AS x
INNER JOIN staging.PNL_Final AS f ON x.ID_Ejecucion = f.ID_Ejecucion
WHERE x.Orden = 1;
GO

GRANT SELECT ON logs.vw_Cifras_Aprobadas TO fondos_pipeline;
GO

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Cifras_Aprobadas TO fondos_lector;
GRANT SELECT ON logs.vw_Cifras_Aprobadas TO fondos_operador;
GO
