"""The T-SQL lifecycle and operator procedures, read as text: SQL Server cannot run here.

Lock order, re-checks under the lock and which statements sit inside which
transaction are what the PostgreSQL twins get from running as one function;
the T-SQL files must spell them out. docs/lifecycle-control-flow.md describes
the same sequences in prose.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "sql" / "mssql" / "logs"
STAGE_ORDER = ("IPA", "CAPM", "Derivados", "UBS", "PNL")
PROCESO_ROW_LOCK = "FROM logs.Procesos AS p WITH (UPDLOCK, HOLDLOCK, ROWLOCK)"


def code(path: Path) -> str:
    """The file without comments (they may name the statements they explain), same offsets."""
    return re.sub(r"--[^\n]*", lambda m: " " * len(m.group(0)), path.read_text())


def transactions(text: str) -> list[tuple[int, int]]:
    """(start, end) of each BEGIN TRANSACTION ... COMMIT TRANSACTION span."""
    begins = [m.start() for m in re.finditer(r"\bBEGIN TRANSACTION;", text)]
    commits = [m.start() for m in re.finditer(r"\bCOMMIT TRANSACTION;", text)]
    assert len(begins) == len(commits), "every BEGIN TRANSACTION has its COMMIT"
    return list(zip(begins, commits, strict=True))


def inside(spans: list[tuple[int, int]], position: int) -> bool:
    return any(b < position < c for b, c in spans)


def stage_lock_calls(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(1)) for m in
            re.finditer(r"EXEC logs\.sp_Bloquear_Ejecucion @ID_Ejecucion = @\w+, @Etapa = '(\w+)';", text)]


def assert_stage_locks_in_order(text: str) -> list[int]:
    calls = stage_lock_calls(text)
    assert calls and len(calls) % 5 == 0, calls
    for i in range(0, len(calls), 5):
        assert tuple(s for _, s in calls[i:i + 5]) == STAGE_ORDER
    return [p for p, _ in calls]


# --- sp_Eliminar_Proceso -----------------------------------------------------------------------

def test_eliminar_takes_the_stage_locks_then_the_proceso_row_then_rechecks_then_deletes_in_each_transaction():
    text = code(LOGS / "sp_Eliminar_Proceso.sql")
    spans = transactions(text)
    assert len(spans) == 1, "one transaction in the loop: per ejecución, then the last one"
    begin, commit = spans[0]
    locks = assert_stage_locks_in_order(text)
    row_lock = text.index(PROCESO_ROW_LOCK)
    recheck = text.index("t.Estado IN ('EN_PROGRESO', 'REINTENTANDO')")
    refusal = text.index("THROW 50048")
    borrar = [m.start() for m in re.finditer(r"EXEC logs\.sp_Borrar_Filas_Ejecucion", text)]
    delete_proceso = [m.start() for m in re.finditer(r"DELETE FROM logs\.Procesos\b", text)]
    assert len(delete_proceso) == 1 and len(borrar) == 2
    assert begin < min(locks) and max(locks) < row_lock < recheck < refusal < min(borrar)
    assert max(borrar) < delete_proceso[0] < commit
    # no stage state is read, and nothing is deleted, outside the transaction
    assert text.count("EN_PROGRESO', 'REINTENTANDO'") == 1
    assert all(inside(spans, p) for p in [*locks, row_lock, recheck, *borrar, *delete_proceso])
    # the transaction is the body of the loop over the ejecuciones, so each one commits on its own
    loop = text.rindex("WHILE 1 = 1", 0, begin)
    assert loop < begin and "BREAK;" in text[commit:]


def test_eliminar_keeps_its_error_numbers_template_and_legacy_refusal():
    text = code(LOGS / "sp_Eliminar_Proceso.sql")
    for needle in ("SET NOCOUNT ON;", "SET XACT_ABORT ON;", "BEGIN TRY", "BEGIN CATCH",
                   "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;", "THROW;", "THROW 50022", "THROW 50048",
                   "EXEC logs.sp_Rechazar_Legado", "CREATE OR ALTER PROCEDURE logs.sp_Eliminar_Proceso"):
        assert needle in text, needle
    assert text.index("EXEC logs.sp_Rechazar_Legado") < text.index("BEGIN TRY")
    assert "N'eliminar refused: proceso '" in text and "N'nothing was changed. '" in text


# --- the proceso row lock: inside a transaction, and the proceso re-checked under it --------------

ROW_LOCKERS = ("sp_Eliminar_Proceso", "sp_Revertir_Ejecucion", "sp_Actualizar_Estado_Etapa",
               "sp_Actualizar_Estadisticas_Proceso", "sp_Registrar_Metricas_Proceso", "sp_Reservar_Aviso")


@pytest.mark.parametrize("name", ROW_LOCKERS)
def test_the_proceso_row_lock_is_taken_in_a_transaction_and_its_absence_refused(name):
    text = code(LOGS / f"{name}.sql")
    spans = transactions(text)
    lock = text.index(PROCESO_ROW_LOCK)
    assert inside(spans, lock)
    after = text[lock:lock + 400]
    assert re.search(r"IF @Bloqueo IS NULL\s+BEGIN\s+SET @Msg = CONCAT\(N'unknown ID_\w+ ', @ID_\w+\);\s+THROW 500\d\d",
                     after), after
    # nothing is written before the lock in that transaction
    begin = max(b for b, _ in spans if b < lock)
    assert not re.search(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", text[begin:lock]), name


def test_revertir_takes_its_stage_locks_then_the_proceso_row_then_rechecks_then_writes():
    text = code(LOGS / "sp_Revertir_Ejecucion.sql")
    [(begin, commit)] = transactions(text)
    locks = assert_stage_locks_in_order(text)
    assert len(locks) == 5
    row_lock = text.index(PROCESO_ROW_LOCK)
    gone = text.index("THROW 50021", row_lock)
    recheck = text.index("t.Estado IN ('EN_PROGRESO', 'REINTENTANDO')")
    writes = [m.start() for m in re.finditer(r"\b(INSERT INTO|UPDATE|DELETE FROM)\b|EXEC logs\.sp_(Borrar|Recalcular)",
                                              text)]
    assert begin < min(locks) and max(locks) < row_lock < gone < recheck < min(writes) and max(writes) < commit


# --- exact comparisons: trailing spaces -------------------------------------------------------------

@pytest.mark.parametrize(("name", "parameter"), [
    ("sp_Registrar_Metricas_Proceso", "Momento"), ("sp_Registrar_Metricas_Proceso", "Motor"),
    ("sp_Reservar_Aviso", "Canal"), ("sp_Actualizar_Estado_Etapa", "Estado"),
])
def test_checked_words_refuse_trailing_spaces_as_postgresql_does(name, parameter):
    """T-SQL's = and IN ignore trailing spaces even under a BIN2 collation ('FIN ' = 'FIN'):
    the check must compare DATALENGTH too, as CAPM_01 does, or 'smtp ' is stored where PostgreSQL refuses it."""
    text = code(LOGS / f"{name}.sql")
    condition = text[text.index(f"@{parameter} IS NULL"):]
    condition = condition[:condition.index("BEGIN")]
    assert "COLLATE Latin1_General" in condition and "_BIN2" in condition, condition
    assert f"DATALENGTH(@{parameter}) <> DATALENGTH(RTRIM(@{parameter}))" in condition, condition


# --- the views: durations that cannot overflow --------------------------------------------------------

@pytest.mark.parametrize("name", ["vw_Procesos", "vw_Ejecucion_Etapas"])
def test_view_durations_use_datediff_big_rounded_as_postgresql(name):
    """DATEDIFF(SECOND, ...) is INT: one legacy row spanning more than 68 years raised error 535 on every
    read of the view. Milliseconds in BIGINT, rounded to seconds as PostgreSQL's numeric cast rounds."""
    text = code(LOGS / f"{name}.sql")
    assert not re.search(r"\bDATEDIFF\s*\(", text)
    uses = re.findall(r"CAST\(ROUND\(DATEDIFF_BIG\(MILLISECOND, (\w)\.FechaInicio, \1\.FechaFin\) / 1000\.0, 0\) AS BIGINT\)",
                      text)
    assert len(uses) == (2 if name == "vw_Procesos" else 1)
    twin = (ROOT / "sql" / "postgres" / "logs" / f"{name}.sql").read_text()
    assert len(re.findall(r"CAST\(EXTRACT\(EPOCH FROM \((\w)\.FechaFin - \1\.FechaInicio\)\) AS BIGINT\)", twin)) == len(uses)
