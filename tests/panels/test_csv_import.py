"""Panelist CSV import: all rows or none, every bad row listed with its line and the fix."""

import pytest
from django.urls import reverse

from delphi.models import AuditEvent
from panels.models import Contact, Panelist
from panels.services import panelists_import
from tests import factories as f

HEADER = "email,name,group,organisation,language\n"


def _import(client, study, text):
    url = reverse("panel_import", kwargs={"study": study.uuid})
    return client.post(url, {"text": text})


def test_good_file_imports_every_row(study, researcher_client):
    text = HEADER + (
        "ana@example.org,Ana Ruiz,law,County sheriff,es\n"
        "ben@example.org,Ben Ode,Clinical,Mercy clinic,\n"  # group by name, default language
        '"cy@example.org","Cy, Jr.",dispatch,"911, county",en\n'
    )
    response = _import(researcher_client, study, text)
    assert response.status_code == 302
    contacts = {c.email: c for c in Contact.objects.filter(panel=study.panel)}
    assert set(contacts) == {"ana@example.org", "ben@example.org", "cy@example.org"}
    assert contacts["ana@example.org"].panelist.language == "es"
    assert contacts["ben@example.org"].panelist.group.code == "clinical"
    assert contacts["cy@example.org"].name == "Cy, Jr."
    assert contacts["cy@example.org"].organisation == "911, county"
    assert AuditEvent.objects.filter(study=study, verb="panel_import").count() == 1


def test_semicolon_file_and_bom_are_accepted(study):
    text = "\ufeffemail;name;group;organisation;language\nana@example.org;Ana;law;;en\n"
    table, created = panelists_import(panel=study.panel, text=text)
    assert table.ok and len(created) == 1


@pytest.mark.parametrize(
    "rows, line, message",
    [
        ("nobody@example.org,X,astronauts,,en\n", 3, "no stakeholder group is called “astronauts”"),
        ("not-an-email,X,law,,en\n", 3, "is not a valid e-mail address"),
        ("ok1@example.org,X,law,,en\n", 3, "also appears on line 2"),
        ("old@example.org,X,law,,en\n", 3, "old@example.org is already in this panel"),
        (",X,law,,en\n", 3, "the email is empty"),
        ("ok3@example.org,X,,,en\n", 3, "the group is empty"),
        ("ok4@example.org,X,law,,fr\n", 3, "language “fr” is not one of"),
        ("ok5@example.org,X,law\n", 3, "check for a missing comma"),
    ],
)
def test_any_bad_row_imports_nothing(study, researcher_client, rows, line, message):
    f.make_panelist(study, email="old@example.org")
    before = Panelist.objects.count()
    text = HEADER + "ok1@example.org,Good Row,law,,en\n" + rows
    response = _import(researcher_client, study, text)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was imported." in html
    assert f"Line {line}: " in html
    assert message in html
    assert Panelist.objects.count() == before
    assert not Contact.objects.filter(email="ok1@example.org").exists()
    # The content comes back pasted so it can be fixed in place.
    assert response.context["form"]["text"].value().strip() == text.strip()


def test_missing_column_is_reported_on_line_one(study, researcher_client):
    response = _import(researcher_client, study, "email,name,group\nana@example.org,Ana,law\n")
    html = response.content.decode()
    assert "Line 1: the header lacks the column(s) organisation, language" in html
    assert not Contact.objects.exists()


def test_every_bad_row_is_listed_at_once(study):
    text = HEADER + (
        "a@example.org,A,law,,en\n"
        "bad-email,B,law,,en\n"
        "c@example.org,C,nowhere,,en\n"
        "a@example.org,D,law,,en\n"
    )
    table, created = panelists_import(panel=study.panel, text=text)
    assert created == []
    assert [r.line for r in table.bad_rows] == [3, 4, 5]
    assert not Panelist.objects.exists()


def test_uploaded_file_is_read(study, researcher_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "panel.csv", (HEADER + "zoe@example.org,Zoe,law,,en\n").encode(), "text/csv"
    )
    url = reverse("panel_import", kwargs={"study": study.uuid})
    response = researcher_client.post(url, {"file": upload})
    assert response.status_code == 302
    assert Contact.objects.filter(email="zoe@example.org").exists()


def test_empty_submission_is_explained(study, researcher_client):
    response = _import(researcher_client, study, "")
    assert "Choose a CSV file or paste its rows." in response.content.decode()
