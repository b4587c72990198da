-- logs.sp_Controlar_Ejecucion
-- The plausibility checks of one fund's figures (migration 030), after every
-- stage of its ejecución is OK or OMITIDO; replaces the ejecución's rows of
-- logs.Ejecucion_Controles, one per check, each against the fund's own
-- threshold (config.Fondos_Controles) or the default (config.Controles):
--   PATRIMONIO      Valor = ROUND(100 x |net assets - previous| / |previous|, 4),
--                   previous = the approved net assets of @FechaAnterior
--                   (logs.vw_Cifras_Aprobadas); none, or zero: SIN_COMPARACION;
--   PRECIOS         Valor = ROUND(100 x positions priced COSTO or ANTERIOR /
--                   positions, 4) (0 without positions);
--   QUIEBRES        Valor = the custodian breaks (staging.UBS_Final.NumQuiebres);
--   QUIEBRES_MONTO  Importe = sum over the breaks of ROUND(ROUND(|difference| x
--                   local price, 4) x rate, 4), at the accounting position's price
--                   and rate (an instrument only the custodian holds counts 0 here,
--                   and 1 in QUIEBRES); Valor = ROUND(100 x Importe / |net assets|, 4),
--                   SIN_COMPARACION when net assets are zero; both NO_APLICA when UBS
--                   does not apply.
--   Estado RETENIDO when Valor > Umbral, else OK.
-- Numeric contract (same in the PostgreSQL twin): each quotient keeps at least
-- 11 decimals before its one ROUND (derived types below); the 100 is cast.
-- Holds the proceso row lock, as every writer of a fund's state does, and
-- re-checks the stages under it: a stage re-run in flight refuses the checks (50070).
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund, @FechaAnterior (the
-- previous business day in the DAG's calendar). Returns Filas (4) and Retenidos.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client (a module keeps both).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Controlar_Ejecucion
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT,
    @FechaAnterior DATE
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Filas INT;
    DECLARE @Retenidos INT;
    DECLARE @Bloqueo BIGINT;
    DECLARE @ID_Proceso BIGINT;
    DECLARE @Pendientes INT;
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Patrimonio DECIMAL(19, 4);
    DECLARE @Previo DECIMAL(19, 4);
    DECLARE @Posiciones INT;
    DECLARE @Fuera INT;
    DECLARE @Quiebres INT;
    DECLARE @Monto DECIMAL(19, 4);
    DECLARE @MontoPct DECIMAL(38, 4);
    DECLARE @Mov DECIMAL(38, 4);
    DECLARE @Pct DECIMAL(38, 4);

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        BEGIN TRANSACTION;
        -- The proceso's id first, then its row lock by key: a join under UPDLOCK, HOLDLOCK could range-lock every proceso.
        SELECT @ID_Proceso = e.ID_Proceso FROM logs.Ejecuciones AS e
        WHERE e.ID_Ejecucion = @ID_Ejecucion;
        SELECT @Bloqueo = p.ID_Proceso
        FROM logs.Procesos AS p WITH (UPDLOCK, HOLDLOCK, ROWLOCK)
        WHERE p.ID_Proceso = @ID_Proceso;
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        SELECT @Pendientes = COUNT(*)
        FROM logs.Ejecucion_Etapas AS t
        WHERE t.ID_Ejecucion = @ID_Ejecucion AND t.Estado NOT IN ('OK', 'OMITIDO');
        IF @Pendientes > 0
            BEGIN
                SET @Msg = CONCAT(
                    N'the checks of ID_Ejecucion ', @ID_Ejecucion, N' (fund ', @ID_Fund,
                    N') need every stage OK or OMITIDO, and ', @Pendientes,
                    N' stage(s) are not: let the fund finish (or retry it), then run the checks again'
                );
                THROW 50070, @Msg, 1;
            END;

        SELECT @Patrimonio = f.PatrimonioBase FROM staging.PNL_Final AS f
        WHERE f.ID_Ejecucion = @ID_Ejecucion;
        SELECT @Previo = a.PatrimonioBase FROM logs.vw_Cifras_Aprobadas AS a
        WHERE a.ID_Fund = @ID_Fund AND a.FechaReporte = @FechaAnterior;
        SELECT
            @Posiciones = COUNT(*),
            @Fuera = ISNULL(SUM(CASE WHEN w.FuentePrecio IN ('COSTO', 'ANTERIOR') THEN 1 ELSE 0 END), 0)
        FROM staging.IPA_WorkTable AS w
        WHERE w.ID_Ejecucion = @ID_Ejecucion;
        SELECT @Quiebres = u.NumQuiebres FROM staging.UBS_Final AS u
        WHERE u.ID_Ejecucion = @ID_Ejecucion;
        -- (18,4) x (19,6) = (38,10), exact, rounded to 4 and held as (19,4); x (18,8) = (38,12), exact; the sum
        -- held as (19,4), like the twin's NUMERIC(19,4) (both fail, never round, beyond it).
        SELECT
            @Monto = ISNULL(SUM(ROUND(
                CAST(ROUND(CAST(ABS(r.Diferencia) AS DECIMAL(18, 4)) * w.PrecioLocal, 4) AS DECIMAL(19, 4))
                * CAST(w.TipoCambio AS DECIMAL(18, 8)), 4
            )), 0)
        FROM staging.UBS_Reconciliacion AS r
        LEFT JOIN staging.IPA_WorkTable AS w ON r.ID_Ejecucion = w.ID_Ejecucion AND r.ID_Instrumento = w.ID_Instrumento
        WHERE r.ID_Ejecucion = @ID_Ejecucion AND r.Estado_Conciliacion <> 'CUADRA';
        -- 100 x |(19,4) - (19,4)| = (24,4), exact, held as (22,4) (18 integral digits suffice); (22,4) / (19,4)
        -- derives (46,24), cut to (38,16): 16 decimals before the ROUND to 4.
        SET @Mov = CASE
            WHEN @Previo <> 0 AND @Patrimonio IS NOT NULL
                THEN ROUND(CAST(CAST(100 AS DECIMAL(3, 0)) * ABS(@Patrimonio - @Previo) AS DECIMAL(22, 4)) / ABS(@Previo), 4)
        END;
        -- 100 x (19,4) = (23,4), exact, held as (22,4) (an amount below 10^16); (22,4) / (19,4) derives (46,24),
        -- cut to (38,16): 16 decimals before the ROUND to 4.
        SET @MontoPct = CASE
            WHEN @Patrimonio <> 0
                THEN ROUND(CAST(CAST(100 AS DECIMAL(3, 0)) * @Monto AS DECIMAL(22, 4)) / ABS(@Patrimonio), 4)
        END;
        -- 100 x INT = (13,0), exact; (13,0) / INT (10,0) derives (24,11): 11 decimals, exact before ROUND to 4
        -- for any count below 10^10 (a quotient of two integers repeats or ends long before).
        SET @Pct = CASE
            WHEN @Posiciones > 0
                THEN ROUND(CAST(CAST(100 AS DECIMAL(3, 0)) * @Fuera AS DECIMAL(13, 0)) / @Posiciones, 4)
            ELSE 0
        END;

        DELETE FROM logs.Ejecucion_Controles
        WHERE ID_Ejecucion = @ID_Ejecucion;

        INSERT INTO logs.Ejecucion_Controles (
            ID_Ejecucion, Control, Estado, Valor, ValorAnterior, Importe, Umbral, FechaAnterior
        )
        SELECT
            @ID_Ejecucion,
            c.Control,
            CASE
                WHEN v.Aplica = 0 THEN 'NO_APLICA'
                WHEN v.Valor IS NULL THEN 'SIN_COMPARACION'
                WHEN v.Valor > ISNULL(fc.Umbral, c.Umbral) THEN 'RETENIDO'
                ELSE 'OK'
            END,
            v.Valor,
            v.Anterior,
            v.Importe,
            ISNULL(fc.Umbral, c.Umbral),
            v.Fecha
        FROM config.Controles AS c
        INNER JOIN (
            VALUES
            (
                'PATRIMONIO', 1, @Mov, CAST(@Previo AS DECIMAL(38, 4)), CAST(NULL AS DECIMAL(38, 4)), @FechaAnterior
            ),
            (
                'PRECIOS', 1, @Pct, CAST(NULL AS DECIMAL(38, 4)), CAST(NULL AS DECIMAL(38, 4)), CAST(NULL AS DATE)
            ),
            (
                'QUIEBRES', CASE WHEN @Quiebres IS NULL THEN 0 ELSE 1 END, CAST(@Quiebres AS DECIMAL(38, 4)),
                CAST(NULL AS DECIMAL(38, 4)), CAST(NULL AS DECIMAL(38, 4)), CAST(NULL AS DATE)
            ),
            (
                'QUIEBRES_MONTO', CASE WHEN @Quiebres IS NULL THEN 0 ELSE 1 END, @MontoPct,
                CAST(NULL AS DECIMAL(38, 4)), CAST(@Monto AS DECIMAL(38, 4)), CAST(NULL AS DATE)
            )
        ) AS v(Control, Aplica, Valor, Anterior, Importe, Fecha) ON c.Control = v.Control
        LEFT JOIN config.Fondos_Controles AS fc ON fc.ID_Fund = @ID_Fund AND c.Control = fc.Control;
        SET @Filas = @@ROWCOUNT;

        SELECT @Retenidos = COUNT(*) FROM logs.Ejecucion_Controles AS k
        WHERE k.ID_Ejecucion = @ID_Ejecucion AND k.Estado = 'RETENIDO';

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT
        @Filas AS Filas,
        @Retenidos AS Retenidos;
END;
GO
