"""Bad input never crashes: every CSV reader accepts what spreadsheets save and refuses the rest
with the line, the column and the fix, storing nothing. Property tests feed random bytes and
random tables to every import (hypothesis; example counts in the settings below)."""

import csv
import io

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from competencies.models import Statement
from delphi.consensus.rankings_csv import parse_rankings
from delphi.consensus.ratings_csv import parse_ratings
from delphi.consensus.stats import Scale
from delphi.models import Rating
from lib.csvtable import decode_csv, read_table
from lib.spreadsheet import neutralise
from panels.models import Contact
from tests import factories as f
from tests.delphi.panelist.conftest import open_round

PANEL_HEADER = "email,name,group,organisation,language"
ROWS = [PANEL_HEADER, "ana@example.org,Ana Muñoz,law,Café € Org,es", "ben@example.org,Ben,law,,"]
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def encodings_and_line_endings():
    text = "\n".join(ROWS) + "\n"
    for ending in ("\n", "\r\n", "\r"):
        body = text.replace("\n", ending)
        yield f"utf-8 {ending!r}", body.encode("utf-8")
        yield f"utf-8-bom {ending!r}", b"\xef\xbb\xbf" + body.encode("utf-8")
        yield f"utf-16-le {ending!r}", body.encode("utf-16")  # with its BOM
        yield f"utf-16-be {ending!r}", b"\xfe\xff" + body.encode("utf-16-be")
        yield f"cp1252 {ending!r}", body.encode("cp1252")
        yield f"latin-1 {ending!r}", body.replace("€", "").encode("latin-1")


@pytest.mark.parametrize("label,raw", list(encodings_and_line_endings()))
def test_every_encoding_and_line_ending_reads_the_same(label, raw):
    text, _ = decode_csv(raw)
    table = read_table(text, ("email", "group"))
    assert table.ok, (label, table.problems, [r.problems for r in table.rows])
    assert [r.values["email"] for r in table.rows] == ["ana@example.org", "ben@example.org"]
    assert table.rows[0].values["name"] == "Ana Muñoz"


def test_nul_byte_names_line_and_column_and_the_fix():
    table = read_table(PANEL_HEADER + "\nana@example.org,An\x00a,law,,\n", ("email",))
    assert not table.ok
    assert table.problems[0].startswith("Line 2, column name: the file contains a NUL byte")
    assert "save it again" in table.problems[0]


def test_utf16_without_bom_is_named():
    with pytest.raises(ValueError, match="UTF-16"):
        decode_csv("\n".join(ROWS).encode("utf-16-le"))


def test_over_long_values_name_the_column_and_the_limit():
    table = read_table(
        PANEL_HEADER + "\n" + "a@example.org," + "x" * 201 + ",law,,\n",
        ("email",),
        max_lengths={"name": 200},
    )
    assert table.bad_rows[0].line == 2
    assert table.bad_rows[0].problems == [
        "the name is 201 characters long; at most 200 fit. Shorten it"
    ]


def test_export_neutralises_formulas_behind_blanks():
    for text in ("=1+1", " =1+1", "\n=cmd", "\t+1", "  @SUM(A1)", " -2", "\u00a0=x"):
        assert neutralise(text).startswith("'"), repr(text)
    for text in ("plain", "a=b", "1-2", ""):
        assert neutralise(text) == text


# --- the web imports: refused with a message, nothing stored -------------------------------


def panel_import(client, study, *, text=None, raw=None, name="panel.csv"):
    url = reverse("panel_import", kwargs={"study": study.uuid})
    if raw is not None:
        return client.post(url, {"file": io.BytesIO(raw) if False else _upload(raw, name)})
    return client.post(url, {"text": text})


def _upload(raw, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, raw, content_type="text/csv")


@pytest.mark.parametrize(
    "row,message",
    [
        ("a@example.org," + "n" * 201 + ",law,,", "Line 2: the name is 201 characters long"),
        ("a@example.org,Ana,law," + "o" * 250 + ",", "the organisation is 250 characters long"),
        ("a" * 64 + "@" + ("b" * 60 + ".") * 4 + "org,Ana,law,,", "at most 254 fit"),
        ("a@example.org,A\x00na,law,,", "Line 2, column name: the file contains a NUL byte"),
    ],
)
def test_panel_import_refuses_with_line_column_and_fix(study, researcher_client, row, message):
    response = panel_import(researcher_client, study, raw=(PANEL_HEADER + "\n" + row).encode())
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Contact.objects.filter(panel=study.panel).count() == 0


