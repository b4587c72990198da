"""Unit tests of the T-SQL batch splitter (pure logic)."""

from fondos.db.tsql import split_batches


def sqls(script):
    return [b.sql.strip() for b in split_batches(script)]


def test_splits_on_go_lines_any_case_and_keeps_start_lines():
    batches = split_batches("SELECT 1;\nGO\n\nselect 2;\ngo  \nSELECT 3;")
    assert [b.sql.strip() for b in batches] == ["SELECT 1;", "select 2;", "SELECT 3;"]
    assert [b.start_line for b in batches] == [1, 3, 6]


def test_goto_and_go_as_part_of_a_word_are_not_separators():
    script = "WHILE 1 = 1\nGOTO fin\nSELECT going\nfin:\nGO"
    assert sqls(script) == ["WHILE 1 = 1\nGOTO fin\nSELECT going\nfin:"]


def test_go_inside_string_literal_spanning_lines_is_data():
    script = "INSERT INTO t VALUES ('first\nGO\nit''s still the string');\nGO\nSELECT 2;"
    assert sqls(script) == ["INSERT INTO t VALUES ('first\nGO\nit''s still the string');", "SELECT 2;"]


def test_go_inside_nested_block_comment_is_comment():
    script = "/* outer /* inner\nGO\n*/ still comment\nGO\n*/\nSELECT 1;\nGO\nSELECT 2;"
    result = sqls(script)
    assert len(result) == 2
    assert result[0].endswith("SELECT 1;") and result[1] == "SELECT 2;"


def test_go_inside_bracketed_identifier_is_identifier():
    script = "CREATE TABLE [odd\nGO\nname] (a INT);\nGO"
    assert sqls(script) == ["CREATE TABLE [odd\nGO\nname] (a INT);"]


def test_line_comment_does_not_open_a_string():
    script = "SELECT 1; -- don't stop here\nGO\nSELECT 2;"
    assert sqls(script) == ["SELECT 1; -- don't stop here", "SELECT 2;"]


def test_go_with_count_repeats_batch_and_trailing_comment_allowed():
    assert sqls("INSERT INTO t DEFAULT VALUES;\nGO 3 -- three rows\n") == ["INSERT INTO t DEFAULT VALUES;"] * 3


def test_crlf_and_empty_batches():
    assert sqls("SELECT 1;\r\nGO\r\nGO\r\n\r\nSELECT 2;\r\n") == ["SELECT 1;", "SELECT 2;"]


def test_every_shipped_tsql_file_splits_into_batches_without_go():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = sorted(root.glob("migrations/mssql/*.sql")) + sorted(root.glob("sql/mssql/**/*.sql"))
    assert files
    for f in files:
        text = f.read_text()
        batches = split_batches(text)
        go_lines = sum(1 for line in text.split("\n") if line.strip().upper() == "GO")
        assert len(batches) == go_lines > 0, f  # every file is GO-terminated batches, none lost or merged
        for b in batches:
            assert b.sql.strip(), f
            assert not any(line.strip().upper() == "GO" for line in b.sql.split("\n")), f
