-- 029_CREATE_PROCESO_ALERTAS
-- The plan's rollback triggers, recorded once per proceso each (Rollback Plan):
--   FALLOS_2H  Escenario 1: more than 50 % of the proceso's ejecuciones failed
--              within its first 2 hours;
--   DURACION   Escenario 2: the mean duration of the last 5 report dates more
--              than 20 % above the baseline.
-- Detalle holds the figures that fired it (as first recorded), Accion the
-- plan's action. The message about it goes once through the morning message's
-- channel: Envio PENDIENTE (recorded, not sent: no channel configured yet),
-- RESERVADO (a sender took it at FechaReserva; another sender leaves it alone
-- for 10 minutes, then takes it over: a sender that died is replaced, never
-- doubled while alive), ENVIADO (confirmed, FechaEnvio).
-- Written only through logs.sp_Registrar_Alerta and logs.sp_Confirmar_Alerta;
-- read through logs.vw_Proceso_Alertas. Deleting a proceso deletes its rows
-- (ON DELETE CASCADE; one cascade path only). The checks compare bytes (BIN2).

IF OBJECT_ID(N'logs.Proceso_Alertas', N'U') IS NULL
    CREATE TABLE logs.Proceso_Alertas (
        ID_Proceso BIGINT NOT NULL,
        Disparador VARCHAR(20) NOT NULL,
        Detalle NVARCHAR(1000) NOT NULL,
        Accion NVARCHAR(1000) NOT NULL,
        FechaRegistro DATETIME2(3) NOT NULL CONSTRAINT DF_Proceso_Alertas_FechaRegistro DEFAULT SYSDATETIME(),
        Envio VARCHAR(20) NOT NULL CONSTRAINT DF_Proceso_Alertas_Envio DEFAULT 'PENDIENTE',
        Canal VARCHAR(20) NULL,
        FechaReserva DATETIME2(3) NULL,
        FechaEnvio DATETIME2(3) NULL,
        CONSTRAINT PK_Proceso_Alertas PRIMARY KEY CLUSTERED (ID_Proceso, Disparador),
        CONSTRAINT FK_Proceso_Alertas_Procesos FOREIGN KEY (ID_Proceso)
        REFERENCES logs.Procesos (ID_Proceso) ON DELETE CASCADE,
        CONSTRAINT CK_Proceso_Alertas_Disparador CHECK (
            Disparador COLLATE Latin1_General_BIN2 IN ('FALLOS_2H', 'DURACION')
        ),
        CONSTRAINT CK_Proceso_Alertas_Envio CHECK (
            Envio COLLATE Latin1_General_BIN2 IN ('PENDIENTE', 'RESERVADO', 'ENVIADO')
        ),
        CONSTRAINT CK_Proceso_Alertas_Canal CHECK (Canal COLLATE Latin1_General_BIN2 IN ('smtp', 'slack'))
    );
GO
