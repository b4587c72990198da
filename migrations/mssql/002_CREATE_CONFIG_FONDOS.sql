-- 002_CREATE_CONFIG_FONDOS
-- The fund master: one row per fund, its portfolio code in each upstream
-- system, its base currency, which stages apply to it, and whether it is
-- processed at all. A fund without derivatives or without a custodian account
-- has no code there and the stage flagged off.

IF OBJECT_ID(N'config.Fondos', N'U') IS NULL
    CREATE TABLE config.Fondos (
        ID_Fund INT NOT NULL CONSTRAINT PK_Fondos PRIMARY KEY CLUSTERED,
        FundShortName VARCHAR(100) NOT NULL CONSTRAINT UQ_Fondos_FundShortName UNIQUE,
        Portfolio_Geneva VARCHAR(50) NOT NULL,
        Portfolio_CAPM VARCHAR(50) NULL,
        Portfolio_Derivados VARCHAR(50) NULL,
        Portfolio_UBS VARCHAR(50) NULL,
        Moneda_Base CHAR(3) NOT NULL CONSTRAINT DF_Fondos_Moneda_Base DEFAULT 'USD',
        Aplica_IPA BIT NOT NULL CONSTRAINT DF_Fondos_Aplica_IPA DEFAULT 1,
        Aplica_CAPM BIT NOT NULL CONSTRAINT DF_Fondos_Aplica_CAPM DEFAULT 1,
        Aplica_PNL BIT NOT NULL CONSTRAINT DF_Fondos_Aplica_PNL DEFAULT 1,
        Aplica_Derivados BIT NOT NULL CONSTRAINT DF_Fondos_Aplica_Derivados DEFAULT 0,
        Aplica_UBS BIT NOT NULL CONSTRAINT DF_Fondos_Aplica_UBS DEFAULT 0,
        Activo BIT NOT NULL CONSTRAINT DF_Fondos_Activo DEFAULT 1,
        CONSTRAINT CK_Fondos_CAPM CHECK (Aplica_CAPM = 0 OR Portfolio_CAPM IS NOT NULL),
        CONSTRAINT CK_Fondos_Derivados CHECK (Aplica_Derivados = 0 OR Portfolio_Derivados IS NOT NULL),
        CONSTRAINT CK_Fondos_UBS CHECK (Aplica_UBS = 0 OR Portfolio_UBS IS NOT NULL)
    );
GO
