-- logs.sp_Borrar_Filas_Ejecucion
-- Deletes every extract.* and staging.* row of one ID_Ejecucion, and nothing
-- else, shared by the per-fund rollback and the proceso deletion. Each table
-- is emptied of that ejecución in batches of 4,000 rows, below the 5,000-lock
-- escalation threshold, each batch a seek on the ID_Ejecucion-first
-- clustered index. Table names come from the constant list below and are
-- quoted with QUOTENAME; the id and batch size are bound parameters of
-- sp_executesql. Runs in the caller's transaction if there is one.
-- WITH EXECUTE AS OWNER: dynamic SQL breaks ownership chaining, and the
-- pipeline role has no DELETE on any table (018).
-- First it takes the five stage locks of the ejecución (logs.sp_Bloquear_Ejecucion,
-- always in the order IPA, CAPM, Derivados, UBS, PNL; a step holds only one),
-- so a killed attempt's step still running on the server finishes before the
-- rows go, instead of committing them again after the rollback. The locks
-- belong to the caller's transaction, which must be open (both callers open
-- one around the INSERT ... EXEC of this procedure).
-- Refuses legacy history first (logs.sp_Rechazar_Legado, 50040): a legacy
-- ID_Ejecucion is shared by every fund of its run, so deleting by it on behalf
-- of one fund would delete them all.
-- Not for the pipeline role directly (it deletes a fund's rows and records
-- nothing): 018 grants fondos_pipeline EXECUTE on the whole schema logs, and
-- the DENY at the end of this file takes it back for this procedure alone
-- (a DENY on the object wins over the schema GRANT; CREATE OR ALTER keeps
-- it). logs.sp_Revertir_Ejecucion and logs.sp_Eliminar_Proceso, its callers,
-- still run it when the pipeline calls them: they are owned by dbo like it,
-- and along an ownership chain SQL Server checks no permission on the inner
-- object, so the DENY is not checked there.
-- Parameters: @ID_Ejecucion. Returns Filas, the rows deleted.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Borrar_Filas_Ejecucion
    @ID_Ejecucion BIGINT
    WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    EXEC logs.sp_Rechazar_Legado
        @ID_Proceso = NULL, @ID_Ejecucion = @ID_Ejecucion, @Accion = N'deleting the rows of an ejecución';

    DECLARE @Lote INT = 4000;
    DECLARE @Total INT = 0;
    DECLARE @Borradas INT;
    DECLARE @Orden INT = 1;
    DECLARE @Tabla SYSNAME;
    DECLARE @Esquema SYSNAME;
    DECLARE @Sql NVARCHAR(1000);
    DECLARE @Tablas TABLE (Orden INT NOT NULL PRIMARY KEY, Esquema SYSNAME NOT NULL, Tabla SYSNAME NOT NULL);

    INSERT INTO @Tablas (Orden, Esquema, Tabla)
    VALUES
    (1, N'extract', N'IPA'), (2, N'extract', N'CAPM'), (3, N'extract', N'PosModRF'), (4, N'extract', N'SONA'),
    (5, N'extract', N'Derivados'), (6, N'extract', N'UBS'), (7, N'staging', N'IPA_Precios'),
    (8, N'staging', N'IPA_WorkTable'), (9, N'staging', N'IPA_Cash'), (10, N'staging', N'IPA_Final'),
    (11, N'staging', N'CAPM_WorkTable'), (12, N'staging', N'CAPM_Final'), (13, N'staging', N'PNL_WorkTable'),
    (14, N'staging', N'PNL_Final'), (15, N'staging', N'Derivados_WorkTable'), (16, N'staging', N'Derivados_Final'),
    (17, N'staging', N'UBS_WorkTable'), (18, N'staging', N'UBS_Reconciliacion'), (19, N'staging', N'UBS_Final');

    EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'IPA';
    EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'CAPM';
    EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'Derivados';
    EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'UBS';
    EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'PNL';

    WHILE @Orden <= 19
        BEGIN
            SELECT
                @Esquema = t.Esquema,
                @Tabla = t.Tabla
            FROM @Tablas AS t
            WHERE t.Orden = @Orden;

            SET
                @Sql = N'DECLARE @n INT = 1; SET @Borradas = 0; WHILE @n > 0 BEGIN DELETE TOP (@Lote) FROM '
                + QUOTENAME(@Esquema) + N'.' + QUOTENAME(@Tabla)
                + N' WHERE ID_Ejecucion = @ID_Ejecucion; SET @n = @@ROWCOUNT; SET @Borradas += @n; END;';
            EXEC sys.sp_executesql
                @Sql,
                N'@Lote INT, @ID_Ejecucion BIGINT, @Borradas INT OUTPUT',
                @Lote = @Lote,
                @ID_Ejecucion = @ID_Ejecucion,
                @Borradas = @Borradas OUTPUT;
            SET @Total += @Borradas;
            SET @Orden += 1;
        END;

    SELECT @Total AS Filas;
END;
GO

DENY EXECUTE ON logs.sp_Borrar_Filas_Ejecucion TO fondos_pipeline;
GO
