"""The T-SQL model check (fondos_dev.tsql_check): each rule reports its error at the offending token's line,
a safe expression passes, and the repository itself passes (this is how `make test` runs it).

Failing examples are small T-SQL snippets in tmp_path, or copies of real files with one token changed; a
copy is compared with an unchanged copy of itself, so only what the change introduced is asserted.
"""

from __future__ import annotations

from pathlib import Path

from fondos_dev.tsql_check import capped, check, default_paths, derived, main
from fondos_dev.tsql_model import build_model, decimal, read_sql_file
from schema_parity import tsql_procedures, tsql_tables, tsql_views

ROOT = Path(__file__).resolve().parents[1]


def findings(path: Path) -> list[str]:
    return [str(f) for f in check([path])]


def snippet(tmp_path: Path, body: str) -> tuple[Path, list[str]]:
    path = tmp_path / "snippet.sql"
    path.write_text(body)
    return path, findings(path)


def introduced(tmp_path: Path, rel: str, old: str, new: str) -> tuple[Path, int, list[str]]:
    """Copy a repository file with `old` (found exactly once) replaced by `new`.

    Returns the copy, the line of the change and the findings the change introduced, as `path:line: message`.
    """
    text = (ROOT / rel).read_text()
    assert text.count(old) == 1, f"{old!r} should occur once in {rel}"
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    before, after = tmp_path / "before" / Path(rel).name, tmp_path / "after" / Path(rel).name
    before.write_text(text)
    after.write_text(text.replace(old, new))
    seen = {(f.line, f.message) for f in check([before])}
    line = text[: text.index(old)].count("\n") + 1
    return after, line, [str(f) for f in check([after]) if (f.line, f.message) not in seen]


# --- a. tables and views -------------------------------------------------------------------------------

def test_unknown_table_is_reported_at_its_line(tmp_path):
    path, out = snippet(tmp_path, (
        "CREATE OR ALTER PROCEDURE staging.sp_Prueba\n"
        "    @ID_Ejecucion BIGINT\n"
        "AS\n"
        "BEGIN\n"
        "    SELECT f.ValorBase\n"
        "    FROM staging.IPA_Finale AS f\n"
        "    WHERE f.ID_Ejecucion = @ID_Ejecucion;\n"
        "END;\n"
    ))
    assert out == [f"{path}:6: unknown table or view staging.IPA_Finale"]


def test_update_and_delete_targets(tmp_path):
    path, out = snippet(tmp_path, (
        "UPDATE t SET t.Estado = 'OK' FROM logs.Procesos AS t WHERE t.ID_Proceso = 1;\n"
        "DELETE d FROM logs.Procesos AS d WHERE d.ID_Proceso = 1;\n"
        "UPDATE Procesos SET Estado = 'OK';\n"
        "DELETE FROM logs.Proceso WHERE ID_Proceso = 1;\n"
    ))
    assert out == [
        f"{path}:3: unknown table Procesos (not a CTE or an alias; tables here are schema-qualified)",
        f"{path}:4: unknown table or view logs.Proceso",
    ]


def test_temp_tables_and_table_variables_must_be_created_in_the_file(tmp_path):
    path, out = snippet(tmp_path, (
        "DECLARE @Lista TABLE (ID_Fund INT NOT NULL);\n"
        "SELECT f.ID_Fund INTO #Fondos FROM config.Fondos AS f;\n"
        "SELECT l.ID_Fund FROM @Lista AS l INNER JOIN #Fondos AS f ON l.ID_Fund = f.ID_Fund;\n"
        "SELECT x.ID_Fund FROM #Otros AS x;\n"
        "SELECT y.ID_Fund FROM @Nada AS y;\n"
        "SELECT f.Nada FROM #Fondos AS f;\n"
    ))
    assert out == [
        f"{path}:4: unknown temp table #Otros (not created earlier in this file)",
        f"{path}:5: unknown table variable @Nada (not declared in this batch)",
        f"{path}:6: unknown column f.Nada (f is #Fondos)",
    ]


