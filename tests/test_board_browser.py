"""The board in a real browser (issue 13, part 2): headless Chromium (Debian's, driven by Playwright) logs in
to the real Airflow UI, opens the board from its plugin page, sees the failed fund, retries it after the
data is repaired, and sees it turn OK. Screenshots go to test-artifacts/board/."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from e2e_helpers import alive
from fondos.db.connection import database, open_database
from fondos.db.migrate import migrate
from fondos_dev.local_airflow import LocalAirflow

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.xdist_group("airflow-a")]

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "board"
CHROMIUM = os.environ.get("FONDOS_CHROMIUM", "/usr/bin/chromium")
FECHA = "2026-03-13"
FAILING = {"map_index": 1, "id_fund": 102, "portfolio": "LAFID002"}


@pytest.fixture
def stack(fresh_pg_db, airflow_pg_metadata, tmp_path):
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: `make setup` installs Debian's chromium as root "
                    "(apt-get install chromium), or set FONDOS_CHROMIUM")
    db = open_database()
    migrate(db)
    db.close()
    af = LocalAirflow(tmp_path / "airflow", os.environ["AIRFLOW_CONN_FONDOS_DB"], parallelism=4,
                      metadata=airflow_pg_metadata, all_admins=False,
                      extra={"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer"})
    af.home.mkdir()
    af.start()
    try:
        yield af
    finally:
        af.stop()
    assert alive(af) == [], "Airflow processes outlived stop()"


def _login(page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/")
    page.wait_for_url("**/auth/login**", timeout=60_000)
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)


def test_board_shows_the_failed_fund_and_retry_turns_it_ok(stack):
    try:
        _board_scenario(stack)
    except BaseException:
        print(stack.logs())  # the components' output, to see why (a fixture never sees the test's exception)
        raise


def _board_scenario(af):
    from playwright.sync_api import expect, sync_playwright

    from pipeline_helpers import put_back_positions, seed, take_positions

    seed(3, 30)
    with database(autocommit=True) as conn:
        saved = take_positions(conn, FAILING["portfolio"])
    af.ready("procesos_diarios")
    status, body = af.trigger("procesos_diarios", {"fecha": FECHA})
    assert status == 200, body
    run_id = body["dag_run_id"]
    assert af.wait_run("procesos_diarios", run_id, 600) == "failed"

    passwords = json.loads((af.home / "simple_auth_manager_passwords.json.generated").read_text())
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            # a viewer sees the board but Airflow refuses the viewer's retry: Airflow's permissions apply
            viewer = browser.new_page(viewport={"width": 1400, "height": 900})
            _login(viewer, af.base, "viewer", passwords["viewer"])
            viewer.goto(f"{af.base}/fondos/board/?fecha={FECHA}")
            expect(viewer.locator("#fecha")).to_have_value(FECHA)
            expect(viewer.locator(f'td[data-fund="{FAILING["id_fund"]}"][data-stage="IPA"]')).to_have_attribute(
                "data-estado", "ERROR", timeout=60_000)
            viewer.locator(f'button[data-retry-fund="{FAILING["id_fund"]}"]').click()
            expect(viewer.locator("#aviso")).to_contain_text("Airflow refused", timeout=30_000)
            viewer.screenshot(path=str(SHOTS / "0-viewer-retry-refused.png"), full_page=True)
            viewer.close()

            page = browser.new_page(viewport={"width": 1400, "height": 900})
            _login(page, af.base, "admin", passwords["admin"])
            page.goto(f"{af.base}/plugin/fondos")  # the board's entry in Airflow's navigation (an iframe)
            board = page.frame_locator("iframe")
            board.locator("#fecha").fill(FECHA)
            board.locator("#fecha").dispatch_event("change")
            failed = board.locator(f'td[data-fund="{FAILING["id_fund"]}"][data-stage="IPA"]')
            expect(failed).to_have_attribute("data-estado", "ERROR", timeout=60_000)
            expect(board.locator("#estado-proceso")).to_have_attribute("data-estado", "ERROR")
            for other in (101, 103):
                expect(board.locator(f'tr[data-fund-row="{other}"]')).to_have_attribute("data-estado", "OK")
            expect(board.locator("#veredicto")).to_be_visible()
            page.screenshot(path=str(SHOTS / "1-failed-fund.png"), full_page=True)

            failed.click()
            expect(board.locator("#detalle-mensaje")).to_contain_text("source.Geneva_Posiciones")
            href = board.locator("#log-link").get_attribute("href")
            assert href.endswith(f"/tasks/procesar_fondo.ipa/mapped/{FAILING['map_index']}") and run_id in href
            page.screenshot(path=str(SHOTS / "2-message-and-log-link.png"), full_page=True)

            with database(autocommit=True) as conn:  # the operator repairs the feed ...
                put_back_positions(conn, saved)
            board.locator(f'button[data-retry-fund="{FAILING["id_fund"]}"]').click()  # ... and retries the fund
            expect(board.locator("#aviso")).to_contain_text(f"Retry of fund {FAILING['id_fund']} requested",
                                                            timeout=30_000)
            page.screenshot(path=str(SHOTS / "3-retry-requested.png"), full_page=True)
            # the board follows the run live until it ends
            expect(failed).to_have_attribute("data-estado", "OK", timeout=300_000)
            expect(board.locator("#estado-proceso")).to_have_attribute("data-estado", "OK", timeout=120_000)
            expect(board.locator("#aviso")).to_contain_text("The run ended: success", timeout=120_000)
            expect(board.locator(f'button[data-retry-fund="{FAILING["id_fund"]}"]')).to_have_count(0)
            expect(board.locator("#detalle h2")).to_contain_text("IPA: OK")  # the open detail followed the data
            page.screenshot(path=str(SHOTS / "4-fund-ok.png"), full_page=True)
            # the cell's log link opens that mapped task in Airflow's UI, showing its log (the latest try: OK)
            page.goto(f"{af.base}{href}" if href.startswith("/") else href)
            try:
                expect(page.get_by_text("IPA fund 102 (FI GLOBAL BALANCEADO 002)").first).to_be_visible(timeout=60_000)
            finally:
                page.screenshot(path=str(SHOTS / "5-task-log.png"), full_page=True)
        finally:
            browser.close()

    assert af.run_state("procesos_diarios", run_id) == "success"
    status, tis = af.api("GET", f"/dags/procesos_diarios/dagRuns/{run_id}/taskInstances?limit=100")
    tries = {(ti["task_id"], ti["map_index"]): ti["try_number"] for ti in tis["task_instances"]}
    assert tries[("procesar_fondo.ipa", FAILING["map_index"])] == 2  # the retry ran that fund again ...
    assert tries[("procesar_fondo.ipa", 0)] == 1 and tries[("procesar_fondo.ipa", 2)] == 1  # ... and no other
    with database(autocommit=True) as conn:
        p = conn.execute("SELECT * FROM logs.vw_Procesos")[0]
        assert (p["estado"], p["fondosexitosos"], p["fondosfallidos"]) == ("OK", 3, 0)
    # the plan's endpoint on the real API server: with a token the finished proceso with every fund and
    # stage; without one refused; nonsense 4xx
    import urllib.error
    import urllib.request

    def get(path, token=True):
        headers = {"Authorization": f"Bearer {af.token()}"} if token else {}
        req = urllib.request.Request(f"{af.base}{path}", headers=headers)  # noqa: S310 - our local server
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    status, listed = get(f"/fondos/api/procesos?fecha={FECHA}")
    assert status == 200 and len(listed) == 1
    status, p = get(f"/fondos/api/procesos/{listed[0]['id_proceso']}")
    assert status == 200 and p["estado"] == "OK" and p["airflow"]["run_id"] == run_id
    assert len(p["ejecuciones"]) == 3 and all(len(f["etapas"]) == 5 for f in p["ejecuciones"])
    assert [f["map_index"] for f in p["ejecuciones"]] == [0, 1, 2] and p["metricas"]["closed"]
    assert get(f"/fondos/api/procesos/{listed[0]['id_proceso']}", token=False)[0] == 401
    assert get("/fondos/api/procesos/999999")[0] == 404 and get("/fondos/api/procesos/x")[0] == 422
    # cerrar_proceso's log states the plan metrics and the morning message's fate (no recipients here)
    logs = sorted((af.home / "logs").rglob(f"run_id={run_id}/task_id=cerrar_proceso/attempt=*.log"))
    text = logs[-1].read_text()
    assert "plan metrics of proceso" in text and "target 0, tolerance max 1" in text
    assert "no recipients (set FONDOS_AVISO_PARA" in text
    for shot in ("1-failed-fund", "2-message-and-log-link", "3-retry-requested", "4-fund-ok"):
        assert (SHOTS / f"{shot}.png").stat().st_size > 10_000
