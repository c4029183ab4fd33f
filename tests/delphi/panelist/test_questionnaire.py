"""A panelist's path: consent, profile, pages, autosave, resume, submit, withdraw."""

import json

import pytest
from django.utils import timezone

from delphi.models import PromptAnswer, Rating, Response, Round, RoundPrompt, Suggestion
from panels.models import Panelist
from tests import factories as f
from tests.delphi.panelist.conftest import open_round, sign_in


def autosave(client, rnd, **payload):
    return client.post(
        f"/p/r/{rnd.uuid}/autosave/", json.dumps(payload), content_type="application/json"
    )


def items(rnd):
    from delphi.panelist.selectors import round_items

    return round_items(round=rnd)


def test_consent_then_profile_then_questionnaire(client, study, panelist, rnd):
    sign_in(client, panelist, consented=False, profiled=False)
    assert client.get("/p/")["Location"] == "/p/consent/"
    response = client.post("/p/consent/", {})
    assert response.status_code == 200
    assert "Tick the box to agree" in response.content.decode()
    assert client.post("/p/consent/", {"agree": "on"})["Location"] == "/p/"
    panelist.refresh_from_db()
    assert panelist.consented_at is not None
    assert panelist.consent_version == study.consent_version
    assert client.get("/p/")["Location"] == "/p/profile/"
    group = study.panel.groups.last()
    response = client.post(
        "/p/profile/",
        {"group": group.pk, "years_experience": "12", "setting": "rural",
         "lived_experience": "", "language": "en"},
    )  # fmt: skip
    assert response.status_code == 302
    panelist.refresh_from_db()
    assert (panelist.group, panelist.years_experience, panelist.setting) == (group, 12, "rural")
    assert panelist.lived_experience is None
    assert client.get("/p/")["Location"] == f"/p/r/{rnd.uuid}/"


def test_a_new_consent_version_asks_again(panelist_client, study):
    study.consent_version = 2
    study.save()
    assert panelist_client.get("/p/")["Location"] == "/p/consent/"


def test_profile_refuses_a_group_of_another_study(client, panelist, rnd, other_study):
    sign_in(client, panelist, profiled=False)
    foreign = other_study.panel.groups.first()
    response = client.post("/p/profile/", {"group": foreign.pk, "language": "en"})
    assert response.status_code == 200
    panelist.refresh_from_db()
    assert panelist.group_id != foreign.pk
    assert panelist.profile_confirmed_at is None


def test_page_shows_one_domain_with_progress(panelist_client, rnd):
    response = panelist_client.get(f"/p/r/{rnd.uuid}/page/1/")
    body = response.content.decode()
    first_domain = [i for i in items(rnd) if i.statement.domain.order == 0]
    assert "0 of 6 rated" in body
    assert "Page 1 of 2" in body
    for index, item in enumerate(first_domain):
        assert f'data-item="{item.uuid}"' in body
        assert f'name="v{index}"' in body
    assert body.count("<fieldset") == len(first_domain)
    assert "Unable to rate" in body and "Not important" in body


def test_form_post_without_javascript_saves_the_page(panelist_client, panelist, rnd):
    page1 = [i for i in items(rnd) if i.statement.domain.order == 0]
    # Fields are named by position on the page: v0 is the first statement's rating.
    data = {"v0": "8", "v1": "unable", "c0": "Essential on night shifts", "action": "next"}
    response = panelist_client.post(f"/p/r/{rnd.uuid}/page/1/", data)
    assert response["Location"] == f"/p/r/{rnd.uuid}/page/2/"
    ratings = {r.item_id: r for r in Rating.objects.filter(response__panelist=panelist)}
    assert ratings[page1[0].pk].value == 8
    assert ratings[page1[0].pk].comment == "Essential on night shifts"
    assert ratings[page1[1].pk].unable and ratings[page1[1].pk].value is None
    assert len(ratings) == 2
    # Coming back later resumes on the page last saved.
    assert panelist_client.get(f"/p/r/{rnd.uuid}/")["Location"] == f"/p/r/{rnd.uuid}/page/2/"


