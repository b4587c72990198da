-- 013_ALTER_EJECUCIONES_ADD_ID_PROCESO
-- logs.Ejecuciones becomes the per-fund child of logs.Procesos (plan, FASE 1.2):
-- ID_Proceso (FK, ON DELETE CASCADE: deleting a proceso deletes its
-- ejecuciones) and ID_Fund. Both stay NULL-able while history is backfilled
-- (plan, risk 2); legacy rows keep ID_Fund NULL because one legacy ejecución
-- covered many funds. A fund appears at most once per proceso
-- (UX_Ejecuciones_Proceso_Fund, filtered to new-style rows). Estado is
-- checked against the states the pipeline writes; `fondos db migrate` runs a
-- preflight before 012 that normalises known spellings of those states in
-- legacy rows (case, surrounding spaces) and refuses, with nothing applied,
-- any value it cannot map (fondos/legacy.py). Legado marks the backfilled,
-- read-only history (set by 015).

IF COL_LENGTH(N'logs.Ejecuciones', N'ID_Proceso') IS NULL
    ALTER TABLE logs.Ejecuciones ADD ID_Proceso BIGINT NULL;
GO

IF COL_LENGTH(N'logs.Ejecuciones', N'ID_Fund') IS NULL
    ALTER TABLE logs.Ejecuciones ADD ID_Fund INT NULL;
GO

IF COL_LENGTH(N'logs.Ejecuciones', N'Legado') IS NULL
    ALTER TABLE logs.Ejecuciones ADD Legado BIT NOT NULL CONSTRAINT DF_Ejecuciones_Legado DEFAULT 0;
GO

IF OBJECT_ID(N'logs.FK_Ejecuciones_Procesos', N'F') IS NULL
    ALTER TABLE logs.Ejecuciones ADD CONSTRAINT FK_Ejecuciones_Procesos
    FOREIGN KEY (ID_Proceso) REFERENCES logs.Procesos (ID_Proceso) ON DELETE CASCADE;
GO

IF OBJECT_ID(N'logs.CK_Ejecuciones_Estado', N'C') IS NULL
    ALTER TABLE logs.Ejecuciones ADD CONSTRAINT CK_Ejecuciones_Estado
    CHECK (Estado IN ('EN_PROGRESO', 'OK', 'ERROR'));
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_Ejecuciones_Proceso_Fund' AND object_id = OBJECT_ID(N'logs.Ejecuciones')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_Ejecuciones_Proceso_Fund
        ON logs.Ejecuciones (ID_Proceso, ID_Fund)
        WHERE ID_Fund IS NOT NULL;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Ejecuciones_Proceso' AND object_id = OBJECT_ID(N'logs.Ejecuciones')
    )
    CREATE NONCLUSTERED INDEX IX_Ejecuciones_Proceso ON logs.Ejecuciones (ID_Proceso) INCLUDE (Estado, ID_Fund);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Ejecuciones_FechaReporte' AND object_id = OBJECT_ID(N'logs.Ejecuciones')
    )
    CREATE NONCLUSTERED INDEX IX_Ejecuciones_FechaReporte ON logs.Ejecuciones (FechaReporte);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Ejecuciones_Estado' AND object_id = OBJECT_ID(N'logs.Ejecuciones')
    )
    CREATE NONCLUSTERED INDEX IX_Ejecuciones_Estado ON logs.Ejecuciones (Estado);
GO
