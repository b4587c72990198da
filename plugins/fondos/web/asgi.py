"""The app the plugin hands to Airflow's API server, built on its first request.

Every Airflow process imports the plugin (the scheduler, the DAG processor,
each task process): building the FastAPI app with Airflow's security
dependencies at import would cost each of them about 0.8 s
(`python -X importtime`), for an app only the API server serves.
"""

from __future__ import annotations

import threading
from typing import Any


class LazyApp:
    """An ASGI app that builds fondos.web.api's app once, when the first request arrives."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    def _build(self) -> Any:
        with self._lock:
            if self._app is None:
                from fondos.web.api import create_app

                self._app = create_app()
        return self._app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        app = self._app or self._build()
        await app(scope, receive, send)


app = LazyApp()
