-- 023_CREATE_PROCESO_AVISOS
-- logs.Proceso_Avisos: the morning messages of a proceso, one row per
-- outcome reported, numbered by Secuencia. Firma is a SHA-256 (hex) of the
-- outcome (state, fund counts, every failed fund's failed stages; not the
-- message texts). A message is first reserved (Envio RESERVADO), then sent,
-- then confirmed (ENVIADO): a cerrar_proceso retried or cleared with the same
-- outcome as the last one confirmed sends nothing; one whose last reservation
-- was never confirmed (the task died between sending and confirming) sends it
-- again under the same Secuencia, so the same Message-ID; a new outcome (a
-- repaired fund, or the old failure again after that) gets the next Secuencia.
-- Canal is where it went (smtp, slack). The checks compare in binary, as
-- PostgreSQL does.
-- Written only through logs.sp_Reservar_Aviso and logs.sp_Confirmar_Aviso
-- (018's role has EXECUTE on the schema, no table rights); read through
-- logs.vw_Proceso_Avisos. Deleting a proceso deletes its rows (ON DELETE
-- CASCADE; one cascade path only).

IF OBJECT_ID(N'logs.Proceso_Avisos', N'U') IS NULL
    CREATE TABLE logs.Proceso_Avisos (
        ID_Proceso BIGINT NOT NULL,
        Secuencia INT NOT NULL,
        Firma CHAR(64) NOT NULL,
        Canal VARCHAR(20) NOT NULL,
        Estado VARCHAR(50) NOT NULL,
        Envio VARCHAR(20) NOT NULL CONSTRAINT DF_Proceso_Avisos_Envio DEFAULT 'RESERVADO',
        FechaReserva DATETIME2(3) NOT NULL CONSTRAINT DF_Proceso_Avisos_FechaReserva DEFAULT SYSDATETIME(),
        FechaEnvio DATETIME2(3) NULL,
        CONSTRAINT PK_Proceso_Avisos PRIMARY KEY CLUSTERED (ID_Proceso, Secuencia),
        CONSTRAINT FK_Proceso_Avisos_Procesos FOREIGN KEY (ID_Proceso)
        REFERENCES logs.Procesos (ID_Proceso) ON DELETE CASCADE,
        CONSTRAINT CK_Proceso_Avisos_Canal CHECK (Canal COLLATE Latin1_General_BIN2 IN ('smtp', 'slack')),
        CONSTRAINT CK_Proceso_Avisos_Envio CHECK (Envio COLLATE Latin1_General_BIN2 IN ('RESERVADO', 'ENVIADO'))
    );
GO
