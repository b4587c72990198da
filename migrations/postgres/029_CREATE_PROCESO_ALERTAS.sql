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
-- read through logs.vw_Proceso_Alertas. Deleting a proceso deletes its rows.

CREATE TABLE IF NOT EXISTS logs.Proceso_Alertas (
    ID_Proceso BIGINT NOT NULL,
    Disparador VARCHAR(20) NOT NULL,
    Detalle VARCHAR(1000) NOT NULL,
    Accion VARCHAR(1000) NOT NULL,
    FechaRegistro TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP(3),
    Envio VARCHAR(20) NOT NULL DEFAULT 'PENDIENTE',
    Canal VARCHAR(20) NULL,
    FechaReserva TIMESTAMP(3) NULL,
    FechaEnvio TIMESTAMP(3) NULL,
    CONSTRAINT pk_proceso_alertas PRIMARY KEY (ID_Proceso, Disparador),
    CONSTRAINT fk_proceso_alertas_procesos FOREIGN KEY (ID_Proceso)
    REFERENCES logs.Procesos (ID_Proceso) ON DELETE CASCADE,
    CONSTRAINT ck_proceso_alertas_disparador CHECK (Disparador IN ('FALLOS_2H', 'DURACION')),
    CONSTRAINT ck_proceso_alertas_envio CHECK (Envio IN ('PENDIENTE', 'RESERVADO', 'ENVIADO')),
    CONSTRAINT ck_proceso_alertas_canal CHECK (Canal IN ('smtp', 'slack'))
);
