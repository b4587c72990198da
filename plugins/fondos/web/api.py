"""The proceso API and the board: a FastAPI app that Airflow's API server mounts under /fondos.

    GET /fondos/api/procesos?fecha=YYYY-MM-DD&estado=OK|ERROR|EN_PROGRESO&limit=N
    GET /fondos/api/procesos/comparacion?fecha=YYYY-MM-DD&proceso=N&legado=N&limite=N
                                               the parallel run: new proceso vs legacy v2 run
    GET /fondos/api/procesos/{id_proceso}      the plan's GET /api/procesos/v2/proceso/:id
    GET /fondos/api/ejecuciones/{id_ejecucion}
    GET /fondos/openapi.json                   this API's OpenAPI document
    GET /fondos/board/                         the fund-by-stage board (static assets, no CDN)

Authentication and authorization are Airflow's own: the same JWT as /api/v2
(Authorization: Bearer, or the UI's session cookie), and read access on the DAG
`procesos_diarios` through Airflow's auth manager. No token: 401. A token
Airflow rejects, or a user without that access: 403. Unknown id: 404.
Malformed input: 422. The fund database unreachable, or its connection lost mid-request, or a read
past its statement timeout: 503. Every API connection busy (fondos.web.pool): a fast 503 with
Retry-After.
A wrong query of ours stays a 500, to be fixed, not retried. `fondos.web.asgi` builds the app on its first
request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from fondos.db.connection import Database
from fondos.errors import DataError
from fondos.pipeline.comparar import SinPermiso
from fondos.settings import DAG_ID
from fondos.web import lectura, pool
from fondos.web.modelos import Comparacion, Ejecucion, Proceso, ProcesoDetalle

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_ID = 2**63 - 1


class Estado(StrEnum):
    EN_PROGRESO = "EN_PROGRESO"
    OK = "OK"
    ERROR = "ERROR"


def _read_access():
    """Airflow's own check: a valid token (or UI session) of a user who may read the DAG procesos_diarios."""
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return requires_access_dag(method="GET", param_dag_id=DAG_ID)


class DatabaseUnavailable(Exception):
    pass


def fondos_db() -> Iterator[Database]:
    """A connection of the API's own bounded pool (fondos.web.pool) for one request."""
    cm = pool.pool().connection()
    try:
        db = cm.__enter__()
    except pool.PoolSaturated:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the same answer to the client
        log.warning("fund database unreachable: %s", str(exc).splitlines()[0][:300])
        raise DatabaseUnavailable(
            f"the fund database (Airflow connection {pool.api_conn_id()}) is unreachable") from None
    try:
        yield db
    except BaseException as exc:  # the request failed: the connection is closed, not kept for the next one
        cm.__exit__(type(exc), exc, exc.__traceback__)
        raise
    else:
        cm.__exit__(None, None, None)


DbDep = Annotated[Database, Depends(fondos_db)]


def _unavailable_errors() -> tuple[type[BaseException], ...]:
    """What means "the database cannot answer now": each installed driver's OperationalError and
    InterfaceError (connection lost, server shutting down, timeouts) and a refused or reset socket.
    A wrong column, a missing view or bad data is our bug and stays a 500."""
    import importlib

    found: list[type[BaseException]] = [ConnectionError]
    for module in ("psycopg", "pymssql", "pyodbc"):
        try:
            driver = importlib.import_module(module)
        except ImportError:
            continue
        found += [getattr(driver, name) for name in ("OperationalError", "InterfaceError") if hasattr(driver, name)]
    return tuple(found)


