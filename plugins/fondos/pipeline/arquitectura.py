"""Funds moved over gradually (migration 028, the plan's Riesgo 3).

`config.Fondos.Arquitectura` says which writer processes each fund: 'v3'
(procesos_diarios, one ejecución per fund) or 'v2' (the legacy writer, which
reads its list from config.vw_Fondos_Legado). procesos_diarios maps only the
active v3 funds. Funds move through config.sp_Asignar_Arquitectura, all of a
list or none, refused while a listed fund's day runs.
"""

from __future__ import annotations

from typing import Any

from fondos.db.calls import call, read
from fondos.db.connection import database
from fondos.errors import InvalidInput
from fondos.settings import CONN_ID, usuario_local

ARQUITECTURAS = {"v2": "the legacy writer", "v3": "procesos_diarios"}


def asignar(fondos: list[int], arquitectura: str, usuario: str | None = None,
            conn_id: str = CONN_ID) -> list[dict[str, Any]]:
    """Move `fondos` to `arquitectura`; one row per fund: id_fund, fundshortname, anterior, actual."""
    if arquitectura not in ARQUITECTURAS:
        raise InvalidInput(f"architecture must be v2 (the legacy writer) or v3 (procesos_diarios), got {arquitectura!r}")
    if not fondos:
        raise InvalidInput("name at least one ID_Fund to move")
    lista = ",".join(str(int(f)) for f in fondos)
    with database(conn_id, autocommit=True) as db:
        return call(db, "config.sp_Asignar_Arquitectura",
                    {"Fondos": lista, "Arquitectura": arquitectura, "Usuario": usuario or usuario_local()})


def listar(conn_id: str = CONN_ID) -> list[dict[str, Any]]:
    with database(conn_id, autocommit=True) as db:
        return read(db, "SELECT ID_Fund, FundShortName, Activo, Arquitectura, ArquitecturaDesde, ArquitecturaUsuario "
                        "FROM config.vw_Fondos_Arquitectura ORDER BY ID_Fund")
