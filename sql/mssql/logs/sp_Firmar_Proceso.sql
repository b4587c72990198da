-- logs.sp_Firmar_Proceso
-- Records a sign-off decision of a proceso (logs.Proceso_Firmas, 030) and, when
-- it is APROBADO, publishes in the same transaction every ejecución of it whose
-- checks allow it (logs.vw_Ejecucion_Verificacion OK, SIN_COMPARACION or
-- ACEPTADO) and that has no current publication (logs.vw_Cifras_Aprobadas):
-- held funds, failed funds and funds whose checks are stale are not published.
-- Refuses, under the proceso row lock:
--   legacy history (logs.sp_Rechazar_Legado), an unknown proceso (50020);
--   a @Decision other than APROBADO or RECHAZADO (50074), an empty @Usuario
--   (50075), a rejection without a @Comentario (50076);
--   four eyes (50077): the user who asked for the run (logs.Procesos.Usuario) or
--   the one @Solicitante names (who cleared it) signing it;
--   a proceso still EN_PROGRESO (50078), or an OK fund whose checks did not run
--   on its latest figures (PENDIENTE, 50079): nothing is signed unchecked.
-- A decision is named by @Clave (the Airflow response it records): a call resent
-- with a Clave already recorded for the proceso records nothing and returns that
-- decision again (Nueva = 0), so a lost connection never signs twice. An empty
-- @Clave is refused (50080).
-- Parameters: @ID_Proceso, @Decision, @Usuario, @Clave, @Solicitante, @Comentario.
-- Returns Secuencia (of this decision), Publicadas, Retenidos (held, not accepted), Nueva.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client (a module keeps both).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Firmar_Proceso
    @ID_Proceso BIGINT,
    @Decision VARCHAR(200),
    @Usuario VARCHAR(200),
    @Clave VARCHAR(8000),
    @Solicitante VARCHAR(200) = NULL,
    @Comentario NVARCHAR(4000) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Bloqueo BIGINT;
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Estado VARCHAR(50);
    DECLARE @Pidio VARCHAR(100);
    DECLARE @Pendientes INT;
    DECLARE @Retenidos INT;
    DECLARE @Secuencia INT;
    DECLARE @Publicadas INT = 0;
    DECLARE @Nueva BIT = 0;

    -- Exact, as in PostgreSQL: BIN2 sees case; DATALENGTH sees the trailing spaces NOT IN ignores.
    IF
        @Decision IS NULL
        OR @Decision COLLATE Latin1_General_BIN2 NOT IN ('APROBADO', 'RECHAZADO')
        OR DATALENGTH(@Decision) <> DATALENGTH(RTRIM(@Decision))
        BEGIN
            SET @Msg = CONCAT(N'Decision must be APROBADO or RECHAZADO, not ', ISNULL(@Decision, 'NULL'));
            THROW 50074, @Msg, 1;
        END;
    IF NULLIF(TRIM(@Usuario), '') IS NULL
        THROW 50075, N'a sign-off needs the user who signs it (Usuario)', 1;
    -- Refused, never cut: a key cut to 250 characters could match another decision's.
    IF NULLIF(TRIM(@Clave), '') IS NULL OR DATALENGTH(@Clave) > 250 OR DATALENGTH(@Clave) <> DATALENGTH(RTRIM(@Clave))
        THROW 50080, N'a sign-off needs the key of the decision it records (Clave): 1 to 250 characters, no trailing spaces', 1;
    IF @Decision = 'RECHAZADO' AND NULLIF(TRIM(@Comentario), N'') IS NULL
        BEGIN
            SET @Msg = CONCAT(N'rejecting proceso ', @ID_Proceso, N' needs a reason (Comentario)');
            THROW 50076, @Msg, 1;
        END;

    EXEC logs.sp_Rechazar_Legado @ID_Proceso = @ID_Proceso, @ID_Ejecucion = NULL, @Accion = N'signing off a proceso';

    BEGIN TRY
        BEGIN TRANSACTION;

        SELECT
            @Bloqueo = p.ID_Proceso,
            @Estado = p.Estado,
            @Pidio = p.Usuario
        FROM logs.Procesos AS p WITH (UPDLOCK, HOLDLOCK, ROWLOCK)
        WHERE p.ID_Proceso = @ID_Proceso;
        IF @Bloqueo IS NULL
            BEGIN
                SET @Msg = CONCAT(N'unknown ID_Proceso ', @ID_Proceso);
                THROW 50020, @Msg, 1;
            END;
        -- A resent call: the decision is recorded already (the column is BIN2: compared exactly, as in PostgreSQL).
        SELECT
            @Secuencia = g.Secuencia,
            @Publicadas = g.Publicadas
        FROM logs.Proceso_Firmas AS g
        WHERE g.ID_Proceso = @ID_Proceso AND g.Clave = @Clave;
        IF @Secuencia IS NULL
            BEGIN
                -- BIN2: the user names compared exactly, as in PostgreSQL.
                IF
                    @Usuario COLLATE Latin1_General_BIN2 = @Pidio
                    OR @Usuario COLLATE Latin1_General_BIN2 = @Solicitante
                    BEGIN
                        SET @Msg = CONCAT(
                            N'four eyes: ', @Usuario, N' asked for proceso ', @ID_Proceso,
                            N' (triggered or cleared its run) and cannot sign it off; another approver must'
                        );
                        THROW 50077, @Msg, 1;
                    END;
                IF @Estado = 'EN_PROGRESO'
                    BEGIN
                        SET @Msg = CONCAT(N'proceso ', @ID_Proceso, N' is still running: sign it off once every fund has finished');
                        THROW 50078, @Msg, 1;
                    END;

                SELECT
                    @Pendientes = ISNULL(SUM(CASE WHEN v.Verificacion = 'PENDIENTE' THEN 1 ELSE 0 END), 0),
                    @Retenidos = ISNULL(SUM(CASE WHEN v.Verificacion = 'RETENIDO' THEN 1 ELSE 0 END), 0)
                FROM logs.vw_Ejecucion_Verificacion AS v
                WHERE v.ID_Proceso = @ID_Proceso;
                IF @Pendientes > 0
                    BEGIN
                        SET @Msg = CONCAT(
                            N'proceso ', @ID_Proceso, N': the checks of ', @Pendientes,
                            N' OK fund(s) did not run on their latest figures; run the checks (clear controlar_fondos) before signing'
                        );
                        THROW 50079, @Msg, 1;
                    END;

                SELECT @Secuencia = ISNULL(MAX(g.Secuencia), 0) + 1
                FROM logs.Proceso_Firmas AS g
                WHERE g.ID_Proceso = @ID_Proceso;
                INSERT INTO logs.Proceso_Firmas (
                    ID_Proceso, Secuencia, Decision, Usuario, Solicitante, Comentario, Publicadas, Clave
                )
                VALUES (
                    @ID_Proceso, @Secuencia, @Decision, LEFT(@Usuario, 100), LEFT(@Solicitante, 100), LEFT(@Comentario, 1000), 0,
                    @Clave
                );

                IF @Decision = 'APROBADO'
                    BEGIN
                        INSERT INTO logs.Ejecucion_Publicaciones (ID_Ejecucion, ID_Proceso, Secuencia)
                        SELECT
                            v.ID_Ejecucion,
                            @ID_Proceso,
                            @Secuencia
                        FROM logs.vw_Ejecucion_Verificacion AS v
                        WHERE
                            v.ID_Proceso = @ID_Proceso
                            AND v.Verificacion IN ('OK', 'SIN_COMPARACION', 'ACEPTADO')
                            AND NOT EXISTS (
                                SELECT 1 FROM logs.vw_Cifras_Aprobadas AS a
                                WHERE a.ID_Ejecucion = v.ID_Ejecucion
                            );
                        SET @Publicadas = @@ROWCOUNT;
                        UPDATE g
                        SET g.Publicadas = @Publicadas
                        FROM logs.Proceso_Firmas AS g
                        WHERE g.ID_Proceso = @ID_Proceso AND g.Secuencia = @Secuencia;
                    END;
                SET @Nueva = 1;
            END;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT
        @Secuencia AS Secuencia,
        @Publicadas AS Publicadas,
        ISNULL(@Retenidos, 0) AS Retenidos,
        @Nueva AS Nueva;
END;
GO
