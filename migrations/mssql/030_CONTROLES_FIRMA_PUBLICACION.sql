-- 030_CONTROLES_FIRMA_PUBLICACION
-- The day ends checked and signed off (issue 21):
--   config.Controles          the plausibility checks and their default thresholds:
--                             PATRIMONIO (% move of net assets against the previous
--                             business day's approved figures), PRECIOS (% of positions
--                             valued at cost or at a stale price), QUIEBRES (custodian
--                             breaks, a count) and QUIEBRES_MONTO (their amount, valued at the
--                             accounting price, in % of net assets: one default fits funds in
--                             any base currency; the amount itself is kept in Importe);
--   config.Fondos_Controles   a fund's own threshold for a check (else the default);
--   logs.Ejecucion_Controles  each ejecución's checks as last run (logs.sp_Controlar_Ejecucion):
--                             OK, RETENIDO (above its threshold: the fund's figures are held),
--                             SIN_COMPARACION (no approved figures of the previous business
--                             day: never a silent pass) or NO_APLICA (no custodian stage);
--   logs.Ejecucion_Aceptaciones an operator's acceptance of a held fund, with who, when and why,
--                             for the check run it accepts (a new run of the checks needs a new one);
--   logs.Proceso_Firmas       each sign-off decision of a proceso (APROBADO, RECHAZADO), by whom,
--                             asked by whom, with the comment; Clave names the decision (the
--                             Airflow response it records), so a resent call records it once;
--   logs.Ejecucion_Publicaciones the ejecuciones an approval published.
-- A publication stays current while its ejecución is OK and nothing of it ran after it (no stage
-- started or ended, no check run): re-running a fund withdraws its figures until approved again
-- (logs.vw_Ejecucion_Verificacion). Downstream systems read logs.vw_Cifras_Aprobadas.
-- Sign-off records are never deleted with a proceso: the foreign keys without cascade make deleting
-- a signed-off proceso fail (logs.sp_Eliminar_Proceso says so first).
-- The checks compare bytes (BIN2), as in PostgreSQL.

IF OBJECT_ID(N'config.Controles', N'U') IS NULL
    CREATE TABLE config.Controles (
        Control VARCHAR(20) NOT NULL CONSTRAINT PK_Controles PRIMARY KEY CLUSTERED,
        Umbral DECIMAL(38, 4) NOT NULL,
        Unidad VARCHAR(10) NOT NULL,
        Descripcion NVARCHAR(400) NOT NULL,
        CONSTRAINT CK_Controles_Control CHECK (
            Control COLLATE Latin1_General_BIN2 IN ('PATRIMONIO', 'PRECIOS', 'QUIEBRES', 'QUIEBRES_MONTO')
        ),
        CONSTRAINT CK_Controles_Umbral CHECK (Umbral >= 0)
    );
GO

INSERT INTO config.Controles (Control, Umbral, Unidad, Descripcion)
SELECT
    v.Control,
    v.Umbral,
    v.Unidad,
    v.Descripcion
FROM (
    VALUES
    ('PATRIMONIO', 10.0000, '%', N'net assets moved against the previous business day''s approved figures'),
    ('PRECIOS', 25.0000, '%', N'positions valued at cost or at a stale price'),
    ('QUIEBRES', 5.0000, 'breaks', N'custodian breaks (instruments whose quantities differ)'),
    ('QUIEBRES_MONTO', 5.0000, '%', N'custodian breaks valued at the accounting price, in % of net assets')
) AS v(Control, Umbral, Unidad, Descripcion)
WHERE NOT EXISTS (
    SELECT 1 FROM config.Controles AS c
    WHERE c.Control = v.Control
);
GO

IF OBJECT_ID(N'config.Fondos_Controles', N'U') IS NULL
    CREATE TABLE config.Fondos_Controles (
        ID_Fund INT NOT NULL,
        Control VARCHAR(20) NOT NULL,
        Umbral DECIMAL(38, 4) NOT NULL,
        CONSTRAINT PK_Fondos_Controles PRIMARY KEY CLUSTERED (ID_Fund, Control),
        CONSTRAINT FK_Fondos_Controles_Fondos FOREIGN KEY (ID_Fund) REFERENCES config.Fondos (ID_Fund),
        CONSTRAINT FK_Fondos_Controles_Controles FOREIGN KEY (Control) REFERENCES config.Controles (Control),
        CONSTRAINT CK_Fondos_Controles_Umbral CHECK (Umbral >= 0)
    );
GO

IF OBJECT_ID(N'logs.Ejecucion_Controles', N'U') IS NULL
    CREATE TABLE logs.Ejecucion_Controles (
        ID_Ejecucion BIGINT NOT NULL,
        Control VARCHAR(20) NOT NULL,
        Estado VARCHAR(20) NOT NULL,
        Valor DECIMAL(38, 4) NULL,
        ValorAnterior DECIMAL(38, 4) NULL,
        Importe DECIMAL(38, 4) NULL,
        Umbral DECIMAL(38, 4) NOT NULL,
        FechaAnterior DATE NULL,
        FechaControl DATETIME2(3) NOT NULL CONSTRAINT DF_Ejecucion_Controles_FechaControl DEFAULT SYSDATETIME(),
        CONSTRAINT PK_Ejecucion_Controles PRIMARY KEY CLUSTERED (ID_Ejecucion, Control),
        CONSTRAINT FK_Ejecucion_Controles_Ejecuciones FOREIGN KEY (ID_Ejecucion)
        REFERENCES logs.Ejecuciones (ID_Ejecucion) ON DELETE CASCADE,
        CONSTRAINT CK_Ejecucion_Controles_Control CHECK (
            Control COLLATE Latin1_General_BIN2 IN ('PATRIMONIO', 'PRECIOS', 'QUIEBRES', 'QUIEBRES_MONTO')
        ),
        CONSTRAINT CK_Ejecucion_Controles_Estado CHECK (
            Estado COLLATE Latin1_General_BIN2 IN ('OK', 'RETENIDO', 'SIN_COMPARACION', 'NO_APLICA')
        )
    );
GO

IF OBJECT_ID(N'logs.Ejecucion_Aceptaciones', N'U') IS NULL
    CREATE TABLE logs.Ejecucion_Aceptaciones (
        ID_Ejecucion BIGINT NOT NULL,
        FechaControl DATETIME2(3) NOT NULL,
        Usuario VARCHAR(100) NOT NULL,
        Motivo NVARCHAR(1000) NOT NULL,
        FechaAceptacion DATETIME2(3) NOT NULL
        CONSTRAINT DF_Ejecucion_Aceptaciones_FechaAceptacion DEFAULT SYSDATETIME(),
        CONSTRAINT PK_Ejecucion_Aceptaciones PRIMARY KEY CLUSTERED (ID_Ejecucion, FechaControl),
        CONSTRAINT FK_Ejecucion_Aceptaciones_Ejecuciones FOREIGN KEY (ID_Ejecucion)
        REFERENCES logs.Ejecuciones (ID_Ejecucion) ON DELETE CASCADE
    );
GO

IF OBJECT_ID(N'logs.Proceso_Firmas', N'U') IS NULL
    CREATE TABLE logs.Proceso_Firmas (
        ID_Proceso BIGINT NOT NULL,
        Secuencia INT NOT NULL,
        Decision VARCHAR(20) NOT NULL,
        Usuario VARCHAR(100) NOT NULL,
        Solicitante VARCHAR(100) NULL,
        Comentario NVARCHAR(1000) NULL,
        Publicadas INT NOT NULL,
        Clave VARCHAR(250) COLLATE Latin1_General_100_BIN2 NOT NULL,
        FechaFirma DATETIME2(3) NOT NULL CONSTRAINT DF_Proceso_Firmas_FechaFirma DEFAULT SYSDATETIME(),
        CONSTRAINT PK_Proceso_Firmas PRIMARY KEY CLUSTERED (ID_Proceso, Secuencia),
        CONSTRAINT FK_Proceso_Firmas_Procesos FOREIGN KEY (ID_Proceso) REFERENCES logs.Procesos (ID_Proceso),
        CONSTRAINT UQ_Proceso_Firmas_Clave UNIQUE (ID_Proceso, Clave),
        CONSTRAINT CK_Proceso_Firmas_Decision CHECK (Decision COLLATE Latin1_General_BIN2 IN ('APROBADO', 'RECHAZADO'))
    );
GO

IF OBJECT_ID(N'logs.Ejecucion_Publicaciones', N'U') IS NULL
    CREATE TABLE logs.Ejecucion_Publicaciones (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Proceso BIGINT NOT NULL,
        Secuencia INT NOT NULL,
        FechaPublicacion DATETIME2(3) NOT NULL
        CONSTRAINT DF_Ejecucion_Publicaciones_FechaPublicacion DEFAULT SYSDATETIME(),
        CONSTRAINT PK_Ejecucion_Publicaciones PRIMARY KEY CLUSTERED (ID_Ejecucion, Secuencia),
        CONSTRAINT FK_Ejecucion_Publicaciones_Ejecuciones FOREIGN KEY (ID_Ejecucion)
        REFERENCES logs.Ejecuciones (ID_Ejecucion),
        CONSTRAINT FK_Ejecucion_Publicaciones_Firmas FOREIGN KEY (ID_Proceso, Secuencia)
        REFERENCES logs.Proceso_Firmas (ID_Proceso, Secuencia)
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE object_id = OBJECT_ID(N'logs.Ejecucion_Publicaciones') AND name = N'IX_Ejecucion_Publicaciones_Proceso'
    )
    CREATE INDEX IX_Ejecucion_Publicaciones_Proceso ON logs.Ejecucion_Publicaciones (ID_Proceso, Secuencia);
GO

-- A fund and its report date (the checks read the approved figures of a fund and date).
IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE object_id = OBJECT_ID(N'logs.Ejecuciones') AND name = N'IX_Ejecuciones_Fund_Fecha'
    )
    CREATE INDEX IX_Ejecuciones_Fund_Fecha ON logs.Ejecuciones (ID_Fund, FechaReporte) INCLUDE (Estado, ID_Proceso);
GO

-- The reader and the operator see the thresholds (the API, the CLI); the pipeline reads them in procedures
-- (ownership chaining: every schema is dbo's, 025).
GRANT SELECT ON config.Controles TO fondos_lector;
GRANT SELECT ON config.Controles TO fondos_operador;
GRANT SELECT ON config.Fondos_Controles TO fondos_lector;
GRANT SELECT ON config.Fondos_Controles TO fondos_operador;
GO