def test_autosave_one_answer_at_a_time(panelist_client, panelist, rnd):
    item = items(rnd)[0]
    assert autosave(panelist_client, rnd, item=str(item.uuid), value="7").json()["ok"] is True
    assert autosave(panelist_client, rnd, item=str(item.uuid), comment="Key").status_code == 200
    rating = Rating.objects.get(response__panelist=panelist, item=item)
    # A comment saved after the rating does not clear it.
    assert (rating.value, rating.unable, rating.comment) == (7, False, "Key")
    autosave(panelist_client, rnd, item=str(item.uuid), value="unable")
    rating.refresh_from_db()
    assert (rating.value, rating.unable) == (None, True)
    assert Rating.objects.count() == 1
    body = panelist_client.get(f"/p/r/{rnd.uuid}/page/1/").content.decode()
    assert "1 of 6 rated" in body


def test_a_null_character_is_refused_on_every_database(panelist_client, panelist, rnd):
    """PostgreSQL cannot store NUL (SQLite can): the fuzz tests found the page post's 500."""
    item = items(rnd)[0]
    saved = autosave(panelist_client, rnd, item=str(item.uuid), comment="a\x00b")
    assert saved.status_code == 400 and "null character" in saved.json()["error"]
    page = panelist_client.post(f"/p/r/{rnd.uuid}/page/1/", {"v0": "7", "c0": "bad\x00"})
    assert page.status_code == 400
    assert "null character" in page.content.decode()
    assert not Rating.objects.filter(response__panelist=panelist).exists()


def test_submit_lists_unanswered_items_and_asks_to_confirm(panelist_client, panelist, rnd):
    first, *rest = items(rnd)
    autosave(panelist_client, rnd, item=str(first.uuid), value="5")
    body = panelist_client.get(f"/p/r/{rnd.uuid}/review/").content.decode()
    assert "5 statements are not answered yet" in body
    for item in rest:
        assert f"#item-{item.uuid}" in body
    assert panelist_client.post(f"/p/r/{rnd.uuid}/review/", {}).status_code == 302
    assert Response.objects.get(panelist=panelist).status == Response.Status.DRAFT
    response = panelist_client.post(f"/p/r/{rnd.uuid}/review/", {"confirm_incomplete": "1"})
    assert response["Location"] == f"/p/r/{rnd.uuid}/done/"
    saved = Response.objects.get(panelist=panelist)
    assert saved.status == Response.Status.SUBMITTED and saved.submitted_at
    # A second submit (double click) changes nothing; answers can still change while open.
    panelist_client.post(f"/p/r/{rnd.uuid}/review/", {"confirm_incomplete": "1"})
    assert Response.objects.get(panelist=panelist).submitted_at == saved.submitted_at
    assert autosave(panelist_client, rnd, item=str(first.uuid), value="9").status_code == 200
    assert Rating.objects.get(item=first).value == 9
    assert Response.objects.get(panelist=panelist).status == Response.Status.SUBMITTED


def test_after_close_everything_is_read_only(panelist_client, panelist, rnd):
    item = items(rnd)[0]
    autosave(panelist_client, rnd, item=str(item.uuid), value="4")
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    response = autosave(panelist_client, rnd, item=str(item.uuid), value="9")
    assert response.status_code == 409
    assert "closed" in response.json()["error"]
    response = panelist_client.post(f"/p/r/{rnd.uuid}/page/1/", {"v0": "9"})
    assert response.status_code == 409
    assert "This round has closed" in response.content.decode()
    body = panelist_client.get(f"/p/r/{rnd.uuid}/page/1/").content.decode()
    assert '<fieldset class="scale" disabled' in body
    panelist_client.post(f"/p/r/{rnd.uuid}/review/", {"confirm_incomplete": "1"})
    assert Rating.objects.get(item=item).value == 4
    assert Response.objects.get(panelist=panelist).status == Response.Status.DRAFT


def test_past_the_deadline_is_closed_too(panelist_client, rnd):
    Round.objects.filter(pk=rnd.pk).update(closes_at=timezone.now())
    item = items(rnd)[0]
    assert autosave(panelist_client, rnd, item=str(item.uuid), value="3").status_code == 409
    assert not Rating.objects.exists()