@pytest.mark.parametrize("label,raw", list(encodings_and_line_endings())[:6])
def test_panel_import_accepts_spreadsheet_files(study, researcher_client, label, raw):
    response = panel_import(researcher_client, study, raw=raw)
    assert response.status_code == 302, (label, response.content.decode()[-800:])
    names = set(Contact.objects.filter(panel=study.panel).values_list("name", flat=True))
    assert names == {"Ana Muñoz", "Ben"}


def test_mac_csv_statement_import_and_an_over_long_statement(study, researcher_client):
    f.make_domain(study, code="COM")
    url = reverse("framework_import", kwargs={"study": study.uuid})
    header = "code,domain,text,plain_text,provenance"
    good = f"{header}\rS1,COM,Listen first,Listen,literature\r".encode("cp1252")
    response = researcher_client.post(url, {"file": _upload(good, "mac.csv")})
    assert response.status_code == 302
    huge = f"{header}\nS2,COM,{'x' * 131_073},,literature\n"
    response = researcher_client.post(url, {"text": huge})
    assert response.status_code == 200
    assert "Line 2: the text is 131,073 characters long; at most 5,000 fit" in (
        response.content.decode()
    )
    assert list(
        Statement.objects.filter(framework__study=study).values_list("code", flat=True)
    ) == ["S1"]


def test_pasted_text_over_the_limit_gets_the_file_message(study, researcher_client):
    text = PANEL_HEADER + "\n" + ("a@example.org,Ana,law,,\n" * 100_000)  # 2.3 MB
    response = panel_import(researcher_client, study, text=text)
    assert response.status_code == 200
    assert "The pasted text is 2.3 MB; at most 2 MB can be imported at once" in (
        response.content.decode()
    )
    assert Contact.objects.filter(panel=study.panel).count() == 0


