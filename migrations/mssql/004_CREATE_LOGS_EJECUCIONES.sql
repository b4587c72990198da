-- 004_CREATE_LOGS_EJECUCIONES
-- Legacy run log: ONE row per report-date run, whose ID_Ejecucion (a
-- millisecond timestamp taken by the Node.js backend) is shared by every fund
-- of that run. 013 turns it into the per-fund child of logs.Procesos.

IF OBJECT_ID(N'logs.Ejecuciones', N'U') IS NULL
    CREATE TABLE logs.Ejecuciones (
        ID_Ejecucion BIGINT NOT NULL CONSTRAINT PK_Ejecuciones PRIMARY KEY CLUSTERED,
        FechaReporte DATE NOT NULL,
        Estado VARCHAR(50) NOT NULL,
        Usuario VARCHAR(100) NULL,
        FechaInicio DATETIME2(3) NOT NULL CONSTRAINT DF_Ejecuciones_FechaInicio DEFAULT SYSDATETIME(),
        FechaFin DATETIME2(3) NULL,
        TotalFondos INT NOT NULL CONSTRAINT DF_Ejecuciones_TotalFondos DEFAULT 0,
        FondosExitosos INT NOT NULL CONSTRAINT DF_Ejecuciones_FondosExitosos DEFAULT 0,
        FondosFallidos INT NOT NULL CONSTRAINT DF_Ejecuciones_FondosFallidos DEFAULT 0
    );
GO
