"""The database layer: connections (`connection`), stored-procedure calls with
retries (`calls`), migrations and the legacy preflight (`migrate`, `legacy`),
the embedded PostgreSQL (`embedded`), SQL Server bootstrap and the T-SQL tools
(`tsql`, `tsql_model`, `tsql_check`). It imports nothing of ours but
`fondos.settings` and `fondos.errors`."""
