"""Statement CSV import: all rows or none, every bad row listed with its line and the fix."""

import pytest
from django.urls import reverse

from competencies.models import Provenance, Statement
from competencies.services import statements_import
from delphi.models import AuditEvent
from tests import factories as f

HEADER = "code,domain,text,plain_text,provenance\n"


@pytest.fixture
def domain(study):
    return f.make_domain(study, code="CD", name="Communication and de-escalation")


def _import(client, study, text):
    url = reverse("framework_import", kwargs={"study": study.uuid})
    return client.post(url, {"text": text})


def test_good_file_imports_every_row(study, domain, researcher_client):
    text = (
        "code,domain,text,plain_text,provenance,text_es\n"
        'CD1,CD,"Uses calm, plain language.",Talks calmly.,expert_panel,Usa lenguaje claro.\n'
        "CD2,Communication and de-escalation,Listens first.,,Key-informant interview,\n"
        "CD3,cd,Names the feeling.,,,\n"
    )
    response = _import(researcher_client, study, text)
    assert response.status_code == 302
    by_code = {s.code: s for s in Statement.objects.filter(framework=study.framework)}
    assert by_code["CD1"].text == "Uses calm, plain language."
    assert by_code["CD1"].text_es == "Usa lenguaje claro."
    assert by_code["CD2"].provenance == Provenance.INTERVIEW
    assert by_code["CD3"].provenance == Provenance.EXPERT_PANEL
    assert AuditEvent.objects.filter(study=study, verb="framework_import").count() == 1


@pytest.mark.parametrize(
    "row, message",
    [
        ("CD9,CD,,,expert_panel\n", "the statement text is empty"),
        ("CD9,XX,Text.,,expert_panel\n", "no domain is called “XX”"),
        ("CD1,CD,Text.,,expert_panel\n", "code CD1 also appears on line 2"),
        ("OLD,CD,Text.,,expert_panel\n", "code OLD is already in this framework"),
        ("CD9,CD,Text.,,hearsay\n", "provenance “hearsay” is not one of"),
        (",CD,Text.,,expert_panel\n", "the code is empty"),
    ],
)
def test_any_bad_row_imports_nothing(study, domain, researcher_client, row, message):
    f.make_statement(study, domain=domain, code="OLD")
    text = HEADER + "CD1,CD,A good statement.,,expert_panel\n" + row
    response = _import(researcher_client, study, text)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was imported." in html
    assert "Line 3: " in html and message in html
    assert list(Statement.objects.values_list("code", flat=True)) == ["OLD"]
    assert response.context["form"]["text"].value().strip() == text.strip()


def test_missing_column_is_reported(study, domain, researcher_client):
    response = _import(researcher_client, study, "code,text\nCD1,Listens.\n")
    assert "the header lacks the column(s) domain, plain_text, provenance" in (
        response.content.decode()
    )
    assert not Statement.objects.exists()


def test_every_bad_row_is_listed(study, domain):
    text = HEADER + "A1,CD,,,\nA2,ZZ,Text.,,\nA3,CD,Fine.,,\nA1,CD,Dup.,,\n"
    table, created = statements_import(framework=study.framework, text=text)
    assert created == []
    assert [r.line for r in table.bad_rows] == [2, 3, 5]
