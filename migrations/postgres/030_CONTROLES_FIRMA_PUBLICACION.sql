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

CREATE TABLE IF NOT EXISTS config.Controles (
    Control VARCHAR(20) NOT NULL CONSTRAINT pk_controles PRIMARY KEY,
    Umbral NUMERIC(38, 4) NOT NULL,
    Unidad VARCHAR(10) NOT NULL,
    Descripcion VARCHAR(400) NOT NULL,
    CONSTRAINT ck_controles_control CHECK (Control IN ('PATRIMONIO', 'PRECIOS', 'QUIEBRES', 'QUIEBRES_MONTO')),
    CONSTRAINT ck_controles_umbral CHECK (Umbral >= 0)
);

INSERT INTO config.Controles (Control, Umbral, Unidad, Descripcion)
SELECT
    v.Control,
    v.Umbral,
    v.Unidad,
    v.Descripcion
FROM (
    VALUES
    ('PATRIMONIO', 10.0000, '%', 'net assets moved against the previous business day''s approved figures'),
    ('PRECIOS', 25.0000, '%', 'positions valued at cost or at a stale price'),
    ('QUIEBRES', 5.0000, 'breaks', 'custodian breaks (instruments whose quantities differ)'),
    ('QUIEBRES_MONTO', 5.0000, '%', 'custodian breaks valued at the accounting price, in % of net assets')
) AS v (Control, Umbral, Unidad, Descripcion)
WHERE NOT EXISTS (
    SELECT 1 FROM config.Controles AS c
    WHERE c.Control = v.Control
);

CREATE TABLE IF NOT EXISTS config.Fondos_Controles (
    ID_Fund INTEGER NOT NULL,
    Control VARCHAR(20) NOT NULL,
    Umbral NUMERIC(38, 4) NOT NULL,
    CONSTRAINT pk_fondos_controles PRIMARY KEY (ID_Fund, Control),
    CONSTRAINT fk_fondos_controles_fondos FOREIGN KEY (ID_Fund) REFERENCES config.Fondos (ID_Fund),
    CONSTRAINT fk_fondos_controles_controles FOREIGN KEY (Control) REFERENCES config.Controles (Control),
    CONSTRAINT ck_fondos_controles_umbral CHECK (Umbral >= 0)
);

CREATE TABLE IF NOT EXISTS logs.Ejecucion_Controles (
    ID_Ejecucion BIGINT NOT NULL,
    Control VARCHAR(20) NOT NULL,
    Estado VARCHAR(20) NOT NULL,
    Valor NUMERIC(38, 4) NULL,
    ValorAnterior NUMERIC(38, 4) NULL,
    Importe NUMERIC(38, 4) NULL,
    Umbral NUMERIC(38, 4) NOT NULL,
    FechaAnterior DATE NULL,
    FechaControl TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP(3),
    CONSTRAINT pk_ejecucion_controles PRIMARY KEY (ID_Ejecucion, Control),
    CONSTRAINT fk_ejecucion_controles_ejecuciones FOREIGN KEY (ID_Ejecucion)
    REFERENCES logs.Ejecuciones (ID_Ejecucion) ON DELETE CASCADE,
    CONSTRAINT ck_ejecucion_controles_control
    CHECK (Control IN ('PATRIMONIO', 'PRECIOS', 'QUIEBRES', 'QUIEBRES_MONTO')),
    CONSTRAINT ck_ejecucion_controles_estado CHECK (Estado IN ('OK', 'RETENIDO', 'SIN_COMPARACION', 'NO_APLICA'))
);

CREATE TABLE IF NOT EXISTS logs.Ejecucion_Aceptaciones (
    ID_Ejecucion BIGINT NOT NULL,
    FechaControl TIMESTAMP(3) NOT NULL,
    Usuario VARCHAR(100) NOT NULL,
    Motivo VARCHAR(1000) NOT NULL,
    FechaAceptacion TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP(3),
    CONSTRAINT pk_ejecucion_aceptaciones PRIMARY KEY (ID_Ejecucion, FechaControl),
    CONSTRAINT fk_ejecucion_aceptaciones_ejecuciones FOREIGN KEY (ID_Ejecucion)
    REFERENCES logs.Ejecuciones (ID_Ejecucion) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS logs.Proceso_Firmas (
    ID_Proceso BIGINT NOT NULL,
    Secuencia INTEGER NOT NULL,
    Decision VARCHAR(20) NOT NULL,
    Usuario VARCHAR(100) NOT NULL,
    Solicitante VARCHAR(100) NULL,
    Comentario VARCHAR(1000) NULL,
    Publicadas INTEGER NOT NULL,
    Clave VARCHAR(250) NOT NULL,
    FechaFirma TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP(3),
    CONSTRAINT pk_proceso_firmas PRIMARY KEY (ID_Proceso, Secuencia),
    CONSTRAINT fk_proceso_firmas_procesos FOREIGN KEY (ID_Proceso) REFERENCES logs.Procesos (ID_Proceso),
    CONSTRAINT uq_proceso_firmas_clave UNIQUE (ID_Proceso, Clave),
    CONSTRAINT ck_proceso_firmas_decision CHECK (Decision IN ('APROBADO', 'RECHAZADO'))
);

CREATE TABLE IF NOT EXISTS logs.Ejecucion_Publicaciones (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Proceso BIGINT NOT NULL,
    Secuencia INTEGER NOT NULL,
    FechaPublicacion TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP(3),
    CONSTRAINT pk_ejecucion_publicaciones PRIMARY KEY (ID_Ejecucion, Secuencia),
    CONSTRAINT fk_ejecucion_publicaciones_ejecuciones FOREIGN KEY (ID_Ejecucion)
    REFERENCES logs.Ejecuciones (ID_Ejecucion),
    CONSTRAINT fk_ejecucion_publicaciones_firmas FOREIGN KEY (ID_Proceso, Secuencia)
    REFERENCES logs.Proceso_Firmas (ID_Proceso, Secuencia)
);

-- A fund and its report date (the checks read the approved figures of a fund and date).
CREATE INDEX IF NOT EXISTS ix_ejecuciones_fund_fecha ON logs.Ejecuciones (ID_Fund, FechaReporte) INCLUDE (Estado, ID_Proceso);

CREATE INDEX IF NOT EXISTS ix_ejecucion_publicaciones_proceso ON logs.Ejecucion_Publicaciones (ID_Proceso, Secuencia);

-- The reader and the operator see the thresholds (the API, the CLI); the pipeline reads them only in
-- the checks' function, which runs with its owner's rights (018).
GRANT USAGE ON SCHEMA config TO fondos_lector, fondos_operador;
GRANT SELECT ON config.Controles TO fondos_lector, fondos_operador;
GRANT SELECT ON config.Fondos_Controles TO fondos_lector, fondos_operador;
