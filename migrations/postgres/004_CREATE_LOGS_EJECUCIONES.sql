-- 004_CREATE_LOGS_EJECUCIONES
-- Legacy run log: ONE row per report-date run, whose ID_Ejecucion (a
-- millisecond timestamp taken by the Node.js backend) is shared by every fund
-- of that run. 013 turns it into the per-fund child of logs.Procesos.

CREATE TABLE IF NOT EXISTS logs.Ejecuciones (
    ID_Ejecucion BIGINT NOT NULL CONSTRAINT pk_ejecuciones PRIMARY KEY,
    FechaReporte DATE NOT NULL,
    Estado VARCHAR(50) NOT NULL,
    Usuario VARCHAR(100) NULL,
    FechaInicio TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP,
    FechaFin TIMESTAMP(3) NULL,
    TotalFondos INTEGER NOT NULL DEFAULT 0,
    FondosExitosos INTEGER NOT NULL DEFAULT 0,
    FondosFallidos INTEGER NOT NULL DEFAULT 0
);
