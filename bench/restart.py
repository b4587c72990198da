"""make bench-restart: the fund database stopped for 10 s in the middle of a day, and started again (issue 19).

For each layout — Airflow's metadata on the same embedded server as the fund database (the default of
`make run` / `make airflow`), and on a server of its own — a local Airflow (LocalExecutor, supervised
as `make airflow` supervises it: a component that exits is started again) runs procesos_diarios for
FONDOS_BENCH_FONDOS (30) funds x FONDOS_BENCH_POSICIONES (200) positions twice: once undisturbed, once
with the fund database's server stopped for FONDOS_BENCH_DOWN_S (10) seconds once FONDOS_BENCH_AFTER
(20) stage states have been recorded. Nobody intervenes. Printed per layout: how each run ended, its
duration, the components restarted, the stages tried more than once, and whether every fund's rows of
the disturbed day equal the undisturbed day's and the proceso's state agrees with its funds.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fondos.db.connection import database  # noqa: E402
from fondos.db.migrate import migrate  # noqa: E402
from fondos_dev import embedded  # noqa: E402
from fondos_dev import local_airflow as airflow_env  # noqa: E402
from fondos_dev.demo import seed  # noqa: E402

N = int(os.environ.get("FONDOS_BENCH_FONDOS", "30"))
POS = int(os.environ.get("FONDOS_BENCH_POSICIONES", "200"))
DOWN_S = float(os.environ.get("FONDOS_BENCH_DOWN_S", "10"))
AFTER = int(os.environ.get("FONDOS_BENCH_AFTER", "20"))
FECHA = date(2026, 3, 13)


def _started_states() -> int:
    with database(autocommit=True) as db:
        return int(db.execute("SELECT COUNT(*) AS n FROM logs.vw_Ejecucion_Etapas "
                              "WHERE Estado IN ('OK', 'ERROR') AND Legado = FALSE")[0]["n"])


def _day(af, pgdata: Path, disturb: bool) -> dict:
    status, body = af.trigger("procesos_diarios", {"fecha": FECHA.isoformat()})
    if status != 200:
        raise SystemExit(f"could not trigger: {status} {body}")
    started = time.monotonic()
    down = None
    if disturb:
        before = _started_states()
        while _started_states() - before < AFTER and time.monotonic() - started < 600:
            time.sleep(0.5)
        down = time.monotonic() - started
        embedded.stop(pgdata)
        time.sleep(DOWN_S)
        embedded.start(pgdata, keep_running=True)
    state = af.wait_run("procesos_diarios", body["dag_run_id"], timeout=3600, interval=2)
    return {"run_id": body["dag_run_id"], "state": state, "seconds": time.monotonic() - started, "down_at_s": down}


def _check(calm: int, stormy: int) -> dict:
    from pipeline_helpers import fund_fingerprints

    with database(autocommit=True) as db:
        a = {r["id_fund"]: r["id_ejecucion"] for r in db.execute(
            "SELECT ID_Fund, ID_Ejecucion FROM logs.Ejecuciones WHERE ID_Proceso = %s", (calm,))}
        b = {r["id_fund"]: r["id_ejecucion"] for r in db.execute(
            "SELECT ID_Fund, ID_Ejecucion FROM logs.Ejecuciones WHERE ID_Proceso = %s", (stormy,))}
        same = sum(fund_fingerprints(db, b[f]) == fund_fingerprints(db, a[f]) for f in a)
        p = db.execute("SELECT Estado, FondosExitosos, FondosFallidos, TotalFondos FROM logs.vw_Procesos "
                       "WHERE ID_Proceso = %s", (stormy,))[0]
        ok_funds = db.execute("SELECT COUNT(*) AS n FROM logs.Ejecuciones WHERE ID_Proceso = %s AND Estado = 'OK'",
                              (stormy,))[0]["n"]
        retried = db.execute("SELECT COUNT(*) AS n FROM logs.vw_Ejecucion_Etapas WHERE ID_Proceso = %s AND Intentos > 1",
                             (stormy,))[0]["n"]
    return {"funds_equal_to_undisturbed": f"{same}/{len(a)}", "proceso": p["estado"],
            "figures_agree": p["fondosexitosos"] == ok_funds and p["totalfondos"] == len(b),
            "stages_tried_more_than_once": retried}


def layout(name: str, separate_metadata: bool) -> dict:
    pgdata = Path(tempfile.mkdtemp(prefix="fondos-restart-pg-"))
    meta_pgdata = Path(tempfile.mkdtemp(prefix="fondos-restart-meta-")) if separate_metadata else None
    try:
        server = embedded.start(pgdata, keep_running=True)
        os.environ["AIRFLOW_CONN_FONDOS_DB"] = json.dumps(server)
        os.environ["FONDOS_PGDATA"] = str(pgdata)
        metadata = "embedded"
        if meta_pgdata:
            meta = embedded.create_database("airflow", server=embedded.start(meta_pgdata, keep_running=True))
            metadata = embedded.sqlalchemy_url(meta)
        with database() as db:
            migrate(db)
            seed(db, FECHA, N, POS)
        home = Path(tempfile.mkdtemp(prefix="fondos-restart-airflow-"))
        from fondos.pipeline.proceso import proceso_de_clave

        with airflow_env.LocalAirflow(home, os.environ["AIRFLOW_CONN_FONDOS_DB"], metadata=metadata) as af:
            af.supervised = True
            af.ready("procesos_diarios")
            calm = _day(af, pgdata, disturb=False)
            stormy = _day(af, pgdata, disturb=True)
            restarts = list(af.restarts)
        result = {"layout": name, "calm": calm, "disturbed": stormy, "restarted": restarts}
        print(f"  {name}: {json.dumps(result)}", flush=True)
        # the DAG's run key is dag_id/run_id (fondos.airflow.dag_tasks.run_key)
        ids = [proceso_de_clave(f"procesos_diarios/{r['run_id']}") for r in (calm, stormy)]
        if None not in ids:
            result.update(_check(*ids))
        return result
    finally:
        embedded.stop(pgdata)
        if meta_pgdata:
            embedded.stop(meta_pgdata)


def main() -> int:
    print(f"{N} funds x {POS} positions; the fund database stopped for {DOWN_S:g} s after {AFTER} stage outcomes",
          flush=True)
    results = []
    for name, separate in (("metadata on the same server", False), ("metadata on a server of its own", True)):
        r = layout(name, separate)
        results.append(r)
        print(f"{name}: undisturbed {r['calm']['state']} in {r['calm']['seconds']:.0f} s; disturbed "
              f"{r['disturbed']['state']} in {r['disturbed']['seconds']:.0f} s (down at {r['disturbed']['down_at_s']:.0f} s); "
              f"components restarted {r['restarted'] or 'none'}; stages tried more than once "
              f"{r.get('stages_tried_more_than_once')}; funds equal to the undisturbed day "
              f"{r.get('funds_equal_to_undisturbed')}; proceso {r.get('proceso')}, figures agree {r.get('figures_agree')}",
              flush=True)
    ok = all(r["disturbed"]["state"] == "success" and r.get("figures_agree")
             and r.get("funds_equal_to_undisturbed") == f"{N}/{N}" for r in results)
    print(f"summary: restart_survived={ok} " + " ".join(
        f"{'same' if not r['layout'].endswith('own') else 'separate'}={r['disturbed']['state']}/"
        f"{r['disturbed']['seconds']:.0f}s/restarts={len(r['restarted'])}" for r in results))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
