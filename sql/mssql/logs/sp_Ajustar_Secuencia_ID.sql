-- logs.sp_Ajustar_Secuencia_ID
-- Keeps logs.Seq_ID above every id that exists anywhere: logs.Procesos,
-- logs.Ejecuciones, logs.Ejecucion_Fondos and every extract.*/staging.* table
-- (a legacy run whose log row was purged survives there only; a restored
-- legacy row or the legacy v2 writer during the transition can add higher ids
-- after 012 set the start). Moves the sequence forward only, never back.
-- Called by `fondos db migrate` after every run and by
-- logs.sp_Inicializar_Proceso before it takes ids. Each MAX is one seek of an
-- index led by ID_Ejecucion (017), so the call costs about 20 index probes.
--
-- The next id is read from sys.sequences: current_value is the last value
-- handed out, so the next is current_value + increment; a sequence created or
-- restarted and not used since (last_used_value IS NULL, SQL Server 2017+)
-- hands out current_value itself next (after RESTART WITH n that is n;
-- start_value keeps the CREATE value). ALTER SEQUENCE accepts no variables: the restart
-- value, a BIGINT computed here from MAX(id) + 1 and never user input, is
-- formatted into dynamic SQL.
-- Concurrency: an exclusive application lock owned by the transaction
-- serialises every adjustment, and, because sp_Inicializar_Proceso calls this
-- in its own transaction right before it draws ids (the only code that draws
-- from logs.Seq_ID), every draw too: a restart can never hand out an id that
-- another initialisation has already taken. Reads see committed rows
-- (READ_COMMITTED_SNAPSHOT, set by the bootstrap), so they never wait for a
-- fund's open transaction.
-- Runs in the caller's transaction if there is one (never rolling it back
-- itself: the caller's CATCH does), else in a transaction of its own.
-- WITH EXECUTE AS OWNER: dynamic SQL breaks ownership chaining, and the
-- pipeline role has no ALTER on the sequence, nor sight of it in
-- sys.sequences (018).
-- Not for the pipeline role directly (it restarts logs.Seq_ID): 018 grants
-- fondos_pipeline EXECUTE on the whole schema logs, and the DENY at the end of
-- this file takes it back for this procedure alone (a DENY on the object wins
-- over the schema GRANT; CREATE OR ALTER keeps it). `fondos db migrate` runs
-- it as the database owner, whom no DENY stops. logs.sp_Inicializar_Proceso,
-- which the pipeline calls, still runs it: both are owned by dbo, and along an
-- ownership chain SQL Server checks no permission on the inner object, so the
-- DENY is not checked there. WITH EXECUTE AS OWNER is unaffected: the chain
-- lets the caller's module execute this one, which then runs as dbo as before.
-- Returns one row: Anterior (the next id before the call), Siguiente (after).
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Ajustar_Secuencia_ID
    WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Propia BIT = CASE WHEN @@TRANCOUNT = 0 THEN 1 ELSE 0 END;
    DECLARE @Bloqueo INT;
    DECLARE @Max BIGINT;
    DECLARE @Anterior BIGINT;
    DECLARE @Siguiente BIGINT;
    DECLARE @Sql NVARCHAR(200);

    BEGIN TRY
        IF @Propia = 1
            BEGIN TRANSACTION;

        EXEC @Bloqueo = sys.sp_getapplock
            @Resource = N'fondos.logs.Seq_ID', @LockMode = 'Exclusive', @LockOwner = 'Transaction',
            @LockTimeout = 30000;
        IF @Bloqueo < 0
            THROW 50041, N'logs.Seq_ID is being adjusted or drawn from by another session; try again in a minute', 1;

        -- MAX ignores the NULL of an empty table; @Max is NULL only when there is no id at all.
        SELECT @Max = MAX(m.ID)
        FROM (
            SELECT MAX(t.ID_Proceso) AS ID FROM logs.Procesos AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM logs.Ejecuciones AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM logs.Ejecucion_Fondos AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.IPA AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.CAPM AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.PosModRF AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.SONA AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.Derivados AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.UBS AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_Precios AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_WorkTable AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_Cash AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_Final AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.CAPM_WorkTable AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.CAPM_Final AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.PNL_WorkTable AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.PNL_Final AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.Derivados_WorkTable AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.Derivados_Final AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.UBS_WorkTable AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.UBS_Reconciliacion AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.UBS_Final AS t
        ) AS m;

        SELECT
            @Anterior = CASE
                WHEN s.last_used_value IS NULL THEN CAST(s.current_value AS BIGINT)
                ELSE CAST(s.current_value AS BIGINT) + CAST(s.increment AS BIGINT)
            END
        FROM sys.sequences AS s
        WHERE s.object_id = OBJECT_ID(N'logs.Seq_ID', N'SO');
        IF @Anterior IS NULL
            THROW 50042, N'the sequence logs.Seq_ID does not exist (migration 012 creates it)', 1;

        SET @Siguiente = @Anterior;
        IF @Max >= @Anterior
            BEGIN
                SET @Siguiente = @Max + 1;
                SET @Sql = N'ALTER SEQUENCE logs.Seq_ID RESTART WITH ' + CAST(@Siguiente AS NVARCHAR(20)) + N';';
                EXEC sys.sp_executesql @Sql;
            END;

        IF @Propia = 1
            COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @Propia = 1 AND @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT
        @Anterior AS Anterior,
        @Siguiente AS Siguiente;
END;
GO

DENY EXECUTE ON logs.sp_Ajustar_Secuencia_ID TO fondos_pipeline;
GO
