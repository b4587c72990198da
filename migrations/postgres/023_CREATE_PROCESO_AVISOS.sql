-- 023_CREATE_PROCESO_AVISOS
-- logs.Proceso_Avisos: the morning messages sent for a proceso, one row per
-- distinct outcome. Firma is a SHA-256 (hex) of the outcome the message
-- reported (state, fund counts, and every failed fund's failed stages), so a
-- cerrar_proceso retried or cleared with the same outcome finds its message
-- already sent and sends none, while a retried fund that changes the outcome
-- gets its own message. Canal is where it went (smtp, slack).
-- Written only through logs.sp_Registrar_Aviso (018's role has EXECUTE, no
-- table rights); read through logs.vw_Proceso_Avisos. Deleting a proceso
-- deletes its rows (ON DELETE CASCADE).

CREATE TABLE IF NOT EXISTS logs.Proceso_Avisos (
    ID_Proceso BIGINT NOT NULL,
    Firma CHAR(64) NOT NULL,
    Canal VARCHAR(20) NOT NULL,
    Estado VARCHAR(50) NOT NULL,
    FechaEnvio TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP(3),
    CONSTRAINT pk_proceso_avisos PRIMARY KEY (ID_Proceso, Firma),
    CONSTRAINT fk_proceso_avisos_procesos FOREIGN KEY (ID_Proceso)
    REFERENCES logs.Procesos (ID_Proceso) ON DELETE CASCADE
);
