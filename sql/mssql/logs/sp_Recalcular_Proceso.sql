-- logs.sp_Recalcular_Proceso
-- The plan's updateProcesoStats: recomputes every ejecución's Estado from its
-- stages, then the proceso's figures and state from its ejecuciones. Always
-- recomputed from the children, never incremented, so a retried fund counts
-- once. Runs inside the caller's transaction, which must hold the proceso row
-- lock (see sp_Actualizar_Estado_Etapa).
--   ejecución: ERROR if a stage is ERROR; OK if every stage is OK or OMITIDO;
--              else EN_PROGRESO.
--   proceso:   EN_PROGRESO while any ejecución is; then ERROR if any failed,
--              else OK, with FechaFin.
-- Only the ejecuciones whose Estado or FechaFin actually change are written,
-- as in the PostgreSQL twin: the others are read and released, so a call
-- holds exclusive locks (row and index keys) on the changed rows alone until
-- its caller commits, and meets a new date's initialisation less often. The
-- comparison is NULL-safe and spelled out (IS DISTINCT FROM needs SQL Server
-- 2022), and binary on Estado, so a case-only difference counts as a change as
-- it does in PostgreSQL.
-- Every writer of logs.Ejecucion_Etapas must end with this recount under the
-- proceso row lock: sp_Actualizar_Estado_Etapa skips it when its fund's own
-- state did not change, which is sound only if the figures were right before.
-- Refuses legacy history (logs.sp_Rechazar_Legado). The guard raises inside
-- the caller's transaction; XACT_ABORT dooms it and the caller's CATCH rolls
-- it back.
-- Not for the pipeline role directly (it rewrites a proceso's states and must
-- run under its caller's proceso row lock): 018 grants fondos_pipeline EXECUTE
-- on the whole schema logs, and the DENY at the end of this file takes it back
-- for this procedure alone (a DENY on the object wins over the schema GRANT;
-- CREATE OR ALTER keeps it). Its callers (sp_Actualizar_Estado_Etapa,
-- sp_Revertir_Ejecucion, sp_Inicializar_Proceso,
-- sp_Actualizar_Estadisticas_Proceso) still run it when the pipeline calls
-- them: they are owned by dbo like it, and along an ownership chain SQL Server
-- checks no permission on the inner object, so the DENY is not checked there.
-- Parameters: @ID_Proceso.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Recalcular_Proceso
    @ID_Proceso BIGINT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    EXEC logs.sp_Rechazar_Legado
        @ID_Proceso = @ID_Proceso, @ID_Ejecucion = NULL, @Accion = N'recomputing the figures of a proceso';

    -- Its two UPDATEs are one recount only inside the caller's transaction, under the caller's proceso row
    -- lock (the PostgreSQL twin, a function, always runs inside its caller's). Alone, each would commit
    -- apart and unlocked: refused.
    IF @@TRANCOUNT = 0
        BEGIN
            DECLARE @Fuera NVARCHAR(400) = CONCAT(
                N'logs.sp_Recalcular_Proceso runs inside its caller''s transaction, which holds the proceso row ',
                N'lock; to recompute a proceso call logs.sp_Actualizar_Estadisticas_Proceso'
            );
            THROW 50060, @Fuera, 1;
        END;

    UPDATE e
    SET
        e.Estado = s.Estado,
        e.FechaFin = f.FechaFin
    FROM logs.Ejecuciones AS e
    INNER JOIN (
        SELECT
            t.ID_Ejecucion,
            CASE
                WHEN MAX(CASE WHEN t.Estado = 'ERROR' THEN 1 ELSE 0 END) = 1 THEN 'ERROR'
                WHEN MIN(CASE WHEN t.Estado IN ('OK', 'OMITIDO') THEN 1 ELSE 0 END) = 1 THEN 'OK'
                ELSE 'EN_PROGRESO'
            END AS Estado,
            MAX(t.FechaFin) AS Fin
        FROM logs.Ejecucion_Etapas AS t
        INNER JOIN logs.Ejecuciones AS x ON t.ID_Ejecucion = x.ID_Ejecucion
        WHERE x.ID_Proceso = @ID_Proceso
        GROUP BY t.ID_Ejecucion
    ) AS s ON e.ID_Ejecucion = s.ID_Ejecucion
    CROSS APPLY (VALUES (CASE WHEN s.Estado = 'EN_PROGRESO' THEN NULL ELSE s.Fin END)) AS f(FechaFin)
    WHERE
        e.Estado COLLATE Latin1_General_BIN2 <> s.Estado
        OR e.FechaFin <> f.FechaFin
        OR (e.FechaFin IS NULL AND f.FechaFin IS NOT NULL)
        OR (e.FechaFin IS NOT NULL AND f.FechaFin IS NULL);

    UPDATE p
    SET
        p.TotalFondos = c.Total,
        p.FondosExitosos = c.Ok,
        p.FondosFallidos = c.Err,
        p.Estado = CASE
            WHEN c.Ok + c.Err < c.Total THEN 'EN_PROGRESO'
            WHEN c.Err > 0 THEN 'ERROR'
            ELSE 'OK'
        END,
        p.FechaFin = CASE WHEN c.Ok + c.Err < c.Total THEN NULL ELSE COALESCE(p.FechaFin, SYSDATETIME()) END
    FROM logs.Procesos AS p
    CROSS APPLY (
        SELECT
            COUNT(*) AS Total,
            ISNULL(SUM(CASE WHEN e.Estado = 'OK' THEN 1 ELSE 0 END), 0) AS Ok,
            ISNULL(SUM(CASE WHEN e.Estado = 'ERROR' THEN 1 ELSE 0 END), 0) AS Err
        FROM logs.Ejecuciones AS e
        WHERE e.ID_Proceso = p.ID_Proceso
    ) AS c
    WHERE p.ID_Proceso = @ID_Proceso;
END;
GO

DENY EXECUTE ON logs.sp_Recalcular_Proceso TO fondos_pipeline;
GO
