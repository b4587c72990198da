-- 014_CREATE_SP_INICIALIZAR_PROCESO
-- What logs.sp_Inicializar_Proceso (plan, FASE 1.3) writes besides procesos and
-- ejecuciones: logs.Ejecucion_Etapas, one row per ejecución and stage with its
-- state, times, row count, attempts and error text (the lifecycle of Ola
-- Hallengren's CommandLog). Deleting an ejecución deletes its stage rows.
--
-- Deviation from the plan: the procedure itself is a repeatable object,
-- sql/mssql/logs/sp_Inicializar_Proceso.sql, deployed by the runner with
-- CREATE OR ALTER right after the migrations, like every other procedure, so a
-- fix to it is a reviewed edit of one file rather than a new migration.

IF OBJECT_ID(N'logs.Ejecucion_Etapas', N'U') IS NULL
    CREATE TABLE logs.Ejecucion_Etapas (
        ID_Ejecucion BIGINT NOT NULL,
        Etapa VARCHAR(20) NOT NULL,
        Estado VARCHAR(20) NOT NULL CONSTRAINT DF_Ejecucion_Etapas_Estado DEFAULT 'PENDIENTE',
        FechaInicio DATETIME2(3) NULL,
        FechaFin DATETIME2(3) NULL,
        Filas INT NULL,
        Intentos INT NOT NULL CONSTRAINT DF_Ejecucion_Etapas_Intentos DEFAULT 0,
        Mensaje NVARCHAR(4000) NULL,
        CONSTRAINT PK_Ejecucion_Etapas PRIMARY KEY CLUSTERED (ID_Ejecucion, Etapa),
        CONSTRAINT FK_Ejecucion_Etapas_Ejecuciones FOREIGN KEY (ID_Ejecucion)
        REFERENCES logs.Ejecuciones (ID_Ejecucion) ON DELETE CASCADE,
        CONSTRAINT CK_Ejecucion_Etapas_Etapa CHECK (Etapa IN ('IPA', 'CAPM', 'PNL', 'Derivados', 'UBS')),
        CONSTRAINT CK_Ejecucion_Etapas_Estado
        CHECK (Estado IN ('PENDIENTE', 'EN_PROGRESO', 'OK', 'ERROR', 'OMITIDO'))
    );
GO
