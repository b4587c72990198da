-- logs.vw_Procesos
-- One row per proceso with its figures, how many funds are still running and
-- how long it took: "how did today go?"
-- History is included and marked Legado: the procesos 015 backfilled, and
-- runs the legacy v2 backend wrote after the migration (a logs.Ejecuciones
-- row without ID_Proceso, shown as the proceso of the same id, as 015 would
-- backfill it). DuracionSegundos is NULL (unknown) when the end is missing or
-- before the start, as legacy rows sometimes have.
-- FondosLegado: how many active funds were with the legacy writer when the
-- proceso was created (028); NULL for history and older procesos.
-- DuracionSegundos is the duration rounded to whole seconds (half away from
-- zero), BIGINT, as in the PostgreSQL twin: DATEDIFF(SECOND, ...) returns INT
-- and raised error 535 on every read once one row spanned more than 68 years
-- (a legacy default start of 1900-01-01, say); DATEDIFF_BIG of milliseconds,
-- divided and rounded, cannot overflow and rounds as PostgreSQL's cast does.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER VIEW logs.vw_Procesos
AS
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
    CASE
        WHEN p.FechaFin >= p.FechaInicio THEN CAST(ROUND(DATEDIFF_BIG(MILLISECOND, p.FechaInicio, p.FechaFin) / 1000.0, 0) AS BIGINT)
    END AS DuracionSegundos,
    p.Legado,
    p.FondosLegado
FROM logs.Procesos AS p
UNION ALL
SELECT
    e.ID_Ejecucion,
    e.FechaReporte,
    e.Estado,
    e.Usuario,
    NULL,
    e.TotalFondos,
    e.FondosExitosos,
    e.FondosFallidos,
    e.TotalFondos - e.FondosExitosos - e.FondosFallidos,
    e.FechaInicio,
    e.FechaFin,
    CASE
        WHEN e.FechaFin >= e.FechaInicio THEN CAST(ROUND(DATEDIFF_BIG(MILLISECOND, e.FechaInicio, e.FechaFin) / 1000.0, 0) AS BIGINT)
    END,
    CAST(1 AS BIT),
    CAST(NULL AS INT)
FROM logs.Ejecuciones AS e
WHERE e.ID_Proceso IS NULL;
GO

GRANT SELECT ON logs.vw_Procesos TO fondos_pipeline;
GO

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Procesos TO fondos_lector;
GRANT SELECT ON logs.vw_Procesos TO fondos_operador;
GO
