-- 002_CREATE_CONFIG_FONDOS
-- The fund master: one row per fund, its portfolio code in each upstream
-- system, its base currency, which stages apply to it, and whether it is
-- processed at all. A fund without derivatives or without a custodian account
-- has no code there and the stage flagged off.

CREATE TABLE IF NOT EXISTS config.Fondos (
    ID_Fund INTEGER NOT NULL CONSTRAINT pk_fondos PRIMARY KEY,
    FundShortName VARCHAR(100) NOT NULL CONSTRAINT uq_fondos_fundshortname UNIQUE,
    Portfolio_Geneva VARCHAR(50) NOT NULL,
    Portfolio_CAPM VARCHAR(50) NULL,
    Portfolio_Derivados VARCHAR(50) NULL,
    Portfolio_UBS VARCHAR(50) NULL,
    Moneda_Base CHAR(3) NOT NULL DEFAULT 'USD',
    Aplica_IPA BOOLEAN NOT NULL DEFAULT TRUE,
    Aplica_CAPM BOOLEAN NOT NULL DEFAULT TRUE,
    Aplica_PNL BOOLEAN NOT NULL DEFAULT TRUE,
    Aplica_Derivados BOOLEAN NOT NULL DEFAULT FALSE,
    Aplica_UBS BOOLEAN NOT NULL DEFAULT FALSE,
    Activo BOOLEAN NOT NULL DEFAULT TRUE,
    CONSTRAINT ck_fondos_capm CHECK (NOT Aplica_CAPM OR Portfolio_CAPM IS NOT NULL),
    CONSTRAINT ck_fondos_derivados CHECK (NOT Aplica_Derivados OR Portfolio_Derivados IS NOT NULL),
    CONSTRAINT ck_fondos_ubs CHECK (NOT Aplica_UBS OR Portfolio_UBS IS NOT NULL)
);
