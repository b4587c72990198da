-- logs.sp_Validar_TiposCambio
-- Guard for the valuation steps: every currency they are about to convert
-- must have a rate in source.TiposCambio for @FechaReporte.
-- Parameters: @FechaReporte; @Monedas (comma-separated ISO codes); @Contexto
-- (who asks, for the message: stage, fund, ejecución).
-- Raises 50002 listing the missing currencies.
-- Collation (SQL Server): exact in case, as in PostgreSQL: 'usd' has no rate
-- when the feed has 'USD' (the default collation would take one for the
-- other). Trailing spaces need nothing: Moneda is CHAR(3) in both engines,
-- and neither compares a CHAR's trailing spaces. Callers pass the currency
-- list built with a binary DISTINCT, so 'usd' and 'USD' both arrive here.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Validar_TiposCambio
    @FechaReporte DATE,
    @Monedas VARCHAR(400),
    @Contexto NVARCHAR(400)
AS
BEGIN
    SET NOCOUNT ON;

    DECLARE @Faltan VARCHAR(400);
    DECLARE @Msg NVARCHAR(2048);

    -- BIN2 (case-sensitive, as PostgreSQL): the DISTINCT keeps 'usd' and 'USD' apart, and a rate counts only
    -- under its exact spelling. The probe still seeks the key's FechaReporte (a few dozen rates per date).
    SELECT @Faltan = STRING_AGG(m.Moneda, ', ')
    FROM (
        SELECT DISTINCT TRIM(s.value) COLLATE Latin1_General_100_BIN2 AS Moneda
        FROM STRING_SPLIT(@Monedas, ',') AS s
        WHERE TRIM(s.value) <> ''
    ) AS m
    WHERE NOT EXISTS (
        SELECT 1 FROM source.TiposCambio AS fx
        WHERE fx.FechaReporte = @FechaReporte AND fx.Moneda COLLATE Latin1_General_100_BIN2 = m.Moneda
    );

    IF @Faltan IS NOT NULL
        BEGIN
            SET @Msg = CONCAT(
                N'missing source data: no rate in source.TiposCambio on ', CONVERT(CHAR(10), @FechaReporte, 23),
                N' for ', @Faltan, N' (', @Contexto, N')'
            );
            THROW 50002, @Msg, 1;
        END;
END;
GO