# --- b. columns ----------------------------------------------------------------------------------------

def test_unknown_qualified_column_in_a_real_procedure(tmp_path):
    path, line, out = introduced(tmp_path, "sql/mssql/staging/IPA_04_ConsolidarFinal_v2.sql",
                                 "w.ValorMercadoLocal AS ValorLocal", "w.ValorMercadoLocai AS ValorLocal")
    assert out == [f"{path}:{line}: unknown column w.ValorMercadoLocai (w is staging.IPA_WorkTable)"]


def test_unknown_column_of_a_derived_table_and_of_an_apply(tmp_path):
    path, out = snippet(tmp_path, (
        "SELECT\n"
        "    l.Linea,\n"
        "    v.Doble,\n"
        "    l.Lineas,\n"
        "    v.Triple\n"
        "FROM (SELECT w.ID_Instrumento AS Linea, w.Cantidad FROM staging.IPA_WorkTable AS w) AS l\n"
        "CROSS APPLY (VALUES (CAST(l.Cantidad AS DECIMAL(18, 4)) * 2)) AS v(Doble);\n"
    ))
    assert out == [
        f"{path}:4: unknown column l.Lineas (l is derived table l)",
        f"{path}:5: unknown column v.Triple (v is APPLY v)",
    ]


def test_view_columns_are_its_output_names(tmp_path):
    path, out = snippet(tmp_path, (
        "SELECT v.ID_Proceso, v.FondosEnProgreso, v.DuracionSegundos\n"
        "FROM logs.vw_Procesos AS v\n"
        "WHERE v.Duracion > 0;\n"
    ))
    assert out == [f"{path}:3: unknown column v.Duracion (v is logs.vw_Procesos)"]


def test_unknown_column_in_an_insert_column_list(tmp_path):
    path, line, out = introduced(tmp_path, "sql/mssql/staging/IPA_04_ConsolidarFinal_v2.sql",
                                 "ValorLocal, ValorBase, PesoPct)", "ValorLocal, ValorBase, Peso_Pct)")
    assert out == [f"{path}:{line}: unknown column Peso_Pct in INSERT INTO staging.IPA_Final"]


def test_unknown_column_in_update_set_and_unqualified(tmp_path):
    path, out = snippet(tmp_path, (
        "UPDATE logs.Ejecuciones\n"
        "SET\n"
        "    Legado = 1,\n"
        "    Legacy = 1\n"
        "WHERE ID_Proces IS NULL;\n"
    ))
    assert out == [
        f"{path}:4: unknown column Legacy in UPDATE logs.Ejecuciones SET",
        f"{path}:5: unknown column ID_Proces (not in logs.Ejecuciones)",
    ]


# --- c. procedures and parameters ----------------------------------------------------------------------

def test_unknown_procedure(tmp_path):
    path, line, out = introduced(tmp_path, "sql/mssql/staging/UBS_01_CargarCustodia_v2.sql",
                                 "EXEC logs.sp_Bloquear_Ejecucion", "EXEC logs.sp_Bloquear_Ejecuciones")
    assert out == [f"{path}:{line}: unknown procedure logs.sp_Bloquear_Ejecuciones"]


def test_unknown_parameter_and_the_one_left_out(tmp_path):
    path, line, out = introduced(tmp_path, "sql/mssql/staging/UBS_01_CargarCustodia_v2.sql",
                                 "@Etapa = 'UBS'", "@Stage = 'UBS'")
    assert out == [
        f"{path}:{line}: unknown parameter @Stage of logs.sp_Bloquear_Ejecucion (its parameters: @ID_Ejecucion, @Etapa)",
        f"{path}:{line}: EXEC logs.sp_Bloquear_Ejecucion does not pass @Etapa, which has no default",
    ]