def test_far_too_much_gets_a_page_not_a_bare_400(study, researcher_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    response = panel_import(researcher_client, study, text="x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert "Too much at once" in response.content.decode()


RATINGS = "panelist,round,item,rating,group\np1,1,S1,7,Café\np2,1,S1,,Café\n"


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: t.encode("utf-8-sig"),
        lambda t: t.encode("utf-16"),
        lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
        lambda t: t.encode("cp1252"),
        lambda t: t.encode("latin-1"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be", "cp1252", "latin-1"],
)
def test_analyze_reader_takes_the_same_files(tmp_path, encode, ending):
    path = tmp_path / "RATINGS.csv"
    path.write_bytes(encode(RATINGS.replace("\n", ending)))
    frame, errors = parse_ratings(path, scale=Scale(1, 9))
    assert errors == []
    assert sorted(frame["group"].unique()) == ["Café"]
    assert frame["value"].notna().sum() == 1


def test_analyze_reader_refuses_nul_and_long_ids(tmp_path):
    path = tmp_path / "RATINGS.csv"
    path.write_bytes(b"panelist,round,item,rating\np\x001,1,S1,7\n")
    assert "NUL byte" in parse_ratings(path, scale=Scale(1, 9))[1][0]
    path.write_bytes(b"panelist,round,item,rating\n" + b"p" * 300 + b",1,S1,7\n")
    errors = parse_ratings(path, scale=Scale(1, 9))[1]
    assert errors[0].startswith("line 2, column panelist: 300 characters")


RANKINGS = "panelist,round,item,rank\np1,1,A,1\np1,1,B,2\n"


@pytest.mark.parametrize(
    "raw,start",
    [
        (b"panelist,round,item,rank\np\x001,1,A,1\n", "Line 2, column panelist: the file"),
        (b"panelist,round,item,rank\np1,1,A\x00,1\n", "Line 2, column item: the file"),
        (RANKINGS.encode("utf-16-le"), "The file looks like UTF-16 text without a byte-order"),
        (
            b"panelist,round,item,rank\n" + b"p" * 300 + b",1,A,1\n",
            "line 2, column panelist: 300 characters; an identifier has at most 200",
        ),
        (
            b"panelist,round,item,rank\np1,1," + b"i" * 201 + b",1\n",
            "line 2, column item: 201 characters; an identifier has at most 200",
        ),
    ],
    ids=["nul-panelist", "nul-item", "utf-16-no-bom", "long-panelist", "long-item"],
)
def test_ranking_reader_refuses_like_the_ratings_reader(tmp_path, raw, start):
    path = tmp_path / "RANKINGS.csv"
    path.write_bytes(raw)
    errors = parse_rankings(path)[1]
    assert errors and errors[0].startswith(start), errors
    # The ratings reader says the same thing about the same bytes.
    ratings = raw.replace(b",rank\n", b",rating\n", 1)
    assert parse_ratings(_write(tmp_path, ratings), scale=Scale(1, 9))[1][:1] == errors[:1]


def _write(tmp_path, raw):
    path = tmp_path / "RATINGS.csv"
    path.write_bytes(raw)
    return path


def test_ranking_reader_refuses_a_nul_in_a_text_stream():
    errors = parse_rankings(io.StringIO("panelist,round,item,rank\np1,1,A\x00,1\n"))[1]
    assert errors == ["line 2: contains a NUL byte; save the file again as CSV UTF-8."]


@pytest.mark.parametrize(
    "raw",
    [b"panelist,round,item,rank\np\x001,1,A,1\n", RANKINGS.encode("utf-16-le")],
    ids=["nul", "utf-16-no-bom"],
)
def test_analyze_ranking_refuses_without_a_traceback(tmp_path, raw):
    from django.core.management import CommandError, call_command

    path = tmp_path / "RANKINGS.csv"
    path.write_bytes(raw)
    with pytest.raises(CommandError, match="was refused; nothing was written"):
        call_command("analyze", str(path), "--kind", "ranking", "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("encode", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_ranking_reader_takes_what_spreadsheets_save(tmp_path, encode, ending):
    path = tmp_path / "RANKINGS.csv"
    path.write_bytes(RANKINGS.replace("\n", ending).encode(encode))
    frame, errors = parse_rankings(path)
    assert errors == []
    assert list(frame["rank"]) == [1.0, 2.0]


# --- property tests ----------------------------------------------------------------------


def csv_tables():
    cell = st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
        ["law", "a@example.org", "=1+1", "", '"', "\r", "\x00", "x" * 300]
    )
    header = st.lists(
        st.sampled_from(
            [
                "email",
                "name",
                "group",
                "organisation",
                "language",
                "code",
                "domain",
                "text",
                "plain_text",
                "provenance",
                "panelist",
                "round",
                "item",
                "rating",
                "junk",
            ]
        ),  # fmt: skip
        min_size=1,
        max_size=6,
    )

    def render(args):
        head, rows, delimiter, ending, encoding = args
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delimiter, lineterminator=ending)
        writer.writerow(head)
        for row in rows:
            writer.writerow(row[: len(head) + 1])
        return buf.getvalue().encode(encoding, errors="replace")

    return st.tuples(
        header,
        st.lists(st.lists(cell, max_size=7), max_size=8),
        st.sampled_from([",", ";", "\t"]),
        st.sampled_from(["\n", "\r\n", "\r"]),
        st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    ).map(render)


FILES = st.binary(max_size=400) | csv_tables()


def _never_500_and_nothing_stored_on_refusal(client, url, raw, field, count):
    before = count()
    response = client.post(url, {field: _upload(raw, "fuzz.csv")})
    assert response.status_code < 500
    if response.status_code != 302:
        assert count() == before


@pytest.mark.django_db
@FUZZ
@given(raw=FILES)
def test_fuzz_panel_import(researcher_client, study, raw):
    url = reverse("panel_import", kwargs={"study": study.uuid})
    _never_500_and_nothing_stored_on_refusal(
        researcher_client, url, raw, "file", lambda: Contact.objects.count()
    )
    pasted = raw.decode("utf-8", errors="replace")
    response = researcher_client.post(url, {"text": pasted})
    assert response.status_code < 500


@pytest.mark.django_db
@FUZZ
@given(raw=FILES)
def test_fuzz_statement_import(researcher_client, study, raw):
    url = reverse("framework_import", kwargs={"study": study.uuid})
    _never_500_and_nothing_stored_on_refusal(
        researcher_client, url, raw, "file", lambda: Statement.objects.count()
    )


@pytest.fixture
def draft_round(study):
    return open_round(study, n_items=3, n_domains=1)


@pytest.mark.django_db
@FUZZ
@given(raw=FILES)
def test_fuzz_ratings_import(researcher_client, study, draft_round, raw):
    url = reverse("round_import", kwargs={"study": study.uuid, "round": draft_round.uuid})
    _never_500_and_nothing_stored_on_refusal(
        researcher_client, url, raw, "file", lambda: Rating.objects.count()
    )


@FUZZ
@given(raw=FILES)
def test_fuzz_analyze_reader(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fuzz") / "RATINGS.csv"
    path.write_bytes(raw)
    frame, errors = parse_ratings(path, scale=Scale(1, 9))
    assert errors or len(frame)  # either refused with a message or read


@pytest.mark.django_db
@FUZZ
@given(text=st.text(max_size=300))
def test_fuzz_researcher_forms(researcher_client, study, text):
    """Random text into the study, group and panelist forms: a page, never a 500."""
    for name, data in (
        ("study_edit", {"title": text, "aims": text, "consent_text": text}),
        ("group_create", {"code": text[:50], "name": text}),
        ("panelist_create", {"email": text, "name": text, "organisation": text}),
    ):
        url = reverse(name, kwargs={"study": study.uuid})
        assert researcher_client.post(url, data).status_code < 500, name
