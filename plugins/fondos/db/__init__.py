"""The database layer: connections (`connection`), stored-procedure calls with
retries (`calls`), migrations, backups and the legacy preflight (`migrate`, `backup`, `legacy`),
SQL Server bootstrap (`mssql_bootstrap`) and T-SQL batch splitting (`tsql`). It imports nothing of ours but
`fondos.settings` and `fondos.errors`. The embedded PostgreSQL and the T-SQL model check are development
tools (fondos_dev), not part of this package."""
