"""The study archive: ``study_export`` writes a whole study as CSV/JSON in a ZIP with a SHA-256
manifest; ``study_import`` loads it as a new study in one transaction, refusing a damaged or
tampered archive with nothing stored; the re-run consensus gives the same fingerprints and
results (docs/archive.md)."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from delphi.archive import tables
from delphi.archive.export import study_archive_export
from delphi.archive.load import ArchiveError, study_archive_import
from delphi.consensus.selectors import rounds_item_keys
from delphi.consensus.services import consensus_compute_now
from delphi.demo.services import demo_delete
from delphi.models import (
    AuditEvent,
    ConsensusRun,
    GroupConcordance,
    ItemDecision,
    ItemResult,
    RankingConcordance,
    RankingItemResult,
    Rating,
    Round,
    Study,
)
from delphi.services.audit import audit_record, audit_verify
from panels.models import Contact, Panelist
from tests import factories as f

RESULT_MODELS = (ItemResult, ItemDecision, GroupConcordance, RankingItemResult, RankingConcordance)
NOT_CONTENT = {"id", "round", "item", "group"}


def _results(study) -> dict:
    """Every stored result of the study, keyed by round number, item key and group: no ids."""
    keys = {}
    for by_round in rounds_item_keys(rounds=list(study.rounds.all())).values():
        keys.update(by_round)
    out = {}
    for model in RESULT_MODELS:
        names = [fl.attname for fl in model._meta.concrete_fields if fl.name not in NOT_CONTENT]
        has_item = any(fl.name == "item" for fl in model._meta.concrete_fields)
        extra = ["item_id"] if has_item else []
        for row in model.objects.filter(round__study=study).values("round__number", *extra, *names):
            item = keys[row.pop("item_id")] if has_item else ""
            out[(model.__name__, row.pop("round__number"), item, row.get("group_key", ""))] = row
    return out


def _answers(study) -> set:
    return set(
        Rating.objects.filter(response__round__study=study).values_list(
            "response__round__number",
            "response__panelist__uuid",
            "item__statement__code",
            "value",
            "unable",
            "comment",
            "seq",
            "updated_at",
        )
    )


def _fingerprints(study) -> dict:
    return {
        run.round.number: run.fingerprint
        for run in ConsensusRun.objects.filter(
            round__study=study, status=ConsensusRun.Status.DONE
        ).select_related("round")
    }


def _zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(files: dict[str, bytes], *, rehash=()) -> bytes:
    """Write the files back as a ZIP; ``rehash``: files whose manifest hash is recomputed (a
    tamperer who also edits the manifest)."""
    manifest = json.loads(files["manifest.json"])
    for entry in manifest["files"]:
        if entry["name"] in rehash:
            entry["sha256"] = hashlib.sha256(files[entry["name"]]).hexdigest()
    files = dict(files, **{"manifest.json": json.dumps(manifest).encode()})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _edit_csv(content: bytes, column: str, value: str, *, row: int = 0) -> bytes:
    rows = list(csv.DictReader(io.StringIO(content.decode(), newline="")))
    rows[row][column] = value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _counts() -> tuple:
    return (
        Study.objects.count(),
        Panelist.objects.count(),
        Rating.objects.count(),
        AuditEvent.objects.count(),
    )


# --- the demo study, there and back ----------------------------------------------------------


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)
    return Study.objects.get(is_demo=True)


def test_the_demo_study_round_trips_with_the_same_fingerprints_and_results(demo):
    results, answers, prints = _results(demo), _answers(demo), _fingerprints(demo)
    n_audit = AuditEvent.objects.filter(study=demo).count()
    assert results and answers and len(prints) == 2  # round 1 (rating) and the ranking round
    data = study_archive_export(study=demo)

    # Into the same database first: every UUID and public id clashes, and the import says so.
    twin = study_archive_import(data=data)
    assert twin.study.uuid != demo.uuid
    assert any(f"already has a study with UUID {demo.uuid}" in n for n in twin.notes)
    assert any("public id(s) already in use" in n for n in twin.notes)
    assert _results(twin.study) == results

    # Then as a move: the study deleted here, the archive imported, nothing renamed.
    demo_delete(study=demo)
    result = study_archive_import(data=data)
    study = result.study
    # (The demo's queued runs never ran here: on_commit does not fire inside a test.)
    assert not [n for n in result.notes if "UUID" in n or "public id" in n]
    assert study.uuid == demo.uuid and study.pk != demo.pk
    assert _results(study) == results and _answers(study) == answers
    assert _fingerprints(study) == prints
    # The archived chain verifies as it was, and the import is its next row.
    chain = audit_verify(study=study)
    assert chain.intact and chain.rows == n_audit + 1
    out = io.StringIO()
    call_command("audit_verify", str(study.uuid), stdout=out)
    assert f"{n_audit + 1} rows, chain intact" in out.getvalue()
    assert AuditEvent.objects.filter(study=study, verb="study_import", source="import").exists()

    # Re-running the consensus from scratch on the imported rows: same fingerprints, same numbers.
    analysed = study.rounds.filter(status=Round.Status.ANALYSED).order_by("number")
    for rnd in analysed:
        ConsensusRun.objects.filter(round=rnd).delete()  # no earlier run to call it unchanged
        run = consensus_compute_now(round=rnd)
        assert run.status == ConsensusRun.Status.DONE, run.error
        assert run.fingerprint == prints[rnd.number]
        assert not run.stage.startswith("Done: ratings unchanged")
    assert _results(study) == results


# --- a small study for the refusals ----------------------------------------------------------


@pytest.fixture
def small(study, researcher):
    statements = [f.make_statement(study) for _ in range(3)]
    f.make_statement(study, revision_of=statements[0])
    now = timezone.now()
    rnd = f.make_round(
        study,
        statements=statements,
        status="closed",
        opened_at=now - timedelta(days=2),
        closed_at=now - timedelta(days=1),
    )
    panelists = [f.make_panelist(study, email=f"expert{i}@example.org") for i in range(4)]
    items = list(rnd.items.all())
    for i, p in enumerate(panelists):
        f.rate(p, rnd, {item: 5 + i for item in items})
    audit_record(study=study, actor=researcher, verb="study_update", obj=study, new={"x": 1})
    return study


def test_contact_details_are_left_out_unless_asked_for(small):
    files = _zip_files(study_archive_export(study=small))
    assert "contacts.csv" not in files
    assert not any(b"@example.org" in content for content in files.values())
    assert json.loads(files["manifest.json"])["with_contacts"] is False

    data = study_archive_export(study=small, with_contacts=True)
    assert b"expert0@example.org" in _zip_files(data)["contacts.csv"]
    emails = set(Contact.objects.filter(panel=small.panel).values_list("email", flat=True))
    Study.objects.filter(pk=small.pk).update(uuid="00000000-0000-4000-8000-000000000001")
    imported = study_archive_import(data=data).study
    assert set(Contact.objects.filter(panel=imported.panel).values_list("email", flat=True)) == (
        emails
    )


def test_the_archived_columns_are_those_of_format_version_1(db):
    # A model change that alters an archived file must bump FORMAT_VERSION (docs/archive.md)
    # and keep version 1 readable; then pin the new layout here.
    digest = tables.layout_digest()
    assert digest == tables.LAYOUT_V1, (
        f"The archived columns changed (layout {digest}). Until format 1 is released, set "
        "LAYOUT_V1 to it and update docs/archive.md; after that, bump FORMAT_VERSION instead."
    )


def test_the_manifest_lists_every_file_with_its_sha256(small):
    files = _zip_files(study_archive_export(study=small))
    manifest = json.loads(files["manifest.json"])
    assert manifest["format"] == "delphi-study-archive" and manifest["format_version"] == 1
    assert manifest["software_version"].startswith("delphi-platform")
    listed = {e["name"]: e for e in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json"}
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest()
    assert listed["ratings.csv"]["rows"] == 12


def test_a_tampered_csv_is_refused_and_nothing_is_stored(small):
    files = _zip_files(study_archive_export(study=small))
    Study.objects.filter(pk=small.pk).update(uuid="00000000-0000-4000-8000-000000000002")
    before = _counts()
    files["ratings.csv"] = _edit_csv(files["ratings.csv"], "value", "9")
    with pytest.raises(ArchiveError, match=r"ratings\.csv does not match its SHA-256"):
        study_archive_import(data=_rezip(files))
    assert _counts() == before


def test_an_edited_audit_row_is_refused_even_with_a_recomputed_manifest(small):
    files = _zip_files(study_archive_export(study=small))
    before = _counts()
    files["audit_events.csv"] = _edit_csv(files["audit_events.csv"], "new", '{"x": 2}', row=-1)
    data = _rezip(files, rehash={"audit_events.csv"})
    with pytest.raises(ArchiveError, match="audit chain does not verify"):
        study_archive_import(data=data)
    assert _counts() == before


def test_a_broken_reference_is_refused_with_file_line_and_column(small):
    files = _zip_files(study_archive_export(study=small))
    before = _counts()
    files["ratings.csv"] = _edit_csv(files["ratings.csv"], "item", "999", row=1)
    with pytest.raises(ArchiveError, match=r"ratings\.csv line 3, column item: broken reference"):
        study_archive_import(data=_rezip(files, rehash={"ratings.csv"}))
    assert _counts() == before


def test_a_rating_of_another_rounds_item_is_refused(small):
    later = f.make_round(small, number=2, statements=[f.make_statement(small)])
    files = _zip_files(study_archive_export(study=small))
    before = _counts()
    assert later.items.count() == 1  # round_items.csv row 4 belongs to round 2
    files["ratings.csv"] = _edit_csv(files["ratings.csv"], "item", "4")
    with pytest.raises(ArchiveError, match="an item of another round than their response's"):
        study_archive_import(data=_rezip(files, rehash={"ratings.csv"}))
    assert _counts() == before


def test_a_missing_file_or_an_unknown_version_is_refused(small):
    files = _zip_files(study_archive_export(study=small))
    without = {k: v for k, v in files.items() if k != "responses.csv"}
    with pytest.raises(ArchiveError, match="responses.csv is listed in the manifest but missing"):
        study_archive_import(data=_rezip(without))
    manifest = json.loads(files["manifest.json"])
    manifest["format_version"] = 99
    future = dict(files, **{"manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(ArchiveError, match="Unknown archive format version 99"):
        study_archive_import(data=_rezip(future))


def test_a_truncated_zip_is_refused_by_the_command(small, tmp_path):
    before = _counts()
    data = study_archive_export(study=small)
    path = tmp_path / "cut.zip"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CommandError, match="not a ZIP file, or it is damaged or truncated"):
        call_command("study_import", str(path))
    assert _counts() == before


def test_the_commands_write_and_load_an_archive(small, tmp_path, researcher):
    path = tmp_path / "study.zip"
    out = io.StringIO()
    call_command("study_export", str(small.uuid), "--out", str(path), stdout=out)
    assert "without contacts" in out.getvalue() and path.stat().st_size > 0
    out = io.StringIO()
    call_command("study_import", str(path), "--researcher", researcher.username, stdout=out)
    text = out.getvalue()
    assert "already has a study with UUID" in text and "chain intact" in text
    imported = Study.objects.exclude(pk=small.pk).get(title=small.title)
    assert imported.memberships.get().user == researcher
    assert imported.framework.statements.filter(revision_of__isnull=False).count() == 1


# --- the download ----------------------------------------------------------------------------


def test_researchers_download_the_archive_analysts_without_contacts_outsiders_get_404(
    client, small, researcher, analyst, outsider
):
    url = reverse("study_archive", kwargs={"study": small.uuid})
    client.force_login(researcher)
    page = client.get(reverse("study_detail", kwargs={"study": small.uuid}))
    assert url in page.content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    assert "contacts.csv" not in _zip_files(response.content)
    assert "contacts.csv" in _zip_files(client.get(url + "?contacts=1").content)
    assert AuditEvent.objects.filter(study=small, verb="study_archive_download").count() == 2

    client.force_login(analyst)
    assert client.get(url).status_code == 200
    assert client.get(url + "?contacts=1").status_code == 403

    client.force_login(outsider)
    assert client.get(url).status_code == 404
