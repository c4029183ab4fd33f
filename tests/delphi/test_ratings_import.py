"""Importing RATINGS.csv into a round: the rows written, the same numbers as `analyze`,
idempotent re-import, every refusal writing nothing, and who may import."""

import csv
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from delphi.consensus.services import consensus_compute_now
from delphi.models import AuditEvent, ItemDecision, ItemResult, Rating, Response, Round
from delphi.services import ratings_import as ri
from delphi.services.rounds import round_close, round_open
from panels.models import Contact, Panelist
from tests import factories as f

GROUPS = ("law", "clinical", "dispatch")
CODES = ("A1", "A2", "A3", "A4")


@pytest.fixture
def rnd(study):
    domain = f.make_domain(study, code="CD")
    statements = [f.make_statement(study, domain=domain, code=c) for c in CODES]
    return f.make_round(study, statements=statements, title="Round 1")


def ratings_csv(*, n_per_group=4, seed=7, round_number=1, extra=""):
    """Four items that split the panel differently; some unable-to-rate cells."""
    rng = random.Random(seed)
    lines = ["panelist,round,item,rating,group"]
    centre = {"A1": 8, "A2": 2, "A3": 5, "A4": 7}
    for g in GROUPS:
        for k in range(n_per_group):
            pid = f"{g[:3].upper()}-{k:02d}"
            for code in CODES:
                if rng.random() < 0.08:
                    value = rng.choice(["", "NA", "unable"])
                else:
                    value = str(min(9, max(1, centre[code] + rng.randint(-2, 2))))
                lines.append(f"{pid},{round_number},{code},{value},{g}")
    return ("\n".join(lines) + "\n" + extra).encode()


def counts():
    return (
        Panelist.objects.count(),
        Response.objects.count(),
        Rating.objects.count(),
        list(Rating.objects.order_by("pk").values_list("value", "unable", "updated_at")),
    )


def upload(client, study, rnd, content: bytes, name="RATINGS.csv"):
    url = reverse("round_import", kwargs={"study": study.uuid, "round": rnd.uuid})
    return client.post(url, {"file": SimpleUploadedFile(name, content, "text/csv")})


def test_good_import_writes_panelists_responses_ratings(researcher_client, study, rnd):
    content = ratings_csv()
    response = upload(researcher_client, study, rnd, content)
    assert response.status_code == 302
    page = researcher_client.get(response["Location"])
    assert "RATINGS.csv was imported into round 1: 48 ratings read." in page.content.decode()
    assert "12 created, 0 already in the panel" in page.content.decode()
    # The summary is shown once, then the page is the plain form again.
    assert "was imported" not in researcher_client.get(response["Location"]).content.decode()

    imported = Panelist.objects.filter(panel=study.panel, public_id__startswith="X-")
    assert imported.count() == 12
    assert not Contact.objects.filter(panelist__in=imported).exists()
    assert not imported.filter(is_simulated=True).exists()
    law = imported.get(public_id=ri.external_public_id(study, "LAW-00"))
    assert law.group.code == "law"
    responses = Response.objects.filter(round=rnd)
    assert responses.count() == 12
    assert set(responses.values_list("status", flat=True)) == {Response.Status.SUBMITTED}
    assert not responses.filter(submitted_at__isnull=True).exists()
    n_unable = sum(
        1
        for row in csv.DictReader(content.decode().splitlines())
        if row["rating"] in ("", "NA", "unable")
    )
    assert Rating.objects.filter(response__round=rnd).count() == 48
    assert Rating.objects.filter(unable=True, value__isnull=True).count() == n_unable
    event = AuditEvent.objects.get(study=study, verb="ratings_import")
    assert event.detail["file"] == "RATINGS.csv"
    assert event.detail["ratings_written"] == 48
    assert event.detail["unable"] == n_unable
    assert event.detail["panelists_created"] == 12


