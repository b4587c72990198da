"""The plugin's proceso API (issue 13, part 1), in-process in Airflow's own API server app (plugins,
auth manager and all), against a real database: answers, refusals (401/403/404/422, never a 500), and
a schemathesis fuzz of its OpenAPI document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from fondos.db.connection import database, open_database
from fondos.pipeline import proceso
from pipeline_helpers import FECHA, run_all, seed, start

pytestmark = pytest.mark.usefixtures("airflow_metadata")


def _client_and_tokens():
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.security import get_auth_manager
    from fastapi.testclient import TestClient

    purge_cached_app()
    app = create_app("core")
    auth = get_auth_manager()
    tokens = {role: auth.generate_jwt(SimpleAuthManagerUser(username=f"u_{role}", role=role))
              for role in ("ADMIN", "VIEWER")}
    tokens["NONE"] = auth.generate_jwt(SimpleAuthManagerUser(username="nobody", role=None))
    return app, TestClient(app, raise_server_exceptions=False), tokens


def _finished_proceso_and_app():
    """A finished proceso of 3 funds (one failed at IPA) in the current (migrated) fondos_db, and the API
    server app."""
    seed(3, 5)
    items = start("manual__2026-03-13T07:00:00+00:00")
    with database(autocommit=True) as c:  # fund 102's positions are missing: it fails at IPA, with a reason
        c.execute("DELETE FROM source.Geneva_Posiciones WHERE Portfolio = %s AND FechaReporte = %s",
                  (items[1]["portfolio_geneva"], FECHA))
    run_all(items)
    proceso.cerrar_proceso(items[0]["id_proceso"])
    app, client, tokens = _client_and_tokens()
    return {"app": app, "client": client, "tokens": tokens, "items": items}


@pytest.fixture(scope="module")
def api(backend, airflow_metadata, request):
    """One database and app for the tests that only read (built once: it takes seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        if backend.name == "postgres":
            dbname, env_value = backend.create(template=request.getfixturevalue("pg_migrated_template"))
        else:
            dbname, env_value = backend.create()
        mp.setenv("AIRFLOW_CONN_FONDOS_DB", env_value)
        try:
            if backend.name != "postgres":
                from fondos.db.migrate import migrate

                m = open_database()
                migrate(m)
                m.close()
            yield _finished_proceso_and_app()
        finally:
            backend.drop(dbname)


@pytest.fixture
def own_api(db):
    """The same, in a database of the test's own, for a test that adds data."""
    return _finished_proceso_and_app()


def _get(api, path, role="VIEWER", **kw):
    headers = {"Authorization": f"Bearer {api['tokens'][role]}"} if role else {}
    return api["client"].get(path, headers=headers, **kw)


def test_the_plans_endpoint_returns_the_proceso_with_every_fund_and_stage(api):
    pid = api["items"][0]["id_proceso"]
    r = _get(api, f"/fondos/api/procesos/{pid}")
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["id_proceso"] == pid and p["fechareporte"] == FECHA.isoformat() and p["estado"] == "ERROR"
    assert (p["totalfondos"], p["fondosexitosos"], p["fondosfallidos"]) == (3, 2, 1)
    assert p["airflow"] is None  # this run key ("manual__…", no "dag/run") names no Airflow run
    assert [f["id_fund"] for f in p["ejecuciones"]] == [it["id_fund"] for it in api["items"]]
    assert [f["map_index"] for f in p["ejecuciones"]] == [None, None, None]
    failed = p["ejecuciones"][1]
    ipa_failed = next(e for e in failed["etapas"] if e["etapa"] == "IPA")
    assert failed["estado"] == "ERROR" and ipa_failed["estado"] == "ERROR"
    assert "source.Geneva_Posiciones" in ipa_failed["mensaje"]
    ok = p["ejecuciones"][0]
    assert {e["etapa"] for e in ok["etapas"]} == set(p["etapas"]) and all(e["estado"] in ("OK", "OMITIDO")
                                                                          for e in ok["etapas"])
    ipa = next(e for e in ok["etapas"] if e["etapa"] == "IPA")
    assert ipa["filas"] > 0 and ipa["inicio"] and ipa["fin"] and ipa["intentos"] == 1
    assert p["metricas"]["closed"] and p["metricas"]["veredicto"] in ("met", "within tolerance", "missed")


def test_the_airflow_run_and_mapped_task_of_each_fund(db):
    seed(2, 5)
    items = start("procesos_diarios/manual__2026-03-13T07:00:00+00:00")
    run_all(items)
    proceso.cerrar_proceso(items[0]["id_proceso"])
    _, client, tokens = _client_and_tokens()
    p = client.get(f"/fondos/api/procesos/{items[0]['id_proceso']}",
                   headers={"Authorization": f"Bearer {tokens['VIEWER']}"}).json()
    assert p["airflow"] == {"dag_id": "procesos_diarios", "run_id": "manual__2026-03-13T07:00:00+00:00"}
    second = p["ejecuciones"][1]
    assert second["map_index"] == 1
    pnl = next(e for e in second["etapas"] if e["etapa"] == "PNL")
    assert pnl["task_id"] == "procesar_fondo.pnl"
    assert pnl["log_url"] == ("/dags/procesos_diarios/runs/manual__2026-03-13T07:00:00+00:00/tasks/"
                              "procesar_fondo.pnl/mapped/1")


def test_list_is_newest_first_and_filters(own_api):
    api = own_api
    first = api["items"][0]["id_proceso"]
    seed(3, 5, FECHA.replace(day=12))
    second = start("otro", FECHA.replace(day=12))[0]["id_proceso"]
    r = _get(api, "/fondos/api/procesos")
    assert r.status_code == 200 and [p["id_proceso"] for p in r.json()][:2] == [second, first]
    assert [p["id_proceso"] for p in _get(api, f"/fondos/api/procesos?fecha={FECHA}").json()] == [first]
    assert [p["id_proceso"] for p in _get(api, "/fondos/api/procesos?estado=EN_PROGRESO").json()] == [second]
    assert len(_get(api, "/fondos/api/procesos?limit=1").json()) == 1


def test_one_ejecucion(api):
    item = api["items"][2]
    r = _get(api, f"/fondos/api/ejecuciones/{item['id_ejecucion']}")
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["id_proceso"] == item["id_proceso"] and [f["id_fund"] for f in e["fondos"]] == [item["id_fund"]]


@pytest.mark.parametrize("role, status, detail", [
    (None, 401, "Not authenticated"),
    ("NONE", 403, "Forbidden"),          # a valid token of a user with no access to the DAG
])
def test_refused_without_a_token_or_permission(api, role, status, detail):
    for path in ("/fondos/api/procesos", f"/fondos/api/procesos/{api['items'][0]['id_proceso']}",
                 f"/fondos/api/ejecuciones/{api['items'][0]['id_ejecucion']}"):
        r = _get(api, path, role=role)
        assert (r.status_code, r.json()["detail"]) == (status, detail), path


def test_a_forged_token_is_refused(api):
    r = api["client"].get("/fondos/api/procesos", headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 403 and r.json()["detail"] == "Invalid JWT token"


@pytest.mark.parametrize("path, status", [
    ("/fondos/api/procesos/424242", 404),
    ("/fondos/api/ejecuciones/424242", 404),
    ("/fondos/api/procesos/abc", 422),
    ("/fondos/api/procesos/-1", 422),
    ("/fondos/api/procesos/0", 422),
    ("/fondos/api/procesos/99999999999999999999999", 422),
    ("/fondos/api/procesos?fecha=13/03/2026", 422),
    ("/fondos/api/procesos?fecha=2026-02-30", 422),
    ("/fondos/api/procesos?estado=BORRADO", 422),
    ("/fondos/api/procesos?limit=0", 422),
    ("/fondos/api/procesos?limit=100000", 422),
    ("/fondos/api/procesos?limit=1;DROP%20TABLE%20logs.Procesos", 422),
])
def test_nonsense_is_4xx_with_a_reason(api, path, status):
    r = _get(api, path)
    assert r.status_code == status, r.text
    assert r.json()["detail"]
    if status == 404:
        assert "no proceso 424242" in r.text or "no ejecución 424242" in r.text


def test_database_down_is_503_never_500(api, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_FONDOS_DB", '{"conn_type": "postgres", "host": "/nonexistent", "login": "x",'
                                                 ' "schema": "x"}')
    r = _get(api, "/fondos/api/procesos")
    assert r.status_code == 503 and "fondos_db" in r.json()["detail"]


def test_our_own_bug_is_a_500_not_an_unavailable_database(own_api):
    """Only a database that cannot answer (connection lost, server down) is 503: a query that is wrong
    (here a view missing, as if a migration had not run) stays a server error for us to fix."""
    with database(autocommit=True) as c:
        c.execute("DROP VIEW logs.vw_Proceso_Metricas")
    r = _get(own_api, f"/fondos/api/procesos/{own_api['items'][0]['id_proceso']}")
    assert r.status_code == 500


def test_a_connection_lost_mid_request_is_503(migrated_pg_db, monkeypatch):
    """PostgreSQL ends the API's session while it reads (pg_terminate_backend): 503, try again."""
    from fondos.web import lectura

    own = _finished_proceso_and_app()
    real = lectura.proceso

    def proceso_on_a_killed_session(db, id_proceso):
        db.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return real(db, id_proceso)

    monkeypatch.setattr(lectura, "proceso", proceso_on_a_killed_session)
    r = _get(own, f"/fondos/api/procesos/{own['items'][0]['id_proceso']}")
    assert r.status_code == 503 and "could not answer" in r.json()["detail"]


def test_the_openapi_document_is_served(api):
    doc = api["client"].get("/fondos/openapi.json").json()
    assert {"/api/procesos", "/api/procesos/{id_proceso}", "/api/ejecuciones/{id_ejecucion}"} <= set(doc["paths"])


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_fuzz_the_api_against_a_real_database(api, mode):
    """schemathesis generates requests from the served OpenAPI document, valid ones and (negative) invalid
    ones, and checks every answer: no 500, a status the document declares, a body matching its schema."""
    from hypothesis import given

    schema = schemathesis.openapi.from_asgi("/fondos/openapi.json", api["app"])
    headers = {"Authorization": f"Bearer {api['tokens']['VIEWER']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/api/procesos", "/api/procesos/{id_proceso}",
                                              "/api/ejecuciones/{id_ejecucion}", "/api/procesos/comparacion"}
    seen = []
    for op in operations:
        @given(case=op.as_strategy(generation_mode=schemathesis.GenerationMode(mode)))
        @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call_and_validate(headers=headers)
            seen.append(response.status_code)

        check()
    assert 500 not in seen and len(seen) >= 30
    assert (200 in seen) if mode == "positive" else (422 in seen)


def test_the_board_is_served_by_the_plugin_with_no_asset_from_the_network(api):
    from pathlib import Path

    client = api["client"]
    page = client.get("/fondos/board/")
    assert page.status_code == 200 and "Fondos board" in page.text
    for asset in ("board.js", "board.css"):
        assert client.get(f"/fondos/board/{asset}").status_code == 200
    static = Path(__file__).resolve().parents[1] / "plugins" / "fondos" / "web" / "static"
    for f in static.iterdir():
        text = f.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, f.name


def test_the_plugin_registers_the_api_the_board_and_the_timetable():
    """What Airflow's plugin manager loads from plugins/ (the API server, scheduler and DAG processor do too)."""
    from airflow import plugins_manager

    assert not plugins_manager.get_import_errors()
    apps, _ = plugins_manager.get_fastapi_plugins()
    assert [a["url_prefix"] for a in apps] == ["/fondos"]
    external_views, _ = plugins_manager._get_ui_plugins()
    assert [(v["name"], v["href"], v["destination"]) for v in external_views] == [
        ("Fondos board", "/fondos/board/", "nav")]
    assert "fondos.airflow.timetable.BusinessDayTimetable" in plugins_manager.get_timetables_plugins()


def _concurrently(api, path: str, n: int) -> list[tuple[int, float, dict]]:
    import threading
    import time

    out: list[tuple[int, float, dict]] = []
    lock = threading.Lock()

    def one():
        t = time.monotonic()
        r = _get(api, path)
        with lock:
            out.append((r.status_code, time.monotonic() - t, dict(r.headers)))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for th in threads:
        th.start()
    return out, threads


def test_the_api_pool_bound_holds_saturation_is_a_fast_503_and_stages_still_run(migrated_pg_db, monkeypatch):
    """Issue 19: 8 requests at once against a pool of 2 while the metrics table is locked (a slow fund
    database): 2 connections in use, never more; the other 6 get 503 with Retry-After at once; a stage of
    another proceso runs meanwhile; the 2 finish when the lock goes."""
    import time

    from fondos.web import pool

    monkeypatch.setenv("FONDOS_API_POOL_SIZE", "2")
    monkeypatch.setenv("FONDOS_API_POOL_WAIT_S", "0.3")
    monkeypatch.setenv("FONDOS_API_STATEMENT_TIMEOUT_S", "20")
    own = _finished_proceso_and_app()
    nuevo = start("while-the-api-waits")  # the first proceso is closed: the date may run again
    locker = open_database()
    locker.execute("LOCK TABLE logs.Proceso_Metricas IN ACCESS EXCLUSIVE MODE")
    try:
        out, threads = _concurrently(own, f"/fondos/api/procesos/{own['items'][0]['id_proceso']}", 8)
        deadline = time.monotonic() + 10
        while len(out) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        saturated = list(out)
        stage = proceso.ejecutar_etapa(nuevo[0], "IPA")  # the pipeline's own connections are not the API's
    finally:
        locker.rollback()
        locker.close()
    for th in threads:
        th.join(30)
    assert stage["estado"] == "OK"
    assert sorted(s for s, _, _ in saturated) == [503] * 6, saturated
    # answered while the 2 pooled connections still waited on the lock: refused, not queued behind them
    assert all(h.get("retry-after") == "2" for _, _, h in saturated), saturated
    assert sorted(s for s, _, _ in out) == [200, 200] + [503] * 6, out
    assert pool.pool().peak == 2


def test_an_api_read_past_its_statement_timeout_is_503(migrated_pg_db, monkeypatch):
    """A read blocked by a lock is cut by the API's 1 s statement timeout: 503 while the lock is still
    held (it is released 30 s later, long after)."""
    import threading

    monkeypatch.setenv("FONDOS_API_STATEMENT_TIMEOUT_S", "1")
    own = _finished_proceso_and_app()
    locker = open_database()
    locker.execute("LOCK TABLE logs.Proceso_Metricas IN ACCESS EXCLUSIVE MODE")
    released = threading.Event()

    def release():
        locker.rollback()
        released.set()

    timer = threading.Timer(30, release)
    timer.start()
    try:
        r = _get(own, f"/fondos/api/procesos/{own['items'][0]['id_proceso']}")
        answered_under_the_lock = not released.is_set()
    finally:
        timer.cancel()
        if not released.is_set():
            release()
        locker.close()
    assert r.status_code == 503 and "could not answer" in r.json()["detail"], r.text
    assert answered_under_the_lock


def test_a_database_that_never_answers_the_connect_is_503_after_the_connect_timeout(api, monkeypatch):
    """A server that accepts the socket and never speaks (a hung failover target): the API gives up after
    FONDOS_API_CONNECT_TIMEOUT_S and answers 503 (without the timeout the request waits for ever, and the
    test with it, until pytest-timeout fails it)."""
    import json
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes the handshake; nobody ever answers the startup message
    try:
        monkeypatch.setenv("FONDOS_API_CONNECT_TIMEOUT_S", "1")
        monkeypatch.setenv("AIRFLOW_CONN_FONDOS_DB", json.dumps({
            "conn_type": "postgres", "host": "127.0.0.1", "port": silent.getsockname()[1], "login": "x",
            "schema": "x"}))
        r = _get(api, "/fondos/api/procesos")
    finally:
        silent.close()
    assert r.status_code == 503 and "unreachable" in r.json()["detail"], r.text
