"""Researcher pages a team reads every day: no dead links, activity in words, the suggestion
form's fields per action, the panel and invitations lists searched and paged."""

from django.urls import reverse
from django.utils import timezone

from delphi.models import Round
from tests import factories as f


def ru(name, rnd, **kw):
    return reverse(name, kwargs={"study": rnd.study.uuid, "round": rnd.uuid, **kw})


def test_a_draft_round_offers_no_results_link(study, researcher_client):
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    assert rnd.status == Round.Status.DRAFT
    page = researcher_client.get(ru("round_detail", rnd))
    assert page.context["results_url"] is None
    assert ru("round_results", rnd) not in page.content.decode()
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.OPEN, opened_at=timezone.now())
    page = researcher_client.get(ru("round_detail", rnd))
    assert ru("round_results", rnd) in page.content.decode()


def test_suggestion_form_groups_each_actions_fields(study, researcher_client):
    from delphi.models import Response, Suggestion

    rnd = f.make_round(study, statements=[f.make_statement(study)])
    response = Response.objects.create(round=rnd, panelist=f.make_panelist(study))
    suggestion = Suggestion.objects.create(round=rnd, response=response, text="Knows 988.")
    url = ru("suggestion_decide", rnd, suggestion=suggestion.uuid)
    html = researcher_client.get(url).content.decode()
    adopt = html.split('data-action="adopt"')[1].split("</fieldset>")[0]
    merge = html.split('data-action="merge"')[1].split("</fieldset>")[0]
    assert 'name="code"' in adopt and 'name="text"' in adopt and 'name="domain"' in adopt
    assert 'name="statement"' in merge and 'name="code"' not in merge
    # Without script every field is there; the script (a static file, CSP) hides the others.
    assert "hidden" not in adopt.split(">")[0] and "js/suggestion_decide.js" in html
    # The server still checks the chosen action's fields, and keeps what was typed.
    page = researcher_client.post(url, {"action": "adopt", "reason": "New.", "code": "X1"})
    assert page.status_code == 200
    assert "Needed to adopt the suggestion." in page.content.decode()
    assert 'value="X1"' in page.content.decode()