def test_statistics_match_manage_py_analyze(study, rnd, researcher, tmp_path):
    content = ratings_csv(n_per_group=5, seed=11)
    path = tmp_path / "RATINGS.csv"
    path.write_bytes(content)
    ri.ratings_import(round=rnd, source=content, filename="RATINGS.csv", by=researcher)
    round_open(round=rnd, by=researcher)
    round_close(round=rnd, by=researcher, reason="No panel in this test: below quorum.")
    run = consensus_compute_now(round=rnd, by=researcher)
    assert run.status == "done", run.error
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.ANALYSED

    call_command("analyze", str(path), "--out", str(tmp_path / "out"))
    with open(tmp_path / "out" / "items.csv") as fh:
        expected = {(r["item"], r["group"]): r for r in csv.DictReader(fh)}
    with open(tmp_path / "out" / "decisions.csv") as fh:
        verdicts = {r["item"]: r["verdict"] for r in csv.DictReader(fh)}

    results = ItemResult.objects.filter(round=rnd).select_related("item__statement")
    seen = set()
    for result in results:
        if result.group_key == "balanced":
            continue
        row = expected[(result.item.statement.code, result.group_key)]
        seen.add((result.item.statement.code, result.group_key))
        assert result.n == int(row["n"])
        assert result.n_unable == int(row["n_unable"])
        for name in ("median", "q1", "q3", "pct_high", "pct_low", "mean"):
            assert getattr(result, name) == pytest.approx(float(row[name])), name
        assert result.verdict == row["verdict"]
    # Every item, overall and in each of the three groups, was compared.
    assert seen == {(c, g) for c in CODES for g in ("all", *GROUPS)}
    decisions = {
        d.item.statement.code: d.verdict
        for d in ItemDecision.objects.filter(round=rnd).select_related("item__statement")
    }
    assert decisions == verdicts
    assert len(set(verdicts.values())) > 1  # the data reach more than one verdict


def test_reimport_of_the_same_file_changes_nothing(researcher_client, study, rnd):
    content = ratings_csv()
    assert upload(researcher_client, study, rnd, content).status_code == 302
    before = counts()
    response = upload(researcher_client, study, rnd, content)
    assert response.status_code == 302
    assert counts() == before
    page = researcher_client.get(response["Location"]).content.decode()
    assert "0 created, 12 already in the panel" in page
    assert "0 (0 new, 0 changed); 48 already stored as in the file" in page


def test_corrected_file_updates_only_the_changed_rating(researcher, study, rnd):
    content = ratings_csv()
    ri.ratings_import(round=rnd, source=content, filename="a.csv", by=researcher)
    # Replace LAW-00's A1 rating, whatever it was, with 1.
    lines = [
        ("LAW-00,1,A1,1,law" if ln.startswith("LAW-00,1,A1,") else ln)
        for ln in content.decode().splitlines()
    ]
    fixed = ("\n".join(lines) + "\n").encode()
    summary = ri.ratings_import(round=rnd, source=fixed, filename="b.csv", by=researcher)
    # A1 centres on 8, so LAW-00's rating was 6-9 or unable: exactly one rating changes.
    assert (summary["ratings_written"], summary["ratings_changed"]) == (1, 1)
    assert summary["ratings_new"] == 0
    assert Rating.objects.count() == 48
    law = Panelist.objects.get(public_id=ri.external_public_id(study, "LAW-00"))
    assert Rating.objects.get(response__panelist=law, item__statement__code="A1").value == 1


def test_existing_panelist_is_matched_by_public_id(researcher, study, rnd):
    law = study.panel.groups.get(code="law")
    known = f.make_panelist(study, group=law)
    draft = Response.objects.create(round=rnd, panelist=known)
    online = f.rate(
        f.make_panelist(study, group=law), rnd, {rnd.items.get(statement__code="A1"): 2}
    )
    content = f"panelist,round,item,rating,group\n{known.public_id},1,A1,9,law\n".encode()
    # The draft was started online: the import names it and writes nothing unless told to.
    with pytest.raises(ri.OnlineAnswersWouldChange) as refused_online:
        ri.ratings_import(round=rnd, source=content, filename="r.csv", by=researcher)
    assert refused_online.value.affected == [
        {"public_id": known.public_id, "new": 1, "changed": 0, "submitted": True}
    ]
    draft.refresh_from_db()
    assert draft.status == Response.Status.DRAFT and not draft.ratings.exists()
    summary = ri.ratings_import(
        round=rnd, source=content, filename="r.csv", by=researcher, overwrite_online=True
    )
    assert summary["online_overwritten"] == [known.public_id]
    assert summary["panelists_matched"] == 1 and summary["panelists_created"] == 0
    assert summary["responses_submitted"] == 1 and summary["responses_created"] == 0
    # A panelist who answered online and is not in the file is left as they were.
    assert online.ratings.get().value == 2
    draft.refresh_from_db()
    assert draft.status == Response.Status.SUBMITTED
    assert draft.ratings.get().value == 9