@pytest.mark.parametrize("keep", [True, False])
def test_withdraw_keeps_or_drops_answers_and_stops_email(panelist_client, panelist, rnd, keep):
    item = items(rnd)[0]
    autosave(panelist_client, rnd, item=str(item.uuid), value="6")
    response = panelist_client.post("/p/withdraw/", {"keep_answers": "yes" if keep else "no"})
    assert response.status_code == 200  # the confirmation box is required
    response = panelist_client.post(
        "/p/withdraw/", {"keep_answers": "yes" if keep else "no", "confirm": "on"}
    )
    assert response["Location"] == "/p/withdrawn/"
    panelist.refresh_from_db()
    assert panelist.status == Panelist.Status.WITHDRAWN and panelist.withdrawn_at
    assert panelist.keep_answers is keep
    assert Response.objects.get(panelist=panelist).excluded is (not keep)
    # No more answers, no more invitations.
    assert autosave(panelist_client, rnd, item=str(item.uuid), value="9").status_code == 400
    assert Rating.objects.get(item=item).value == 6
    from delphi.services.invitations import invitations_pending

    assert panelist not in invitations_pending(round=rnd)


def test_suggestion_from_a_rating_round(panelist_client, panelist, rnd, study):
    domain = items(rnd)[0].statement.domain
    url = f"/p/r/{rnd.uuid}/suggest/"
    assert panelist_client.post(url, {"text": ""}).status_code == 200
    data = {"text": "Knows local crisis resources by name", "domain": domain.pk}
    assert panelist_client.post(url, data).status_code == 302
    assert panelist_client.post(url, data).status_code == 302  # double click: still one
    suggestion = Suggestion.objects.get()
    assert (suggestion.round, suggestion.domain) == (rnd, domain)
    assert suggestion.response.panelist == panelist


def test_generation_round_prompts_and_answers(client, study, panelist):
    rnd = f.make_round(study, kind=Round.Kind.GENERATION, status="open", opened_at=timezone.now())
    scenario = f.make_scenario(study, title="Man shouting in the street")
    prompt = RoundPrompt.objects.create(
        round=rnd, scenario=scenario, text="What must the responder be able to do?"
    )
    sign_in(client, panelist)
    body = client.get(f"/p/r/{rnd.uuid}/page/1/").content.decode()
    assert "What must the responder be able to do?" in body
    assert "Man shouting in the street" in body
    response = client.post(
        f"/p/r/{rnd.uuid}/page/1/", {f"a-{prompt.pk}": "Listen first.", "action": "next"}
    )
    assert response.status_code == 302
    assert PromptAnswer.objects.get().text == "Listen first."


def test_spanish_panelist_reads_spanish(client, study, panelist):
    rnd = open_round(study, n_items=2, n_domains=1)
    statement = items(rnd)[0].statement
    statement.text_es = "Usa un lenguaje calmado y sencillo."
    statement.save()
    Panelist.objects.filter(pk=panelist.pk).update(language="es")
    sign_in(client, panelist)
    body = client.get(f"/p/r/{rnd.uuid}/page/1/").content.decode()
    assert "Usa un lenguaje calmado y sencillo." in body
    assert "No puedo puntuar" in body and "0 de 2 puntuados" in body
    assert '<html lang="es">' in body
    # The switch changes the language and remembers it.
    client.post("/p/language/", {"language": "en", "next": f"/p/r/{rnd.uuid}/page/1/"})
    panelist.refresh_from_db()
    assert panelist.language == "en"
    assert "Unable to rate" in client.get(f"/p/r/{rnd.uuid}/page/1/").content.decode()


def test_plain_language_wording_on_request(panelist_client, rnd):
    statement = items(rnd)[0].statement
    statement.plain_text = "Talks in a calm, simple way."
    statement.save()
    url = f"/p/r/{rnd.uuid}/page/1/"
    assert "Talks in a calm, simple way." not in panelist_client.get(url).content.decode()
    assert (
        "Talks in a calm, simple way."
        in panelist_client.get(url + "?wording=plain").content.decode()
    )
    # Remembered for the next page view.
    assert "Talks in a calm, simple way." in panelist_client.get(url).content.decode()


def test_autosave_is_one_select_and_one_upsert(panelist_client, rnd, django_assert_num_queries):
    """After Django's session read: one SELECT (link, panelist, round, item, response), one
    INSERT ... ON CONFLICT that also writes the audit row (PostgreSQL). SQLite has no
    data-modifying CTE: there the old row is read and the audit row inserted on their own."""
    from django.db import connection

    item = items(rnd)[0]
    autosave(panelist_client, rnd, item=str(item.uuid), value="5")  # creates the response
    # SQLite: + savepoint, read old, audit insert, release.
    expected = 3 if connection.vendor == "postgresql" else 7
    with django_assert_num_queries(expected):
        assert autosave(panelist_client, rnd, item=str(item.uuid), value="6").status_code == 200
    assert Rating.objects.get().value == 6
