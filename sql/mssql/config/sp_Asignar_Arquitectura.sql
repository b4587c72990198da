-- config.sp_Asignar_Arquitectura
-- Moves funds between the legacy writer ('v2') and procesos_diarios ('v3')
-- (028; the plan's Riesgo 3), all of the list or none of it.
-- Parameters:
--   @Fondos        comma-separated ID_Fund list (1 to 9 digits each)
--   @Arquitectura  'v2' or 'v3' (exactly: compared as bytes)
--   @Usuario       who asked (recorded in ArquitecturaUsuario, with the time in ArquitecturaDesde)
-- Refuses, changing nothing: a bad list, architecture or user (50070), an
-- unknown fund (50071), a fund whose day is running (50072): an ejecución
-- EN_PROGRESO of procesos_diarios, a stage of one still EN_PROGRESO or
-- REINTENTANDO (an ejecución already ERROR can have sibling stages running),
-- or a legacy run EN_PROGRESO started in the last 24 hours that lists the fund
-- (older ones are crashed history, not a running day). A fund moved while its
-- day runs would be processed by both writers, or by neither. 50073: the lock
-- was not granted in 30 s.
-- Locks, inside the transaction: the application lock
-- 'fondos.config.Fondos.Arquitectura', Exclusive: one switch at a time, and it
-- waits for every initialisation in flight (logs.sp_Inicializar_Proceso holds it
-- Shared), so the running check, a statement that starts after they committed,
-- sees their ejecuciones, and no initialisation starts until this one commits.
-- The running check reads with READCOMMITTEDLOCK: it waits for a writer's
-- uncommitted run rows (the legacy writer's, which takes no such lock) instead
-- of reading around them. LOCK_TIMEOUT 30 s bounds that wait (error 1222,
-- which fondos.db.calls retries).
-- A fund already on the requested architecture is left as it is (its
-- ArquitecturaDesde too). Returns one row per listed fund: ID_Fund,
-- FundShortName, Anterior (before), Actual (now).
-- Needs SQL Server 2017+ (STRING_AGG, TRIM).
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE config.sp_Asignar_Arquitectura
    @Fondos VARCHAR(MAX),
    @Arquitectura VARCHAR(10),
    @Usuario VARCHAR(200)
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    SET LOCK_TIMEOUT 30000;

    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Bloqueo INT;
    DECLARE @Desconocidos VARCHAR(MAX);
    DECLARE @Ocupados NVARCHAR(MAX);
    DECLARE @Lista TABLE (ID_Fund INT NOT NULL PRIMARY KEY);
    DECLARE @Antes TABLE (ID_Fund INT NOT NULL PRIMARY KEY, Anterior VARCHAR(2) NOT NULL);

    -- Exact, as in PostgreSQL: BIN2 sees case; DATALENGTH sees the trailing spaces NOT IN ignores.
    IF
        @Arquitectura IS NULL
        OR @Arquitectura COLLATE Latin1_General_100_BIN2 NOT IN ('v2', 'v3')
        OR DATALENGTH(@Arquitectura) <> 2
        BEGIN
            SET @Msg = CONCAT(
                N'Arquitectura must be v2 (the legacy writer) or v3 (procesos_diarios), got ', COALESCE(@Arquitectura, N'NULL')
            );
            THROW 50070, @Msg, 1;
        END;
    -- 1 to 9 digits each, as PostgreSQL's '^[0-9]{1,9}$', in a binary collation.
    IF
        NULLIF(TRIM(@Fondos), '') IS NULL
        OR EXISTS (
            SELECT 1 FROM STRING_SPLIT(@Fondos, ',') AS s
            WHERE
                TRIM(s.value) = ''
                OR LEN(TRIM(s.value)) > 9
                OR TRIM(s.value) COLLATE Latin1_General_BIN2 LIKE '%[^0-9]%'
        )
        BEGIN
            SET @Msg = CONCAT(N'Fondos must be a comma-separated list of ID_Fund numbers, got ', LEFT(@Fondos, 200));
            THROW 50070, @Msg, 1;
        END;
    IF NULLIF(TRIM(@Usuario), '') IS NULL OR LEN(@Usuario) > 100
        THROW 50070, N'Usuario (who moves the funds) is required, at most 100 characters', 1;
    INSERT INTO @Lista (ID_Fund)
    SELECT DISTINCT CAST(TRIM(s.value) AS INT) FROM STRING_SPLIT(@Fondos, ',') AS s;

    BEGIN TRY
        BEGIN TRANSACTION;

        EXEC @Bloqueo = sys.sp_getapplock
            @Resource = N'fondos.config.Fondos.Arquitectura', @LockMode = 'Exclusive',
            @LockOwner = 'Transaction', @LockTimeout = 30000;
        IF @Bloqueo < 0
            THROW 50073, N'a switch of funds or an initialisation holds the architecture lock; try again in a minute', 1;

        SELECT @Desconocidos = STRING_AGG(CAST(l.ID_Fund AS VARCHAR(12)), ', ') WITHIN GROUP (ORDER BY l.ID_Fund)
        FROM @Lista AS l
        WHERE NOT EXISTS (
            SELECT 1 FROM config.Fondos AS f
            WHERE f.ID_Fund = l.ID_Fund
        );
        IF @Desconocidos IS NOT NULL
            BEGIN
                SET @Msg = CONCAT(N'unknown fund(s): ', @Desconocidos, N' (see config.Fondos): nothing was changed');
                THROW 50071, @Msg, 1;
            END;

        -- Under the lock every initialisation that was in flight has committed: this statement sees their
        -- ejecuciones. READCOMMITTEDLOCK waits for a writer's uncommitted run rows (see the header).
        SELECT @Ocupados = STRING_AGG(x.Detalle, N', ') WITHIN GROUP (ORDER BY x.ID_Fund)
        FROM (
            SELECT
                e.ID_Fund,
                CONCAT(e.ID_Fund, N' (ejecución ', e.ID_Ejecucion, N' of proceso ', e.ID_Proceso, N')') AS Detalle
            FROM @Lista AS l
            INNER JOIN logs.Ejecuciones AS e WITH (READCOMMITTEDLOCK) ON l.ID_Fund = e.ID_Fund
            WHERE e.Estado = 'EN_PROGRESO' AND e.ID_Ejecucion >= 1000000000000000
            UNION ALL
            SELECT
                e.ID_Fund,
                CONCAT(e.ID_Fund, N' (stage ', t.Etapa, N' ', t.Estado, N' of ejecución ', e.ID_Ejecucion, N')') AS Detalle
            FROM @Lista AS l
            INNER JOIN logs.Ejecuciones AS e WITH (READCOMMITTEDLOCK) ON l.ID_Fund = e.ID_Fund
            INNER JOIN logs.Ejecucion_Etapas AS t WITH (READCOMMITTEDLOCK) ON e.ID_Ejecucion = t.ID_Ejecucion
            WHERE
                e.Estado <> 'EN_PROGRESO'
                AND e.ID_Ejecucion >= 1000000000000000
                AND t.Estado IN ('EN_PROGRESO', 'REINTENTANDO')
            UNION ALL
            SELECT
                ef.ID_Fund,
                CONCAT(ef.ID_Fund, N' (legacy run ', e.ID_Ejecucion, N')') AS Detalle
            FROM @Lista AS l
            INNER JOIN logs.Ejecucion_Fondos AS ef WITH (READCOMMITTEDLOCK) ON l.ID_Fund = ef.ID_Fund
            -- (sqlfluff mixes up the aliases of the two UNION ALL branches: ST09 is a false positive)
            INNER JOIN logs.Ejecuciones AS e WITH (READCOMMITTEDLOCK) ON ef.ID_Ejecucion = e.ID_Ejecucion  -- noqa: ST09
            WHERE
                e.Estado = 'EN_PROGRESO'
                AND e.ID_Ejecucion < 1000000000000000
                AND e.FechaInicio >= DATEADD(HOUR, -24, SYSDATETIME())
        ) AS x;
        IF @Ocupados IS NOT NULL
            BEGIN
                SET @Msg = CONCAT(
                    N'arquitectura refused: the day is running for fund(s) ', LEFT(@Ocupados, 1500),
                    N': nothing was changed. Wait for the run to end (or, if it died, close its proceso: ',
                    N'fondos proceso cerrar --id N), then move them'
                );
                THROW 50072, @Msg, 1;
            END;

        INSERT INTO @Antes (ID_Fund, Anterior)
        SELECT
            f.ID_Fund,
            f.Arquitectura
        FROM config.Fondos AS f
        INNER JOIN @Lista AS l ON f.ID_Fund = l.ID_Fund;

        UPDATE f
        SET
            f.Arquitectura = @Arquitectura,
            f.ArquitecturaDesde = SYSDATETIME(),
            f.ArquitecturaUsuario = @Usuario
        FROM config.Fondos AS f
        INNER JOIN @Lista AS l ON f.ID_Fund = l.ID_Fund
        WHERE f.Arquitectura COLLATE Latin1_General_100_BIN2 <> @Arquitectura;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT
        f.ID_Fund,
        f.FundShortName,
        a.Anterior,
        f.Arquitectura AS Actual
    FROM config.Fondos AS f
    INNER JOIN @Antes AS a ON f.ID_Fund = a.ID_Fund
    ORDER BY f.ID_Fund;
END;
GO

-- An operator's command (026's fondos_operador); the pipeline's tasks never move funds.
GRANT EXECUTE ON config.sp_Asignar_Arquitectura TO fondos_operador;
GO
