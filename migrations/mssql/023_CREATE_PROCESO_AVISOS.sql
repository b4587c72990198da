-- 023_CREATE_PROCESO_AVISOS
-- logs.Proceso_Avisos: the morning messages sent for a proceso, one row per
-- distinct outcome. Firma is a SHA-256 (hex) of the outcome the message
-- reported (state, fund counts, and every failed fund's failed stages), so a
-- cerrar_proceso retried or cleared with the same outcome finds its message
-- already sent and sends none, while a retried fund that changes the outcome
-- gets its own message. Canal is where it went (smtp, slack).
-- Written only through logs.sp_Registrar_Aviso (018's role has EXECUTE on the
-- schema, no table rights); read through logs.vw_Proceso_Avisos. Deleting a
-- proceso deletes its rows (ON DELETE CASCADE; one cascade path only).

IF OBJECT_ID(N'logs.Proceso_Avisos', N'U') IS NULL
    CREATE TABLE logs.Proceso_Avisos (
        ID_Proceso BIGINT NOT NULL,
        Firma CHAR(64) NOT NULL,
        Canal VARCHAR(20) NOT NULL,
        Estado VARCHAR(50) NOT NULL,
        FechaEnvio DATETIME2(3) NOT NULL CONSTRAINT DF_Proceso_Avisos_FechaEnvio DEFAULT SYSDATETIME(),
        CONSTRAINT PK_Proceso_Avisos PRIMARY KEY CLUSTERED (ID_Proceso, Firma),
        CONSTRAINT FK_Proceso_Avisos_Procesos FOREIGN KEY (ID_Proceso)
        REFERENCES logs.Procesos (ID_Proceso) ON DELETE CASCADE
    );
GO