def test_without_group_column_new_panelists_have_no_group(researcher, study, rnd):
    content = b"panelist,round,item,rating\nr1,1,A1,7\nr1,1,A2,unable\nr2,1,A1,3\n"
    summary = ri.ratings_import(round=rnd, source=content, filename="r.csv", by=researcher)
    assert summary["panelists_created"] == 2
    assert not Panelist.objects.filter(group__isnull=False, public_id__startswith="X-").exists()


def refused(client, study, rnd, content, name="RATINGS.csv"):
    before = counts()
    events = AuditEvent.objects.count()
    response = upload(client, study, rnd, content, name=name)
    assert response.status_code == 200
    assert counts() == before, "a refused file wrote something"
    assert AuditEvent.objects.count() == events
    problems = response.context["problems"]
    assert problems, "no problem listed"
    html = response.content.decode()
    assert f"{name} was refused; nothing was imported." in html
    return problems, html


def test_rows_for_another_round_are_refused_with_their_lines(researcher_client, study, rnd):
    content = ratings_csv() + b"LAW-00,2,A1,5,law\nLAW-01,2,A2,5,law\n"
    problems, html = refused(researcher_client, study, rnd, content, name="round2.csv")
    assert [(p.line, p.column) for p in problems] == [("50, 51", "round")]
    assert "2 row(s) for round 2, but this is round 1" in problems[0].problem
    assert '<th scope="col">Line</th>' in html


def test_unknown_items_groups_and_scale_are_refused(researcher_client, study, rnd):
    content = (
        b"panelist,round,item,rating,group\n"
        b"a,1,A1,5,law\n"
        b"a,1,Z9,5,law\n"
        b"b,1,A1,5,firefighters\n"
        b"c,1,A2,12,law\n"
    )
    problems, _ = refused(researcher_client, study, rnd, content)
    found = {(p.line, p.column) for p in problems}
    # The parser stops at the scale error on line 5; the study checks run only on a clean
    # parse, so this file reports the scale first.
    assert found == {("5", "rating")}
    content = content.replace(b"c,1,A2,12,law\n", b"")
    problems, _ = refused(researcher_client, study, rnd, content)
    by_column = {p.column: p for p in problems}
    assert by_column["item"].line == "3"
    assert "'Z9' is not an item of round 1" in by_column["item"].problem
    assert "A1, A2, A3, A4" in by_column["item"].problem
    assert by_column["group"].line == "4"
    assert "'firefighters' is not a stakeholder group" in by_column["group"].problem


def test_item_codes_match_regardless_of_case_but_not_twice(researcher_client, study, rnd):
    problems, _ = refused(
        researcher_client, study, rnd, b"panelist,round,item,rating\na,1,a1,5\na,1,A1,6\n"
    )
    assert [(p.line, p.column) for p in problems] == [("2, 3", "item")]
    assert "rated the same item twice (written 'a1' and 'A1')" in problems[0].problem
    response = upload(researcher_client, study, rnd, b"panelist,round,item,rating\na,1,a1,5\n")
    assert response.status_code == 302
    assert Rating.objects.get().item.statement.code == "A1"


def test_scale_comes_from_the_study(researcher_client, study, rnd):
    study.scale_max = 5
    study.bands = [[1, 2], [3, 3], [4, 5]]
    study.save()
    problems, _ = refused(researcher_client, study, rnd, b"panelist,round,item,rating\na,1,A1,7\n")
    assert problems[0].line == "2" and problems[0].column == "rating"
    assert "outside the scale" in problems[0].problem


def test_panelist_in_another_group_is_refused(researcher_client, study, rnd, researcher):
    ri.ratings_import(
        round=rnd,
        source=b"panelist,round,item,rating,group\nx7,1,A1,5,law\n",
        filename="a.csv",
        by=researcher,
    )
    problems, _ = refused(
        researcher_client,
        study,
        rnd,
        b"panelist,round,item,rating,group\nx7,1,A2,5,Clinical\n",
    )
    assert [(p.line, p.column) for p in problems] == [("2", "group")]
    assert "who is in group law (Law) in the panel, not 'Clinical'" in problems[0].problem


