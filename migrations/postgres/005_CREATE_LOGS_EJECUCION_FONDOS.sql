-- 005_CREATE_LOGS_EJECUCION_FONDOS
-- Legacy per-fund state of a run: PK (ID_Ejecucion, ID_Fund) because all funds
-- share the run's ID_Ejecucion. The legacy schema never declared a foreign key
-- to logs.Ejecuciones; 015 checks there are no orphans and 016 adds it.

CREATE TABLE IF NOT EXISTS logs.Ejecucion_Fondos (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    FundShortName VARCHAR(100) NOT NULL,
    Portfolio_Geneva VARCHAR(50) NOT NULL,
    Portfolio_CAPM VARCHAR(50) NULL,
    Portfolio_Derivados VARCHAR(50) NULL,
    Portfolio_UBS VARCHAR(50) NULL,
    Estado_Process_IPA VARCHAR(50) NULL,
    Estado_Process_CAPM VARCHAR(50) NULL,
    Estado_Process_PNL VARCHAR(50) NULL,
    Estado_Process_Derivados VARCHAR(50) NULL,
    Estado_Process_UBS VARCHAR(50) NULL,
    CONSTRAINT pk_ejecucion_fondos PRIMARY KEY (ID_Ejecucion, ID_Fund)
);
