-- logs.sp_Inicializar_Proceso
-- Creates the proceso of one report date and one ejecución per active fund
-- (plan, FASE 1.3), in one transaction, with ids from logs.Seq_ID. Also
-- snapshots each fund's portfolio codes into logs.Ejecucion_Fondos and its
-- five stages into logs.Ejecucion_Etapas (OMITIDO where the fund does not
-- have the stage, PENDIENTE otherwise).
-- Parameters:
--   @FechaReporte    the report date; not NULL, not in the future
--   @Usuario         who asked (Airflow: the DAG run's owner or triggering user)
--   @ClaveEjecucion  the run key (Airflow run_id); calling again with the same
--                    key returns the same proceso and ejecuciones
--   @Fondos          optional comma-separated ID_Fund list; NULL = all active
--                    funds on the new architecture (config.Fondos.Arquitectura
--                    = 'v3', 028); funds with the legacy writer ('v2') are not
--                    processed, and named in the list they are refused (50009)
-- Refuses: a date with no active funds, an unknown or inactive fund in the
-- list, a run key already used for another date, a second run key for a
-- date whose proceso is still EN_PROGRESO (two runs of one date at once), and
-- a date with no source data (no FX rate in source.TiposCambio, or no
-- position in source.Geneva_Posiciones for any of the funds): 50 funds
-- failing one by one would cost the operator 50 clears for one missing feed.
-- When only some funds lack positions it proceeds and says which in Aviso.
-- Returns one row per ejecución: ID_Proceso, ID_Ejecucion, ID_Fund,
-- FundShortName, portfolio codes, Etapas (applicable stages,
-- comma-separated) and Aviso (NULL, or why this fund's IPA will fail).
-- Errors: 50010-50013 bad arguments, 50014 the date's lock not granted in
-- 30 s, 50015 run key of another date (or one this collation cannot tell
-- from another proceso's key, see below), 50016 the date's proceso still
-- EN_PROGRESO, 50017 unknown or inactive fund, 50018 no active funds, 50019
-- no source data for the date, 50009 a listed fund with the legacy writer,
-- 50008 a switch of funds between architectures held its lock for 30 s.
-- The application lock 'fondos.config.Fondos.Arquitectura' is held Shared to the
-- end of the transaction: config.sp_Asignar_Arquitectura takes it Exclusive, so
-- it waits for this proceso to commit, then sees its ejecuciones and refuses to
-- move a fund whose day runs (an application lock, not row locks: row locks
-- would only collide when both plans chose the same index). sp_getapplock on the date serialises
-- concurrent initialisations of the same date; before taking ids,
-- logs.sp_Ajustar_Secuencia_ID moves logs.Seq_ID above every id that exists
-- (its lock serialises that step and the draws across dates).
-- Collation (SQL Server): the run key is matched exactly, as in PostgreSQL.
-- The default collation would find a proceso whose key differs from
-- @ClaveEjecucion only in case or trailing spaces and return it as this run's;
-- PostgreSQL would take the key for a new one, which UX_Procesos_ClaveEjecucion
-- (same collation) cannot store beside the other: such a key is refused
-- (50015), nothing created. The probes of source.Geneva_Posiciones by
-- portfolio (50019 and Aviso) keep the default collation, which ignores case
-- and trailing spaces where PostgreSQL does not: a fund whose feed spells its
-- portfolio only differently ('lafid002' for 'LAFID002') counts as having
-- positions here (no 50019, no Aviso), and extract.IPA_00_Extraer_v2 then
-- refuses its IPA stage (50032) naming the spellings, where PostgreSQL would
-- warn here and fail that stage as missing source data.
-- The run key is NVARCHAR(250), as the column since 024: a VARCHAR parameter
-- replaced characters outside the code page with '?' before any check ran.
-- Needs SQL Server 2017+ (STRING_AGG, TRIM).
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Inicializar_Proceso
    @FechaReporte DATE,
    @Usuario VARCHAR(100),
    @ClaveEjecucion NVARCHAR(250),
    @Fondos VARCHAR(MAX) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @ID_Proceso BIGINT;
    DECLARE @FechaExistente DATE;
    DECLARE @Otro BIGINT;
    DECLARE @OtraClave NVARCHAR(250);
    DECLARE @ClaveExistente NVARCHAR(250);
    DECLARE @Total INT;
    DECLARE @Legado INT;
    DECLARE @EnV2 VARCHAR(MAX);
    DECLARE @Desconocidos VARCHAR(MAX);
    DECLARE @Recurso NVARCHAR(255);
    DECLARE @Bloqueo INT;
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Lista TABLE (ID_Fund INT NOT NULL PRIMARY KEY);
    DECLARE @Ajuste TABLE (Anterior BIGINT NULL, Siguiente BIGINT NULL);

    IF @FechaReporte IS NULL
        THROW 50010, N'FechaReporte is required (YYYY-MM-DD)', 1;
    IF @FechaReporte > CAST(GETDATE() AS DATE)
        BEGIN
            SET @Msg = CONCAT(
                N'FechaReporte ', CONVERT(CHAR(10), @FechaReporte, 23), N' is in the future (today is ',
                CONVERT(CHAR(10), GETDATE(), 23), N'): a report date must be today or earlier'
            );
            THROW 50011, @Msg, 1;
        END;
    IF NULLIF(TRIM(@ClaveEjecucion), '') IS NULL
        THROW 50012, N'ClaveEjecucion (the run key, e.g. the Airflow run_id) is required', 1;
    IF @Fondos IS NOT NULL
        BEGIN
            -- 1 to 9 digits each, as PostgreSQL's '^[0-9]{1,9}$' (TRY_CAST would take '' as 0, and '+1' or '-1'):
            -- a binary collation, so no other character sorts into [0-9].
            IF
                EXISTS (
                    SELECT 1 FROM STRING_SPLIT(@Fondos, ',') AS s
                    WHERE
                        TRIM(s.value) = ''
                        OR LEN(TRIM(s.value)) > 9
                        OR TRIM(s.value) COLLATE Latin1_General_BIN2 LIKE '%[^0-9]%'
                )
                BEGIN
                    SET @Msg = CONCAT(N'Fondos must be a comma-separated list of ID_Fund numbers, got ', LEFT(@Fondos, 200));
                    THROW 50013, @Msg, 1;
                END;
            INSERT INTO @Lista (ID_Fund)
            SELECT DISTINCT CAST(TRIM(s.value) AS INT) FROM STRING_SPLIT(@Fondos, ',') AS s;
        END;

    BEGIN TRY
        BEGIN TRANSACTION;

        SET @Recurso = CONCAT(N'fondos.sp_Inicializar_Proceso.', CONVERT(CHAR(10), @FechaReporte, 23));
        EXEC @Bloqueo = sys.sp_getapplock
            @Resource = @Recurso, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 30000;
        IF @Bloqueo < 0
            THROW 50014, N'another initialisation of this date is running; try again in a minute', 1;

        SELECT
            @ID_Proceso = p.ID_Proceso,
            @FechaExistente = p.FechaReporte,
            @ClaveExistente = p.ClaveEjecucion
        FROM logs.Procesos AS p
        WHERE p.ClaveEjecucion = @ClaveEjecucion;

        -- Exact, as in PostgreSQL (see the header): the seek above ignores case and trailing spaces; BIN2 sees
        -- case, DATALENGTH trailing spaces (<> ignores them under every collation).
        IF
            @ID_Proceso IS NOT NULL
            AND (
                @ClaveExistente COLLATE Latin1_General_100_BIN2 <> @ClaveEjecucion
                OR DATALENGTH(@ClaveExistente) <> DATALENGTH(@ClaveEjecucion)
            )
            BEGIN
                SET @Msg = CONCAT(
                    N'run key ''', @ClaveEjecucion, N''' differs only in case or trailing spaces from run key ''',
                    @ClaveExistente, N''' of proceso ', @ID_Proceso, N' for ', CONVERT(CHAR(10), @FechaExistente, 23),
                    N': this SQL Server collation takes them for one key (PostgreSQL would not), so no proceso can ',
                    N'be created for it. Nothing was created: use a new run key'
                );
                THROW 50015, @Msg, 1;
            END;

        IF @ID_Proceso IS NOT NULL AND @FechaExistente <> @FechaReporte
            BEGIN
                SET @Msg = CONCAT(
                    N'run key ', @ClaveEjecucion, N' already belongs to proceso ', @ID_Proceso, N' for ',
                    CONVERT(CHAR(10), @FechaExistente, 23), N', not ', CONVERT(CHAR(10), @FechaReporte, 23),
                    N': use a new run key'
                );
                THROW 50015, @Msg, 1;
            END;

        IF @ID_Proceso IS NULL
            BEGIN
                SELECT TOP (1)
                    @Otro = p.ID_Proceso,
                    @OtraClave = p.ClaveEjecucion
                FROM logs.Procesos AS p
                WHERE
                    p.FechaReporte = @FechaReporte
                    AND p.Estado = 'EN_PROGRESO'
                    AND p.ClaveEjecucion IS NOT NULL
                ORDER BY p.ID_Proceso DESC;
                IF @Otro IS NOT NULL
                    BEGIN
                        SET @Msg = CONCAT(
                            N'proceso ', @Otro, N' for ', CONVERT(CHAR(10), @FechaReporte, 23),
                            N' is still EN_PROGRESO (run key ', @OtraClave, N'): wait for it to finish, or if it died ',
                            N'close it (fondos proceso cerrar --id ', @Otro,
                            N', or logs.sp_Actualizar_Estadisticas_Proceso with @Cerrar = 1), then trigger again'
                        );
                        THROW 50016, @Msg, 1;
                    END;

                -- Shared with other initialisations, to the end (see the header).
                EXEC @Bloqueo = sys.sp_getapplock
                    @Resource = N'fondos.config.Fondos.Arquitectura', @LockMode = 'Shared',
                    @LockOwner = 'Transaction', @LockTimeout = 30000;
                IF @Bloqueo < 0
                    THROW 50008, N'a switch of funds between architectures is running; try again in a minute', 1;

                IF @Fondos IS NOT NULL
                    BEGIN
                        SELECT @Desconocidos = STRING_AGG(CAST(l.ID_Fund AS VARCHAR(12)), ', ') WITHIN GROUP (ORDER BY l.ID_Fund)
                        FROM @Lista AS l
                        WHERE NOT EXISTS (
                            SELECT 1 FROM config.Fondos AS f
                            WHERE f.ID_Fund = l.ID_Fund AND f.Activo = 1
                        );
                        IF @Desconocidos IS NOT NULL
                            BEGIN
                                SET @Msg = CONCAT(N'unknown or inactive fund(s): ', @Desconocidos, N' (see config.Fondos)');
                                THROW 50017, @Msg, 1;
                            END;
                        SELECT @EnV2 = STRING_AGG(CAST(f.ID_Fund AS VARCHAR(12)), ', ') WITHIN GROUP (ORDER BY f.ID_Fund)
                        FROM config.Fondos AS f
                        INNER JOIN @Lista AS l ON f.ID_Fund = l.ID_Fund
                        WHERE f.Arquitectura <> 'v3';
                        IF @EnV2 IS NOT NULL
                            BEGIN
                                SET @Msg = CONCAT(
                                    N'fund(s) ', @EnV2, N' are processed by the legacy writer ',
                                    N'(config.Fondos.Arquitectura = v2), not by procesos_diarios: nothing was created. ',
                                    N'Move them first (fondos fondos arquitectura v3 ', REPLACE(@EnV2, ',', ''),
                                    N'), or leave them out of the list'
                                );
                                THROW 50009, @Msg, 1;
                            END;
                    END;

                SELECT @Total = COUNT(*)
                FROM config.Fondos AS f
                WHERE
                    f.Activo = 1
                    AND f.Arquitectura = 'v3'
                    AND (@Fondos IS NULL OR EXISTS (
                        SELECT 1 FROM @Lista AS l
                        WHERE l.ID_Fund = f.ID_Fund
                    ));
                SELECT @Legado = COUNT(*)
                FROM config.Fondos AS f
                WHERE f.Activo = 1 AND f.Arquitectura = 'v2';
                IF @Total = 0 AND @Legado > 0
                    BEGIN
                        SET @Msg = CONCAT(
                            N'no active funds on the new architecture to process for ',
                            CONVERT(CHAR(10), @FechaReporte, 23), N': all ', @Legado,
                            N' active fund(s) are with the legacy writer (config.Fondos.Arquitectura = v2). ',
                            N'Nothing was created. Move funds over with fondos fondos arquitectura v3 ID [ID ...]'
                        );
                        THROW 50018, @Msg, 1;
                    END;
                IF @Total = 0
                    BEGIN
                        SET @Msg = CONCAT(
                            N'no active funds in config.Fondos to process for ', CONVERT(CHAR(10), @FechaReporte, 23)
                        );
                        THROW 50018, @Msg, 1;
                    END;

                IF
                    NOT EXISTS (
                        SELECT 1 FROM source.TiposCambio AS fx
                        WHERE fx.FechaReporte = @FechaReporte
                    )
                    BEGIN
                        SET @Msg = CONCAT(
                            N'no source data for ', CONVERT(CHAR(10), @FechaReporte, 23),
                            N': source.TiposCambio has no FX rates for that date, so no fund can be valued. ',
                            N'Nothing was created. Load the FX feed for ', CONVERT(CHAR(10), @FechaReporte, 23),
                            N', then trigger again.'
                        );
                        THROW 50019, @Msg, 1;
                    END;
                IF
                    NOT EXISTS (
                        SELECT 1
                        FROM config.Fondos AS f
                        INNER JOIN source.Geneva_Posiciones AS s
                            ON f.Portfolio_Geneva = s.Portfolio AND s.FechaReporte = @FechaReporte
                        WHERE
                            f.Activo = 1
                            AND f.Arquitectura = 'v3'
                            AND (@Fondos IS NULL OR EXISTS (
                                SELECT 1 FROM @Lista AS l
                                WHERE l.ID_Fund = f.ID_Fund
                            ))
                    )
                    BEGIN
                        SET @Msg = CONCAT(
                            N'no source data for ', CONVERT(CHAR(10), @FechaReporte, 23),
                            N': source.Geneva_Posiciones has no positions for any of the ', @Total,
                            N' fund(s) to process (feeds checked: Geneva positions, FX rates). Nothing was created. ',
                            N'Load the feeds for ', CONVERT(CHAR(10), @FechaReporte, 23), N', then trigger again.'
                        );
                        THROW 50019, @Msg, 1;
                    END;

                -- ids above every id that exists anywhere (legacy rows can appear after 012). Its one-row
                -- result is captured here, not returned: callers read this procedure's last result set as
                -- the ejecuciones. INSERT ... EXEC cannot nest (error 8164); it does not here, because
                -- sp_Ajustar_Secuencia_ID runs no INSERT ... EXEC itself, and nothing runs this procedure
                -- through INSERT ... EXEC (fondos/proceso.py calls it with a plain EXEC). Its application
                -- lock on the sequence is held until this transaction ends, so no other initialisation
                -- draws ids between the check and the draws below.
                INSERT INTO @Ajuste (Anterior, Siguiente)
                EXEC logs.sp_Ajustar_Secuencia_ID;
                SET @ID_Proceso = NEXT VALUE FOR logs.Seq_ID;
                INSERT INTO logs.Procesos (
                    ID_Proceso, FechaReporte, Estado, Usuario, ClaveEjecucion, TotalFondos, FondosLegado
                )
                VALUES (@ID_Proceso, @FechaReporte, 'EN_PROGRESO', @Usuario, @ClaveEjecucion, @Total, @Legado);

                INSERT INTO logs.Ejecuciones (
                    ID_Ejecucion, ID_Proceso, ID_Fund, FechaReporte, Estado, Usuario, TotalFondos
                )
                -- (sqlfluff reads the sequence below as a table reference: RF01 is a false positive)
                SELECT
                    NEXT VALUE FOR logs.Seq_ID OVER (  -- noqa: RF01
                        ORDER BY f.ID_Fund
                    ),
                    @ID_Proceso,
                    f.ID_Fund,
                    @FechaReporte,
                    'EN_PROGRESO',
                    @Usuario,
                    1
                FROM config.Fondos AS f
                WHERE
                    f.Activo = 1
                    AND f.Arquitectura = 'v3'
                    AND (@Fondos IS NULL OR EXISTS (
                        SELECT 1 FROM @Lista AS l
                        WHERE l.ID_Fund = f.ID_Fund
                    ));

                INSERT INTO logs.Ejecucion_Fondos (
                    ID_Ejecucion, ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM, Portfolio_Derivados,
                    Portfolio_UBS, Estado_Process_IPA, Estado_Process_CAPM, Estado_Process_PNL,
                    Estado_Process_Derivados, Estado_Process_UBS
                )
                SELECT
                    e.ID_Ejecucion,
                    f.ID_Fund,
                    f.FundShortName,
                    f.Portfolio_Geneva,
                    f.Portfolio_CAPM,
                    f.Portfolio_Derivados,
                    f.Portfolio_UBS,
                    CASE WHEN f.Aplica_IPA = 1 THEN 'PENDIENTE' ELSE 'OMITIDO' END,
                    CASE WHEN f.Aplica_CAPM = 1 THEN 'PENDIENTE' ELSE 'OMITIDO' END,
                    CASE WHEN f.Aplica_PNL = 1 THEN 'PENDIENTE' ELSE 'OMITIDO' END,
                    CASE WHEN f.Aplica_Derivados = 1 THEN 'PENDIENTE' ELSE 'OMITIDO' END,
                    CASE WHEN f.Aplica_UBS = 1 THEN 'PENDIENTE' ELSE 'OMITIDO' END
                FROM logs.Ejecuciones AS e
                INNER JOIN config.Fondos AS f ON e.ID_Fund = f.ID_Fund
                WHERE e.ID_Proceso = @ID_Proceso;

                INSERT INTO logs.Ejecucion_Etapas (ID_Ejecucion, Etapa, Estado, FechaFin)
                SELECT
                    f.ID_Ejecucion,
                    s.Etapa,
                    s.Estado,
                    CASE WHEN s.Estado = 'OMITIDO' THEN SYSDATETIME() END
                FROM logs.Ejecucion_Fondos AS f
                INNER JOIN logs.Ejecuciones AS e ON f.ID_Ejecucion = e.ID_Ejecucion
                CROSS APPLY (
                    VALUES
                    ('IPA', f.Estado_Process_IPA),
                    ('CAPM', f.Estado_Process_CAPM),
                    ('PNL', f.Estado_Process_PNL),
                    ('Derivados', f.Estado_Process_Derivados),
                    ('UBS', f.Estado_Process_UBS)
                ) AS s(Etapa, Estado)
                WHERE e.ID_Proceso = @ID_Proceso;

                EXEC logs.sp_Recalcular_Proceso @ID_Proceso = @ID_Proceso;
            END;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT
        e.ID_Proceso,
        e.ID_Ejecucion,
        e.ID_Fund,
        f.FundShortName,
        f.Portfolio_Geneva,
        f.Portfolio_CAPM,
        f.Portfolio_Derivados,
        f.Portfolio_UBS,
        (
            SELECT STRING_AGG(t.Etapa, ',') WITHIN GROUP (ORDER BY CHARINDEX(t.Etapa, 'IPA,CAPM,PNL,Derivados,UBS'))
            FROM logs.Ejecucion_Etapas AS t
            WHERE t.ID_Ejecucion = e.ID_Ejecucion AND t.Estado <> 'OMITIDO'
        ) AS Etapas,
        CASE
            WHEN
                NOT EXISTS (
                    SELECT 1 FROM source.Geneva_Posiciones AS s
                    WHERE s.Portfolio = f.Portfolio_Geneva AND s.FechaReporte = e.FechaReporte
                )
                THEN CONCAT(
                    N'no positions in source.Geneva_Posiciones for portfolio ', f.Portfolio_Geneva, N' on ',
                    CONVERT(CHAR(10), e.FechaReporte, 23), N': its IPA stage will fail'
                )
        END AS Aviso
    FROM logs.Ejecuciones AS e
    INNER JOIN logs.Ejecucion_Fondos AS f ON e.ID_Ejecucion = f.ID_Ejecucion
    WHERE e.ID_Proceso = @ID_Proceso
    ORDER BY e.ID_Fund;
END;
GO
