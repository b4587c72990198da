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
-- Canal is where it went (smtp, slack).
-- Written only through logs.sp_Reservar_Aviso and logs.sp_Confirmar_Aviso
-- (018's role has EXECUTE, no table rights); read through
-- logs.vw_Proceso_Avisos. Deleting a proceso deletes its rows (ON DELETE
-- CASCADE).

CREATE TABLE IF NOT EXISTS logs.Proceso_Avisos (
    ID_Proceso BIGINT NOT NULL,
    Secuencia INTEGER NOT NULL,
    Firma CHAR(64) NOT NULL,
    Canal VARCHAR(20) NOT NULL,
    Estado VARCHAR(50) NOT NULL,
    Envio VARCHAR(20) NOT NULL DEFAULT 'RESERVADO',
    FechaReserva TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP(3),
    FechaEnvio TIMESTAMP(3) NULL,
    CONSTRAINT pk_proceso_avisos PRIMARY KEY (ID_Proceso, Secuencia),
    CONSTRAINT fk_proceso_avisos_procesos FOREIGN KEY (ID_Proceso)
    REFERENCES logs.Procesos (ID_Proceso) ON DELETE CASCADE,
    CONSTRAINT ck_proceso_avisos_canal CHECK (Canal IN ('smtp', 'slack')),
    CONSTRAINT ck_proceso_avisos_envio CHECK (Envio IN ('RESERVADO', 'ENVIADO'))
);
