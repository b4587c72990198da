-- logs.sp_Bloquear_Ejecucion
-- Called first by every stage step, inside the step's transaction: an
-- exclusive, transaction-scoped lock on (ID_Ejecucion, Etapa), released at
-- commit or rollback. Two calls of one stage for one ejecución -- a retry
-- racing a killed attempt whose statement is still running on the server, or
-- an operator running a step by hand -- never interleave their
-- delete-and-insert: the second waits for the first to end. After 300 s it
-- gives up with a message saying why (the step fails cleanly, nothing written).
-- Parameters: @ID_Ejecucion; @Etapa (IPA, CAPM, PNL, Derivados, UBS).
--
-- SQL Server: an application lock, sys.sp_getapplock with @LockOwner =
-- 'Transaction', on the resource N'fondos/<Etapa>/<ID_Ejecucion>' (under 40
-- characters; sp_getapplock takes up to 255 and compares names binary, so the
-- stage is written in its catalog spelling whatever the caller's case). The
-- lock belongs to the caller's transaction and ends with its outermost
-- COMMIT or ROLLBACK, so it must be called inside it: with @@TRANCOUNT = 0
-- there is no transaction to own it and this raises 50044 (a bug in the
-- calling step). Each step calls it right after its BEGIN TRANSACTION, before
-- its first DELETE/INSERT, and then checks its ejecución again
-- (logs.sp_Validar_Ejecucion): a revert or a proceso deletion may have
-- committed while it waited. The fail-fast checks some steps make before the
-- transaction (the ejecución, source data, rates) read committed rows
-- (READ_COMMITTED_SNAPSHOT) without the lock; totals of the stage's earlier
-- steps are read after it, and a step's own writes are all under it.
-- logs.sp_Revertir_Ejecucion and logs.sp_Borrar_Filas_Ejecucion take all five
-- stages' locks, always in the order IPA, CAPM, Derivados, UBS, PNL (a step
-- holds only one), before any other lock.
-- Errors (no TRY/CATCH here: they go to the caller's CATCH, which rolls back):
--   50043  the lock was not granted: held by another call for 300 s
--          (@LockTimeout, the PostgreSQL twin's message), or the request was
--          cancelled (-2) or refused (-999). Nothing was written. The
--          caller treats it as transient: fondos.db.calls raises it as a
--          transient error without retrying in the call (the other call will
--          end), and Airflow retries the task.
--   50044  called outside a transaction, with a NULL ID_Ejecucion or an
--          unknown stage: a bug in the caller.
--   50046  this request was chosen as a deadlock victim (sp_getapplock
--          returns -3 instead of raising 1205). Worth retrying, as PostgreSQL's
--          deadlock_detected is; fondos.db.calls retries it.
-- Who holds it: sys.dm_tran_locks rows with resource_type = 'APPLICATION'
-- (resource_description shows the name, possibly cut, and a hash; status
-- WAIT for the waiting call), their request_session_id joined to
-- sys.dm_exec_requests or sp_WhoIsActive.
-- Permissions: sp_getapplock needs only membership in the public role (the
-- lock's database principal, @DbPrincipal, defaults to public), so the
-- pipeline role (018: EXECUTE on schema logs) can run it, directly or through
-- the steps (same owner: ownership chaining).
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Bloquear_Ejecucion
    @ID_Ejecucion BIGINT,
    @Etapa VARCHAR(20)
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Nombre VARCHAR(20);
    DECLARE @Recurso NVARCHAR(255);
    DECLARE @Resultado INT;
    DECLARE @Motivo NVARCHAR(200);
    DECLARE @Msg NVARCHAR(2048);

    SELECT @Nombre = s.Etapa
    FROM (VALUES ('IPA'), ('CAPM'), ('PNL'), ('Derivados'), ('UBS')) AS s(Etapa)
    WHERE s.Etapa = @Etapa;

    IF @@TRANCOUNT = 0
        SET @Motivo = N'called outside a transaction, so nothing would hold the lock until the step''s writes commit';
    ELSE IF @ID_Ejecucion IS NULL OR @Nombre IS NULL
        SET @Motivo = N'needs an ID_Ejecucion and one of the stages IPA, CAPM, PNL, Derivados, UBS';
    IF @Motivo IS NOT NULL
        BEGIN
            SET @Msg = CONCAT(
                N'logs.sp_Bloquear_Ejecucion(ID_Ejecucion ', COALESCE(CAST(@ID_Ejecucion AS NVARCHAR(20)), N'NULL'),
                N', Etapa ', COALESCE(@Etapa, 'NULL'), N'): ', @Motivo,
                N'. This is a bug in the calling step (the lock must be taken right after its BEGIN TRANSACTION); ',
                N'nothing was locked.'
            );
            THROW 50044, @Msg, 1;
        END;

    SET @Recurso = CONCAT(N'fondos/', @Nombre, N'/', @ID_Ejecucion);
    EXEC @Resultado = sys.sp_getapplock
        @Resource = @Recurso, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 300000;

    IF @Resultado = -1
        BEGIN
            SET @Msg = CONCAT(
                N'another call of stage ', @Nombre, N' for ID_Ejecucion ', @ID_Ejecucion,
                N' has held its lock for 300 s (an earlier attempt whose statement is still running on the server?): ',
                N'nothing was written. Check sys.dm_tran_locks (resource_type APPLICATION) and sp_WhoIsActive ',
                N'for it, then run the stage again.'
            );
            THROW 50043, @Msg, 1;
        END;
    IF @Resultado = -3
        BEGIN
            SET @Msg = CONCAT(
                N'the lock of stage ', @Nombre, N' for ID_Ejecucion ', @ID_Ejecucion,
                N' was not granted: this request was chosen as a deadlock victim. Nothing was written; ',
                N'run the stage again.'
            );
            THROW 50046, @Msg, 1;
        END;
    IF @Resultado < 0
        BEGIN
            SET @Msg = CONCAT(
                N'the lock of stage ', @Nombre, N' for ID_Ejecucion ', @ID_Ejecucion,
                N' was not granted (sp_getapplock returned ', @Resultado,
                CASE WHEN @Resultado = -2 THEN N': the request was cancelled' ELSE N': a call error' END,
                N'). Nothing was written; run the stage again.'
            );
            THROW 50043, @Msg, 1;
        END;
END;
GO