def create_app() -> FastAPI:
    app = FastAPI(
        title="Fondos",
        version="1",
        summary="Procesos and per-fund ejecuciones of procesos_diarios, read from the fund database's views.",
        docs_url=None, redoc_url=None,  # their pages load scripts from a CDN; the OpenAPI JSON is served
    )
    read = [Depends(_read_access())]

    @app.exception_handler(DatabaseUnavailable)
    async def _unavailable(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": f"{exc}; try again, or check the connection"})

    @app.exception_handler(pool.PoolSaturated)
    async def _saturated(request: Request, exc: pool.PoolSaturated) -> JSONResponse:
        return JSONResponse(status_code=503, headers={"Retry-After": str(exc.retry_after_s)},
                            content={"detail": f"{exc}; try again in {exc.retry_after_s} s"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # A query failing because the server went away mid-request (a dropped connection, a failover).
        log.warning("fondos API: %s %s: the fund database could not answer: %s", request.method, request.url.path,
                    str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__)
        return JSONResponse(status_code=503, content={"detail": "the fund database could not answer this request; "
                                                                "try again, and see the API server's log"})

    for error in _unavailable_errors():
        app.add_exception_handler(error, _database_unavailable)

    @app.get("/api/procesos", dependencies=read, tags=["procesos"],
             summary="Procesos with their figures, newest first")
    def list_procesos(
        db: DbDep,
        fecha: Annotated[date | None, Query(description="Report date, YYYY-MM-DD")] = None,
        estado: Annotated[Estado | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[Proceso]:
        return lectura.procesos(db, fecha, estado.value if estado else None, limit)

    # Before /api/procesos/{id_proceso}: "comparacion" must not be taken for an id.
    @app.get("/api/procesos/comparacion", dependencies=read, tags=["procesos"],
             summary="The parallel run: the new proceso's figures against the legacy v2 run of the same date",
             responses={403: {"description": "The API's login may not read the tables compared"},
                        404: {"description": "No new proceso or no legacy run for that date (or the ids given)"}})
    def get_comparacion(
        db: DbDep,
        fecha: Annotated[date, Query(description="Report date, YYYY-MM-DD")],
        proceso: Annotated[int | None, Query(ge=1, le=MAX_ID, description="ID_Proceso (default: the latest)")] = None,
        legado: Annotated[int | None, Query(ge=1, le=MAX_ID, description="the legacy run's ID_Ejecucion "
                                                                           "(default: the latest OK one)")] = None,
        limite: Annotated[int, Query(ge=1, le=1000, description="differences listed at most")] = 1000,
    ) -> Comparacion:
        try:
            return lectura.comparacion(db, fecha, proceso, legado, limite)
        except SinPermiso as exc:
            raise HTTPException(403, str(exc)) from None
        except DataError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/api/procesos/{id_proceso}", dependencies=read, tags=["procesos"],
             summary="One proceso: figures, plan metrics and verdict, every fund's stages and Airflow task",
             responses={404: {"description": "No such proceso"}})
    def get_proceso(db: DbDep, id_proceso: Annotated[int, PathParam(ge=1, le=MAX_ID)]) -> ProcesoDetalle:
        p = lectura.proceso(db, id_proceso)
        if p is None:
            raise HTTPException(404, f"no proceso {id_proceso}: list them with GET /fondos/api/procesos")
        return p

    @app.get("/api/ejecuciones/{id_ejecucion}", dependencies=read, tags=["ejecuciones"],
             summary="One ejecución: its fund(s), stages and proceso",
             responses={404: {"description": "No such ejecución"}})
    def get_ejecucion(db: DbDep, id_ejecucion: Annotated[int, PathParam(ge=1, le=MAX_ID)]) -> Ejecucion:
        e = lectura.ejecucion(db, id_ejecucion)
        if e is None:
            raise HTTPException(404, f"no ejecución {id_ejecucion}: a proceso's ejecuciones are listed by "
                                     "GET /fondos/api/procesos/{id_proceso}")
        return e

    @app.get("/board", include_in_schema=False)
    def board_root() -> RedirectResponse:
        return RedirectResponse("board/")

    # The board's page, script and style: files of this package, nothing from the network.
    app.mount("/board", StaticFiles(directory=STATIC, html=True), name="board")
    return app

