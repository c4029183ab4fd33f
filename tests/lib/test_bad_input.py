"""Bad input never crashes: every CSV reader accepts what spreadsheets save and refuses the rest
with the line, the column and the fix, storing nothing. Property tests feed random bytes and
random tables to every import (hypothesis; example counts in the settings below)."""

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.apps import apps
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from competencies.models import Statement
from delphi.consensus.rankings_csv import parse_rankings
from delphi.consensus.ratings_csv import parse_ratings
from delphi.consensus.stats import Scale
from delphi.models import AuditEvent, LinkFailure, Ranking, Rating, Response, Round
from lib.csvtable import decode_csv, read_table
from lib.spreadsheet import neutralise
from panels.models import Contact, Panelist
from tests import factories as f
from tests.delphi.panelist.conftest import open_round, sign_in

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


# --- more property tests: the rankings reader, pasted text, every form ---------------------


@FUZZ
@given(raw=FILES | csv_tables().map(lambda b: b.replace(b"rating", b"rank")))
def test_fuzz_rankings_reader(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fuzz") / "RANKINGS.csv"
    path.write_bytes(raw)
    frame, errors = parse_rankings(path)
    assert errors or len(frame)
    frame, errors = parse_rankings(raw.decode("utf-8", errors="replace").encode())
    assert errors or len(frame)


TEXTS = st.text(max_size=300) | FILES.map(lambda b: b.decode("utf-8", errors="replace"))


@pytest.mark.django_db
@FUZZ
@given(text=TEXTS)
def test_fuzz_pasted_statements(researcher_client, study, text):
    url = reverse("framework_import", kwargs={"study": study.uuid})
    before = _state()
    response = researcher_client.post(url, {"text": text})
    assert response.status_code < 500
    if response.status_code != 302:
        assert _state() == before


@pytest.mark.django_db
@FUZZ
@given(text=TEXTS)
def test_fuzz_ratings_import_text(researcher_client, study, draft_round, text):
    """The ratings import takes a file only (no paste field): random text as that file."""
    url = reverse("round_import", kwargs={"study": study.uuid, "round": draft_round.uuid})
    before = _state()
    response = researcher_client.post(url, {"file": _upload(text.encode(), "pasted.csv")})
    assert response.status_code < 500
    if response.status_code != 302:
        assert _state() == before


# Any value a form field might get: random text, and the awkward ones on purpose.
VALUES = st.text(max_size=40) | st.sampled_from(
    ["", "0", "1", "-1", "7", "99999999999999999999", "on", "yes", "no", "unable", "en", "es",
     "\x00", "x" * 5001, "1e309", "NaN", "00000000-0000-0000-0000-000000000000", "<b>"]
)  # fmt: skip
_NAME = re.compile(r'name="([^"]+)"')
# Columns that change on a visit or a refused post without storing anyone's input.
_VOLATILE = {"last_page", "chain_seq", "prev_hash", "hash", "seq"}


def _state():
    """Every row of the three apps (minus timestamps and link-failure records), to compare."""
    state = []
    for app in ("delphi", "panels", "competencies"):
        for model in apps.get_app_config(app).get_models():
            if model is LinkFailure:
                continue
            names = [
                f.attname
                for f in model._meta.concrete_fields
                if not f.name.endswith("_at") and f.name not in _VOLATILE
            ]
            state.append(list(model.objects.order_by("pk").values_list(*names)))
    return state


def _field_names(client, url) -> list[str]:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return sorted(set(_NAME.findall(page.content.decode())) - {"csrfmiddlewaretoken"})


def _fuzz_form(client, data, url, names, *, done=(302,)):
    """Post random values to every field the page's forms have: never a 500, and a refused
    post (anything but `done`) stores nothing."""
    payload = data.draw(st.fixed_dictionaries({name: VALUES for name in names}), label=url)
    before = _state()
    response = client.post(url, payload)
    assert response.status_code < 500, (url, payload)
    if response.status_code not in done:
        assert _state() == before, (url, response.status_code, payload)
    return response


# The multi-form tests post to five to seven pages per example: fewer examples, same coverage.
FORMS = settings(FUZZ, max_examples=25)


@pytest.fixture
def panelist_session(client, study, panelist):
    rnd = open_round(study, n_items=3, n_domains=1)
    sign_in(client, panelist)
    return client, rnd


def _reactivate(panelist):
    Panelist.objects.filter(pk=panelist.pk).update(
        status=Panelist.Status.ACTIVE, withdrawn_at=None, keep_answers=True
    )
    Response.objects.filter(panelist=panelist).update(excluded=False)


@pytest.mark.django_db
@FORMS
@given(data=st.data())
def test_fuzz_panelist_forms(panelist_session, panelist, data):
    """Consent, profile, suggestion, withdrawal and a questionnaire page, posted with random
    values by a signed-in panelist."""
    client, rnd = panelist_session
    _reactivate(panelist)
    urls = [
        "/p/profile/",
        f"/p/r/{rnd.uuid}/page/1/",
        f"/p/r/{rnd.uuid}/suggest/",
        "/p/withdraw/",
        "/p/consent/",
    ]
    for url in urls:
        names = _FIELDS.setdefault(url, _field_names(client, url))
        _fuzz_form(client, data, url, names)
        _reactivate(panelist)


_FIELDS: dict[str, list[str]] = {}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_fuzz_autosave(panelist_session, panelist, data):
    """The autosave endpoint: random JSON, JSON shaped like an answer, and random bytes."""
    client, rnd = panelist_session
    url = f"/p/r/{rnd.uuid}/autosave/"
    item = st.sampled_from([str(i.uuid) for i in rnd.items.all()]) | st.uuids().map(str)
    shaped = st.fixed_dictionaries(
        {"item": item},
        optional={"value": JSON | VALUES, "comment": JSON | VALUES, "change_reason": VALUES,
                  "seq": JSON | st.integers(min_value=-(2**70), max_value=2**70)},
    )  # fmt: skip
    body = data.draw(
        JSON.map(json.dumps).map(str.encode) | shaped.map(json.dumps).map(str.encode) | st.binary()
    )
    before = Rating.objects.count(), AuditEvent.objects.count()
    response = client.post(url, body, content_type="application/json")
    assert response.status_code < 500, body
    assert response["Content-Type"].startswith("application/json")
    if response.status_code >= 400:
        assert (Rating.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_fuzz_ranking_autosave(client, study, panelist, data):
    from tests.delphi.panelist.test_ranking import ranking_round

    rnd = Round.objects.filter(study=study, kind=Round.Kind.RANKING).first() or ranking_round(study)
    if "delphi_panelist" not in client.session:
        sign_in(client, panelist)
    uuids = [str(i.uuid) for i in rnd.items.all()]
    ranks = st.dictionaries(
        st.sampled_from(uuids) | st.text(max_size=10), JSON | st.integers(-5, 10), max_size=6
    )
    shaped = st.fixed_dictionaries({"seq": JSON | st.integers(-5, 2**40), "ranks": ranks | JSON})
    body = data.draw(shaped.map(json.dumps).map(str.encode) | st.binary())
    before = list(Ranking.objects.order_by("pk").values_list("item_id", "rank"))
    response = client.post(f"/p/r/{rnd.uuid}/ranking/autosave/", body, "application/json")
    assert response.status_code < 500, body
    if response.status_code >= 400:
        assert list(Ranking.objects.order_by("pk").values_list("item_id", "rank")) == before


@pytest.fixture
def researcher_rounds(study):
    """A draft round (edit, protocol), an open one (message, close) and a generation round's
    coding queue."""
    from django.utils import timezone

    draft = f.make_round(study, number=2, statements=[f.make_statement(study)])
    live = open_round(
        study, n_items=2, n_domains=1, closes_at=timezone.now() + dt.timedelta(days=3)
    )
    return draft, live


def _reopen(rnd):
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.OPEN, closed_at=None)


@pytest.mark.django_db
@FORMS
@given(data=st.data())
def test_fuzz_researcher_round_forms(researcher_client, study, researcher_rounds, data):
    """Round create and edit, the protocol, a custom message, the close confirmation, the
    coding queue and adding a member, with random values in every field."""
    draft, live = researcher_rounds
    s, d, o = study.uuid, draft.uuid, live.uuid
    urls = [
        reverse("round_create", kwargs={"study": s}),
        reverse("round_edit", kwargs={"study": s, "round": d}),
        reverse("study_protocol", kwargs={"study": s}),
        reverse("round_message", kwargs={"study": s, "round": o}),
        reverse("round_close", kwargs={"study": s, "round": o}),
        reverse("coding_queue", kwargs={"study": s}),
        reverse("study_members", kwargs={"study": s}),
    ]
    for url in urls:
        names = _FIELDS.setdefault(url, _field_names(researcher_client, url))
        _fuzz_form(researcher_client, data, url, names)
        _reopen(live)


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_fuzz_sign_in(client, researcher, data, settings):
    settings.AXES_ENABLED = False  # the lock-out is tested elsewhere; here: the form itself
    url = reverse("login")
    names = _FIELDS.setdefault(url, _field_names(client, url))
    response = _fuzz_form(client, data, url, names)
    assert response.status_code in (200, 302, 403, 429)


def test_digits_that_are_not_ascii_are_refused_not_crashed(researcher, study, panelist_session):
    """Found by the fuzz test: "²".isdigit() is true but int("²") raises."""
    from django.test import Client

    client, rnd = panelist_session
    researcher_client = Client()
    researcher_client.force_login(researcher)
    item = rnd.items.first()
    response = client.post(
        f"/p/r/{rnd.uuid}/autosave/",
        json.dumps({"item": str(item.uuid), "value": "²"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not Rating.objects.exists()
    draft = f.make_round(study, number=2)
    url = reverse("round_edit", kwargs={"study": study.uuid, "round": draft.uuid})
    response = researcher_client.post(url, {"remind_after_open": "²", "title": "R2"})
    assert response.status_code == 200
    assert "is not a number of days" in response.content.decode()
