"""Refuse to start the compose stack with placeholder or missing secrets (`fondos check-secrets`).

Compose's `${VAR:?}` refuses an empty value only: `.env.example`'s placeholders (`change-me-...`) would
start a stack whose `sa` and pipeline passwords anyone can read in the repository, and without a Fernet
key Airflow stores connection passwords unencrypted. The compose file runs this check as a one-shot
service that every other service waits for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# (name, minimum length): every one must be set, none may keep .env.example's placeholder
SECRETS = (("MSSQL_SA_PASSWORD", 8), ("FONDOS_PIPELINE_PASSWORD", 8), ("FONDOS_API_PASSWORD", 8),
           ("FONDOS_OPERATOR_PASSWORD", 8), ("AIRFLOW_JWT_SECRET", 32))
PLACEHOLDER = "change-me"


def problems(env: Mapping[str, str] = os.environ) -> list[str]:
    """What is wrong with the secrets in `env`, one line each (never the values themselves)."""
    out = []
    for name, minimum in SECRETS:
        value = env.get(name, "")
        if not value:
            out.append(f"{name} is not set")
        elif PLACEHOLDER in value.lower():
            out.append(f"{name} still holds .env.example's placeholder: set a value of your own")
        elif len(value) < minimum:
            out.append(f"{name} is shorter than {minimum} characters")
    key = env.get("AIRFLOW_FERNET_KEY", "")
    if not key:
        out.append("AIRFLOW_FERNET_KEY is not set: Airflow would store connection passwords unencrypted "
                   "(make one: python -c \"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\")")
    else:
        from cryptography.fernet import Fernet

        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            out.append("AIRFLOW_FERNET_KEY is not a Fernet key (32 url-safe base64-encoded bytes)")
    logins = [env.get(n, "") for n, _ in SECRETS if n.endswith("PASSWORD") and env.get(n)]
    if len(set(logins)) < len(logins):
        out.append("two logins share one secret; give each login its own")
    return out