def test_withdrawn_panelist_is_refused(researcher_client, study, rnd):
    from django.utils import timezone

    gone = f.make_panelist(study, status="withdrawn", withdrawn_at=timezone.now())
    problems, _ = refused(
        researcher_client,
        study,
        rnd,
        f"panelist,round,item,rating\n{gone.public_id},1,A1,5\n".encode(),
    )
    assert "has withdrawn" in problems[0].problem


@pytest.mark.parametrize(
    "content, column, words",
    [
        (b"panelist,item,rating\na,A1,5\n", "", "lacks the column(s) round"),
        (b"panelist,round,item,rating\na,1,A1,high\n", "rating", "is not a number"),
        (b"panelist,round,item,rating\na,1,A1,5\na,1,A1,6\n", "", "twice"),
        (b"panelist,round,item,rating\n", "", "no ratings"),
        (b"\xff\xfe\x00\x00", "", ""),
    ],
)
def test_malformed_files_are_refused(researcher_client, study, rnd, content, column, words):
    problems, _ = refused(researcher_client, study, rnd, content)
    assert problems[0].column == column
    assert words in problems[0].problem


def test_oversized_upload_is_refused_with_its_name(researcher_client, study, rnd, monkeypatch):
    from delphi.views import imports

    monkeypatch.setattr(imports, "MAX_BYTES", 100)
    before = counts()
    response = upload(researcher_client, study, rnd, ratings_csv(), name="big-export.csv")
    assert response.status_code == 200
    assert counts() == before
    assert "big-export.csv is" in response.content.decode()
    assert "Split it" in response.content.decode()


def test_size_message_is_actionable():
    text = ri.size_message("export.csv", 23 * 1024 * 1024)
    assert text.startswith("export.csv is 23.0 MB; the limit is 20 MB.")


def test_closed_round_is_refused(researcher_client, study, rnd, researcher):
    round_open(round=rnd, by=researcher)
    round_close(round=rnd, by=researcher, reason="No panel in this test: below quorum.")
    before = counts()
    response = upload(researcher_client, study, rnd, ratings_csv())
    assert response.status_code == 409
    assert "its ratings are final" in response.content.decode()
    assert counts() == before
    page = researcher_client.get(
        reverse("round_import", kwargs={"study": study.uuid, "round": rnd.uuid})
    )
    assert "its ratings are final" in page.content.decode()
    assert 'type="file"' not in page.content.decode()
    with pytest.raises(ri.RatingsImportRefused):
        ri.ratings_import(round=rnd, source=ratings_csv(), filename="r.csv", by=researcher)


def test_generation_round_is_refused(researcher, study):
    gen = f.make_round(study, kind=Round.Kind.GENERATION)
    with pytest.raises(ri.RatingsImportRefused) as exc:
        ri.ratings_import(round=gen, source=ratings_csv(), filename="r.csv", by=researcher)
    assert "only be imported into a rating round" in exc.value.problems[0].problem


def test_open_round_import_offers_to_close(researcher_client, study, rnd, researcher):
    round_open(round=rnd, by=researcher)
    response = upload(researcher_client, study, rnd, ratings_csv())
    page = researcher_client.get(response["Location"]).content.decode()
    assert "Close the round and compute results" in page
    assert reverse("round_close", kwargs={"study": study.uuid, "round": rnd.uuid}) in page


def test_round_page_links_to_import_for_researchers_only(client, researcher, analyst, study, rnd):
    url = reverse("round_detail", kwargs={"study": study.uuid, "round": rnd.uuid})
    target = reverse("round_import", kwargs={"study": study.uuid, "round": rnd.uuid})
    client.force_login(researcher)
    assert target in client.get(url).content.decode()
    client.force_login(analyst)
    assert target not in client.get(url).content.decode()


def test_analyst_gets_403_and_outsider_404(client, analyst, outsider, study, rnd):
    url = reverse("round_import", kwargs={"study": study.uuid, "round": rnd.uuid})
    client.force_login(analyst)
    assert client.get(url).status_code == 403
    assert upload(client, study, rnd, ratings_csv()).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert upload(client, study, rnd, ratings_csv()).status_code == 404
    assert Rating.objects.count() == 0


def test_derived_public_id_is_stable_and_fits():
    study = type("S", (), {"uuid": "00000000-0000-0000-0000-000000000001"})()
    a = ri.external_public_id(study, "R-001")
    assert a == ri.external_public_id(study, "R-001")
    assert a != ri.external_public_id(study, "R-002")
    assert len(a) <= Panelist._meta.get_field("public_id").max_length
