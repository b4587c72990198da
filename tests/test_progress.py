"""The progress line of `make run` (pure logic; the end-to-end test follows a real run with it)."""

from __future__ import annotations

from fondos.pipeline.progress import Snapshot


def _ti(task: str, index: int, state: str | None) -> dict:
    return {"task_id": task, "map_index": index, "state": state}


def test_counts_funds_per_stage_by_airflow_state():
    tis = [_ti("crear_proceso", -1, "success"), _ti("cerrar_proceso", -1, None)]
    tis += [_ti("procesar_fondo.ipa", i, s) for i, s in enumerate(["success", "success", "failed", "running"])]
    tis += [_ti("procesar_fondo.capm", i, s) for i, s in enumerate(["success", "skipped", "upstream_failed", None])]
    tis += [_ti("procesar_fondo.pnl", i, None) for i in range(4)]
    line = Snapshot.from_task_instances(tis).line(12.4)
    assert line.startswith("[   12s] IPA 2/4 (1 failed) [1 running] | CAPM 2/4 (1 failed) |")
    assert "PNL 0/4" in line and line.endswith("cerrar_proceso waiting")


def test_before_the_funds_are_known_it_shows_crear_proceso():
    assert Snapshot.from_task_instances([_ti("crear_proceso", -1, "running")]).line(3) == \
        "[    3s] crear_proceso running"
    assert Snapshot.from_task_instances([]).line(0) == "[    0s] crear_proceso waiting"


def test_a_mapped_task_not_yet_expanded_is_not_counted_as_a_fund():
    """Before crear_proceso's list is known, Airflow lists each mapped task once, with map index -1."""
    tis = [_ti("crear_proceso", -1, "running"), _ti("procesar_fondo.ipa", -1, None), _ti("procesar_fondo.pnl", -1, None)]
    snap = Snapshot.from_task_instances(tis)
    assert snap.funds() == 0 and snap.line(1) == "[    1s] crear_proceso running"


def test_every_task_instance_is_counted_past_one_page():
    """The REST API answers at most a page of task instances (limit, offset, total_entries): a 1,100-fund day
    has 5,502, and the progress line showed 1,000 per stage until it read every page."""
    from fondos.pipeline.progress import task_instances

    everything = [_ti("procesar_fondo.ipa", i, "success") for i in range(1100)] + [_ti("crear_proceso", -1, "success")]

    class Api:  # the REST API's paging contract, over a list
        def api(self, method, path):
            query = dict(kv.split("=") for kv in path.split("?")[1].split("&"))
            start, limit = int(query["offset"]), int(query["limit"])
            return 200, {"task_instances": everything[start:start + limit], "total_entries": len(everything)}

    assert len(task_instances(Api(), "d", "r", page=500)) == 1101
    assert "IPA 1100/1100" in Snapshot.from_task_instances(task_instances(Api(), "d", "r", page=500)).line(1)
