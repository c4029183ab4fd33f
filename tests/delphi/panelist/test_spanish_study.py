"""The study's own words in Spanish (title, short title, aims, contact note, e-mail subjects),
falling back to English; the consent page's folded aims and its already-agreed state; one
Spanish term for "rating"."""

import re
from pathlib import Path

import pytest
from django.core import mail

from delphi.services.invitations import invitations_send
from tests import factories as f
from tests.delphi.panelist.conftest import sign_in
from tests.delphi.panelist.test_links import eager  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[3]
AIMS = "Why this study. " + "Crisis response needs people. " * 12 + "\n\nAims. Agree on a core set."
AIMS_ES = "Por qué este estudio. Hace falta gente.\n\nObjetivos. Un conjunto básico."


@pytest.fixture
def spanish_study(study):
    study.title_es = "Competencias básicas de respuesta a crisis"
    study.short_title_es = "Competencias de crisis"
    study.aims = AIMS
    study.aims_es = AIMS_ES
    study.contact_note = "We answer within two days."
    study.contact_note_es = "Respondemos en dos días."
    study.save()
    return study


def test_the_display_helpers_fall_back_to_english(study):
    study.title, study.short_title, study.title_es, study.short_title_es = "T", "", "", ""
    assert study.display_title("es") == "T" and study.display_short_title("es") == "T"
    study.title_es = "T-es"
    assert study.display_short_title("es") == "T-es"
    study.short_title_es = "S-es"
    assert study.display_short_title("es") == "S-es" and study.display_short_title("en") == "T"


def test_a_spanish_panelist_sees_the_study_in_spanish(client, spanish_study, rnd):
    panelist = f.make_panelist(spanish_study, language="es")
    sign_in(client, panelist, consented=False, profiled=False)
    body = client.get("/p/consent/").content.decode()
    assert "Competencias de crisis" in body  # header: the Spanish short title
    assert "Competencias básicas de respuesta a crisis" in body  # the title on the page
    assert "Por qué este estudio. Hace falta gente." in body
    assert "Leer más sobre los objetivos del estudio" in body and "Un conjunto básico." in body
    assert "Respondemos en dos días." in body
    assert "Crisis response needs people" not in body


def test_an_english_panelist_gets_the_aims_folded_and_the_consent_in_the_page(
    client, spanish_study, rnd
):
    panelist = f.make_panelist(spanish_study, language="en")
    sign_in(client, panelist, consented=False, profiled=False)
    body = client.get("/p/consent/").content.decode()
    summary, more = body.split("<details", 1)
    # A long first paragraph is cut after a sentence; the rest waits behind "read more".
    assert "Why this study. Crisis response needs people." in summary
    assert "Aims. Agree on a core set." in more and "Read more about the study" in more
    assert 'name="agree"' in body and "tabindex" not in body.split('consent-text">', 1)[0][-80:]
    assert "We answer within two days." in body


def test_someone_who_already_agreed_sees_a_clear_state_and_no_checkbox(client, study, rnd):
    panelist = f.make_panelist(study)
    sign_in(client, panelist)
    body = client.get("/p/consent/").content.decode()
    assert "You have already agreed to take part." in body
    assert 'name="agree"' not in body
    assert "Continue to the questionnaire" in body


def test_the_spanish_invitation_subject_names_the_spanish_short_title(
    eager,  # noqa: F811
    django_capture_on_commit_callbacks,
    spanish_study,
    rnd,
    researcher,
):
    f.make_panelist(spanish_study, email="luis@example.org", language="es")
    f.make_panelist(spanish_study, email="ana@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        invitations_send(round=rnd, by=researcher)
    by_to = {m.to[0]: m for m in mail.outbox}
    assert "Competencias de crisis" in by_to["luis@example.org"].subject
    assert "Competencias básicas de respuesta a crisis" in by_to["luis@example.org"].body
    assert spanish_study.display_short_title("en") in by_to["ana@example.org"].subject


def test_one_spanish_term_for_rating():
    po = (ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po").read_text()
    strings = " ".join(re.findall(r'^msgstr(?:\[\d\])? "(.*)"$', po, flags=re.MULTILINE))
    assert "puntua" in strings.lower() or "puntuación" in strings.lower()
    for other in ("calific", "valorar", "valoración"):
        assert other not in strings.lower(), other
    demo = " ".join(
        (ROOT / "delphi" / "demo" / name).read_text() for name in ("content.py", "services.py")
    )
    assert "calific" not in demo.lower()
