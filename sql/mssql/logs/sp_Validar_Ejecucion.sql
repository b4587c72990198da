-- logs.sp_Validar_Ejecucion
-- Guard called first by every stage step: the ID_Ejecucion must be the given
-- fund's ejecución for the given date, so a step can never be pointed at
-- another fund's rows or at an unknown fund.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund. Raises 50001 when they do not match.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Validar_Ejecucion
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT
AS
BEGIN
    SET NOCOUNT ON;

    DECLARE @Msg NVARCHAR(2048);

    IF
        NOT EXISTS (
            SELECT 1
            FROM logs.Ejecuciones AS e
            WHERE
                e.ID_Ejecucion = @ID_Ejecucion
                AND e.ID_Fund = @ID_Fund
                AND e.FechaReporte = @FechaReporte
        )
        BEGIN
            SET @Msg = CONCAT(
                N'ID_Ejecucion ', @ID_Ejecucion, N' is not the ejecución of fund ', @ID_Fund, N' for ',
                CONVERT(CHAR(10), @FechaReporte, 23),
                N' (unknown fund or ejecución); use the ejecuciones returned by logs.sp_Inicializar_Proceso'
            );
            THROW 50001, @Msg, 1;
        END;
END;
GO