def test_an_unqualified_procedure_of_ours_is_unknown(tmp_path):
    path, out = snippet(tmp_path, "EXEC sp_who;\nEXEC Validar_Ejecucion @ID_Ejecucion = 1;\n")
    assert out == [f"{path}:2: unknown procedure Validar_Ejecucion (procedures here are schema-qualified)"]


def test_system_procedures_and_defaults_pass(tmp_path):
    _, out = snippet(tmp_path, (
        "DECLARE @R INT;\n"
        "EXEC @R = sys.sp_getapplock @Resource = N'x', @LockMode = 'Exclusive', @LockOwner = 'Session';\n"
        "EXEC logs.sp_Actualizar_Estadisticas_Proceso @ID_Proceso = 1;\n"
    ))
    assert out == []


# --- d. DECIMAL result types ---------------------------------------------------------------------------

def test_the_documented_result_types():
    # "Precision, scale, and length (Transact-SQL)"; the (38,0) - (32,4) case rounds -4.2 to -4
    assert derived("*", decimal(19, 4), decimal(19, 6)) == (39, 10)
    assert capped("*", decimal(19, 4), decimal(19, 6)) == (38, 9)
    assert capped("*", decimal(38, 10), decimal(38, 10)) == (38, 6)
    assert capped("/", decimal(22, 4), decimal(19, 4)) == (38, 16)
    assert capped("/", decimal(19, 8), decimal(19, 8)) == (38, 19)
    assert capped("-", decimal(38, 0), decimal(32, 4)) == (38, 0)
    assert capped("+", decimal(38, 4), decimal(38, 4)) == (38, 4)
    assert capped("+", decimal(19, 4), decimal(19, 4)) == (20, 4)


def test_a_reduced_product_is_reported_and_a_cast_makes_it_safe(tmp_path):
    path, out = snippet(tmp_path, (
        "SELECT\n"
        "    ROUND(w.Cantidad\n"
        "        * w.PrecioLocal, 4) AS Cortado,\n"
        "    ROUND(CAST(w.Cantidad AS DECIMAL(18, 4)) * w.PrecioLocal, 4) AS Exacto\n"
        "FROM staging.IPA_WorkTable AS w;\n"
    ))
    assert out == [
        f"{path}:3: DECIMAL(19,4) * DECIMAL(19,6) needs (39,10): SQL Server cuts it to (38,9) and rounds; "
        "cast an operand (e.g. to DECIMAL(18,4))"
    ]


def test_a_reduced_product_in_a_real_procedure(tmp_path):
    path, line, out = introduced(tmp_path, "sql/mssql/staging/PNL_01_CalcularResultado_v2.sql",
                                 "CAST(w.Cantidad AS DECIMAL(18, 4))", "CAST(w.Cantidad AS DECIMAL(19, 4))")
    assert len(out) == 1 and "DECIMAL(19,4) * DECIMAL(19,6) needs (39,10): SQL Server cuts it to (38,9)" in out[0]
    assert out[0].startswith(f"{path}:{line + 1}: "), "the operator is on the line after the cast"


def test_stored_values_are_typed_from_variables_literals_and_functions(tmp_path):
    path, out = snippet(tmp_path, (
        "DECLARE @Total DECIMAL(19, 4);\n"
        "DECLARE @Tasa DECIMAL(19, 8);\n"
        "DECLARE @Peso DECIMAL(38, 10);\n"
        "SET @Peso = @Total * @Tasa;\n"
        "SET @Peso = CAST(@Total AS DECIMAL(18, 4)) * ROUND(ABS(@Tasa), 8);\n"
        "SELECT @Peso = ISNULL(SUM(w.ValorMercadoBase), 0) * @Tasa FROM staging.IPA_WorkTable AS w;\n"
        "UPDATE staging.PNL_Final SET RentabilidadPct = 100 * @Total * @Tasa;\n"
    ))
    assert out == [
        f"{path}:4: DECIMAL(19,4) * DECIMAL(19,8) needs (39,12): SQL Server cuts it to (38,11) and rounds; "
        "cast an operand (e.g. to DECIMAL(18,4))",
        f"{path}:6: DECIMAL(38,4) * DECIMAL(19,8) needs (58,12): SQL Server cuts it to (38,6) and rounds; "
        "cast an operand (e.g. to DECIMAL(18,4))",
        f"{path}:7: DECIMAL(23,4) * DECIMAL(19,8) needs (43,12): SQL Server cuts it to (38,7) and rounds; "
        "cast an operand (e.g. to DECIMAL(18,4))",
    ]


