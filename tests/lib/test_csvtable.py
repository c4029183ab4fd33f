from lib.csvtable import read_table


def test_rows_keep_their_line_numbers_and_blank_lines_are_skipped():
    table = read_table("Email,Group\na@example.org,law\n\nb@example.org,peer\n", ("email", "group"))
    assert table.ok
    assert [(r.line, r.values["email"]) for r in table.rows] == [
        (2, "a@example.org"),
        (4, "b@example.org"),
    ]


def test_semicolons_and_a_byte_order_mark_are_accepted():
    table = read_table("\ufeffemail;group\na@example.org;law\n", ("email", "group"))
    assert table.ok and table.rows[0].values == {"email": "a@example.org", "group": "law"}


def test_a_missing_column_names_the_expected_header_with_optional_columns():
    table = read_table("email\na@example.org\n", ("email", "group"), ("language",))
    assert not table.ok
    assert table.problems == [
        "Line 1: the header lacks the column(s) group. "
        "The first line must be: email,group (optionally language)"
    ]


def test_short_and_long_rows_are_reported_on_their_line():
    table = read_table('code,text\nA1\nA2,"x",extra\n', ("code", "text"))
    assert [r.line for r in table.bad_rows] == [2, 3]
    assert "missing comma" in table.bad_rows[0].problems[0]
    assert "double quotes" in table.bad_rows[1].problems[0]


def test_empty_file_and_header_only_file_are_refused():
    assert read_table("", ("a",)).problems == [
        "The file is empty. The first line must name the columns."
    ]
    assert read_table("a\n", ("a",)).problems == ["The file has a header but no rows to import."]
