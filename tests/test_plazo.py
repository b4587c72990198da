"""The day's deadline (issue 21): when it falls, what the DAG carries, and that the sign-off tasks appear only
with approvers configured. Pure logic and the parsed DAG; the deadline firing for real is in
tests/test_firma_e2e.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from conftest import fresh_dag
from fondos.airflow.plazo import PlazoFirma, hora_plazo, plazo

SANTIAGO = "America/Santiago"
H0730 = time(7, 30)


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_deadline_is_0730_santiago_on_the_report_dates_next_business_day():
    # Friday 13 March 2026 -> Monday 16 March, 07:30 in Santiago (UTC-3 in March) = 10:30 UTC
    assert plazo(date(2026, 3, 13), _utc(2026, 3, 16, 9, 0), H0730, SANTIAGO, "CL") == _utc(2026, 3, 16, 10, 30)
    # Thursday 17 September 2026 -> Monday 21: the 18th and 19th are Chile's national holidays
    assert plazo(date(2026, 9, 17), _utc(2026, 9, 18, 9, 0), H0730, SANTIAGO, "CL") == _utc(2026, 9, 21, 10, 30)
    # Chile in winter (UTC-4): 07:30 is 11:30 UTC
    assert plazo(date(2026, 6, 4), _utc(2026, 6, 5, 9, 0), H0730, SANTIAGO, "CL") == _utc(2026, 6, 5, 11, 30)


def test_a_run_created_after_its_deadline_is_late_at_once_for_the_latest_date_and_never_for_history():
    late_start = _utc(2026, 3, 16, 12, 0)  # the scheduler came back at 09:00 Santiago on Monday
    assert plazo(date(2026, 3, 13), late_start, H0730, SANTIAGO, "CL") == late_start  # Friday's day: late now
    assert plazo(date(2026, 3, 6), late_start, H0730, SANTIAGO, "CL") is None  # a re-run of an old date


@pytest.mark.parametrize("texto, esperado", [("07:30", time(7, 30)), ("18:05", time(18, 5)), ("none", None),
                                             ("", None), (" NONE ", None)])
def test_fondos_plazo_is_hh_mm_or_none(texto, esperado):
    assert hora_plazo(texto) == esperado


@pytest.mark.parametrize("texto", ["7.30", "25:00", "half past seven"])
def test_a_malformed_fondos_plazo_says_how_to_write_it(texto):
    with pytest.raises(ValueError, match="write the deadline as HH:MM"):
        hora_plazo(texto)


def test_the_dag_carries_the_deadline_unless_fondos_plazo_is_none(monkeypatch):
    monkeypatch.setenv("FONDOS_PLAZO", "07:30")
    monkeypatch.delenv("FONDOS_PLAZO_SEGUNDOS", raising=False)
    (alert,) = fresh_dag().deadline
    assert isinstance(alert.reference, PlazoFirma)
    assert alert.callback.path == "fondos.airflow.plazo.avisar_plazo"
    monkeypatch.setenv("FONDOS_PLAZO", "none")
    assert not fresh_dag().deadline


def test_the_sign_off_tasks_appear_with_approvers_after_cerrar_proceso(monkeypatch):
    import importlib

    import fondos.airflow.firma_tasks
    import fondos.settings

    monkeypatch.delenv("FONDOS_APROBADORES", raising=False)
    importlib.reload(fondos.settings)
    importlib.reload(fondos.airflow.firma_tasks)
    assert not {"firmar_dia", "publicar_dia"} & {t.task_id for t in fresh_dag().tasks}
    monkeypatch.setenv("FONDOS_APROBADORES", "ana, beto")

    importlib.reload(fondos.settings)
    importlib.reload(fondos.airflow.firma_tasks)
    try:
        dag = fresh_dag()
        firmar, publicar = dag.get_task("firmar_dia"), dag.get_task("publicar_dia")
        assert firmar.upstream_task_ids == {"cerrar_proceso"} and publicar.upstream_task_ids == {"firmar_dia"}
        assert (firmar.trigger_rule, publicar.trigger_rule) == ("all_done", "all_done")
        assert firmar.options == ["Approve", "Reject"] and "comentario" in firmar.params
        assert fondos.settings.APROBADORES == ["ana", "beto"]
    finally:
        monkeypatch.delenv("FONDOS_APROBADORES")
        importlib.reload(fondos.settings)
        importlib.reload(fondos.airflow.firma_tasks)


def test_a_reject_is_returned_to_publicar_dia_not_skipped_past_it():
    """ApprovalOperator's own execute_complete skips the downstream tasks on a Reject, so the rejection would never
    be recorded; FirmaDia returns the answer (no task instance needed: nothing is skipped)."""
    from fondos.airflow.firma_tasks import decision, firmar_dia

    op = firmar_dia()
    event = {"chosen_options": ["Reject"], "params_input": {"comentario": "prices not final"},
             "responded_at": datetime(2026, 3, 16, 7, 0, tzinfo=UTC), "responded_by_user": {"id": "beto", "name": "beto"}}
    answer = op.execute_complete(context={}, event=event)
    assert decision(answer) == ("RECHAZADO", "beto", "prices not final")
    approve = dict(event, chosen_options=["Approve"], params_input={"comentario": None})
    assert decision(op.execute_complete(context={}, event=approve)) == ("APROBADO", "beto", None)