def test_a_quotient_reduced_below_16_decimals(tmp_path):
    path, out = snippet(tmp_path, (
        "SELECT\n"
        "    CAST(w.ValorMercadoBase AS DECIMAL(28, 4)) / w.ValorMercadoLocal AS Corto,\n"
        "    CAST(w.ValorMercadoBase AS DECIMAL(22, 4)) / w.ValorMercadoLocal AS Dieciseis\n"
        "FROM staging.IPA_WorkTable AS w;\n"
    ))
    assert out == [
        f"{path}:2: DECIMAL(28,4) / DECIMAL(19,4) needs (52,24): SQL Server cuts it to (38,10) and rounds to fewer "
        "than 16 decimals; cast the dividend (e.g. to DECIMAL(22,4))"
    ]


def test_unknown_types_are_skipped_not_guessed(tmp_path):
    _, out = snippet(tmp_path, (
        "SELECT s.Cantidad * s.Precio * s.Tasa * s.Otro AS X FROM sys.objects AS s;\n"
        "SELECT 1.5 * CAST(o.object_id AS FLOAT) FROM sys.objects AS o;\n"
    ))
    assert out == []


# --- statements, the command line and the repository ------------------------------------------------------

def test_a_statement_sqlglot_cannot_read_is_an_error_not_a_silent_skip(tmp_path):
    path, out = snippet(tmp_path, "SELECT f.ID_Fund FROM config.Fondos AS f WHERE f.ID_Fund = = 1;\n")
    assert len(out) == 1 and out[0].startswith(f"{path}:1: cannot check this statement: ")


def test_command_line_exit_status_and_format(tmp_path, capsys):
    bad = tmp_path / "bad.sql"
    bad.write_text("SELECT 1;\nSELECT x.Nada FROM config.Fondos AS x;\n")
    assert main([str(bad)]) == 1
    assert capsys.readouterr().out.splitlines() == [f"{bad}:2: unknown column x.Nada (x is config.Fondos)"]
    good = tmp_path / "good.sql"
    good.write_text("SELECT x.ID_Fund FROM config.Fondos AS x;\n")
    assert main([str(good)]) == 0


def test_the_model_reads_what_the_parity_reader_reads():
    files = sorted((ROOT / "migrations" / "mssql").glob("*.sql"))
    objects = sorted((ROOT / "sql" / "mssql").rglob("*.sql"))
    model = build_model([read_sql_file(f) for f in files + objects])
    assert {t: set(c) for t, c in model.tables.items()} == tsql_tables(files)
    assert {name: list(p.params) for name, p in model.procedures.items()} == tsql_procedures(objects + files)
    assert set(model.views) == tsql_views(objects)
    # types, including an ALTER TABLE ... ADD and an ALTER COLUMN
    assert str(model.tables["staging.ipa_final"]["pesopct"]) == "DECIMAL(9,6)"
    assert str(model.tables["logs.ejecuciones"]["id_proceso"]) == "BIGINT"
    assert str(model.procedures["logs.sp_actualizar_estado_etapa"].params["filas"].type) == "INT"
    assert model.procedures["logs.sp_actualizar_estado_etapa"].params["filas"].has_default


def test_the_repository_passes():
    out = check(default_paths())
    assert out == [], "\n".join(map(str, out))
