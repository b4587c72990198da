-- 014_CREATE_SP_INICIALIZAR_PROCESO
-- What logs.sp_Inicializar_Proceso (plan, FASE 1.3) writes besides procesos and
-- ejecuciones: logs.Ejecucion_Etapas, one row per ejecución and stage with its
-- state, times, row count, attempts and error text (the lifecycle of Ola
-- Hallengren's CommandLog). Deleting an ejecución deletes its stage rows.
--
-- Deviation from the plan: the function itself is a repeatable object,
-- sql/postgres/logs/sp_Inicializar_Proceso.sql, deployed by the runner with
-- CREATE OR REPLACE right after the migrations, like every other routine, so a
-- fix to it is a reviewed edit of one file rather than a new migration.

CREATE TABLE IF NOT EXISTS logs.Ejecucion_Etapas (
    ID_Ejecucion BIGINT NOT NULL,
    Etapa VARCHAR(20) NOT NULL,
    Estado VARCHAR(20) NOT NULL DEFAULT 'PENDIENTE',
    FechaInicio TIMESTAMP(3) NULL,
    FechaFin TIMESTAMP(3) NULL,
    Filas INTEGER NULL,
    Intentos INTEGER NOT NULL DEFAULT 0,
    Mensaje VARCHAR(4000) NULL,
    CONSTRAINT pk_ejecucion_etapas PRIMARY KEY (ID_Ejecucion, Etapa),
    CONSTRAINT fk_ejecucion_etapas_ejecuciones FOREIGN KEY (ID_Ejecucion)
    REFERENCES logs.Ejecuciones (ID_Ejecucion) ON DELETE CASCADE,
    CONSTRAINT ck_ejecucion_etapas_etapa CHECK (Etapa IN ('IPA', 'CAPM', 'PNL', 'Derivados', 'UBS')),
    CONSTRAINT ck_ejecucion_etapas_estado
    CHECK (Estado IN ('PENDIENTE', 'EN_PROGRESO', 'OK', 'ERROR', 'OMITIDO'))
);
