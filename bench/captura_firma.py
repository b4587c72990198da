"""The README's picture of the sign-off (docs/firma-aprobacion.png), taken from a real run, and the approval given
in Airflow's own UI: `.venv/bin/python bench/captura_firma.py`.

A fund database and an Airflow metadata database of their own on the embedded server (dropped at the end), three
demo funds x 30 positions (the demo's breaks then weigh more than 5 % of some funds' net assets: held), Airflow's
components with the users `admin` (triggers) and `aprobador` (signs off). Headless Chromium (Debian's) logs in as
`aprobador`, opens firmar_dia's *Required actions*, takes the picture, clicks *Approve*; the run must end OK
with the published funds in logs.vw_Cifras_Aprobadas. Every process it starts is stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from fondos.db.connection import database
from fondos.db.migrate import migrate
from fondos.pipeline import firma
from fondos.settings import PROJECT_ROOT
from fondos_dev import embedded
from fondos_dev.demo import seed
from fondos_dev.local_airflow import LocalAirflow

FECHA = date(2026, 3, 13)
CHROMIUM = os.environ.get("FONDOS_CHROMIUM", "/usr/bin/chromium")
OUT = PROJECT_ROOT / "docs" / "firma-aprobacion.png"


def main() -> int:
    import psycopg
    from playwright.sync_api import sync_playwright

    server = embedded.start()
    suffix = os.getpid()
    fund = embedded.create_database(f"captura_fondos_{suffix}", server=server)
    meta = embedded.create_database(f"captura_airflow_{suffix}", server=server)
    os.environ["AIRFLOW_CONN_FONDOS_DB"] = json.dumps(fund)
    home = Path(tempfile.mkdtemp(prefix="captura-firma-"))
    af = None
    try:
        with database() as db:
            migrate(db)
            seed(db, FECHA, 3, 30)
            # fund 102's own threshold for prices at cost or stale: 1 % (its 30 positions have more): held
            db.execute("INSERT INTO config.Fondos_Controles (ID_Fund, Control, Umbral) VALUES (102, 'PRECIOS', 1)")
            db.commit()
        af = LocalAirflow(home, os.environ["AIRFLOW_CONN_FONDOS_DB"], parallelism=4,
                          metadata=embedded.sqlalchemy_url(meta), all_admins=False,
                          users={"admin": "admin", "aprobador": "user"},
                          extra={"FONDOS_APROBADORES": "aprobador", "FONDOS_PLAZO": "none"})
        af.start()
        af.ready("procesos_diarios")
        status, body = af.trigger_as("procesos_diarios", {"fecha": FECHA.isoformat()}, "admin")
        assert status == 200, body
        run_id = body["dag_run_id"]
        af.await_input("procesos_diarios", run_id, "firmar_dia")
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())  # Airflow's own
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{af.base}/")
            page.wait_for_url("**/auth/login**", timeout=60_000)
            page.get_by_label("Username").fill("aprobador")
            page.get_by_label("Password").fill(passwords["aprobador"])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)
            page.goto(f"{af.base}/dags/procesos_diarios/runs/{run_id}/tasks/firmar_dia/required_actions")
            page.get_by_text("Approve publishes").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            OUT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(OUT), full_page=True)
            page.get_by_role("textbox").first.fill("checked with the custodian; fund 102 stays held")
            page.get_by_role("button", name="Approve").click()
            page.wait_for_timeout(1500)
            browser.close()
        state = af.wait_run("procesos_diarios", run_id, 300)
        with database() as db:
            published = [r["id_fund"] for r in firma.cifras_aprobadas(db, FECHA)]
            held = [f["id_fund"] for f in firma.verificacion(db, db.execute(
                "SELECT ID_Proceso FROM logs.vw_Procesos")[0]["id_proceso"]) if f["verificacion"] == "RETENIDO"]
        print(f"{OUT.relative_to(PROJECT_ROOT)} written; approved in the UI by aprobador: run {state}, "
              f"funds published {published}, held {held}")
        return 0 if state == "success" else 1
    finally:
        if af is not None:
            af.stop()
        shutil.rmtree(home, ignore_errors=True)
        with psycopg.connect(host=server["host"], user="postgres", dbname="postgres", autocommit=True) as admin:
            for name in (fund["schema"], meta["schema"]):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # our own names, from the pid


if __name__ == "__main__":
    sys.exit(main())
