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


# Panel -------------------------------------------------------------------------------------


def su(name, study, **kw):
    return reverse(name, kwargs={"study": study.uuid, **kw})


def test_panel_search_by_id_email_group_and_status(study, researcher_client):
    law, clinical = study.panel.groups.get(code="law"), study.panel.groups.get(code="clinical")
    ana = f.make_panelist(study, group=law, email="ana@police.example")
    ben = f.make_panelist(
        study,
        group=clinical,
        email="ben@clinic.example",
        status="withdrawn",
        withdrawn_at=timezone.now(),
    )
    url = su("panel_detail", study)

    def found(**params):
        page = researcher_client.get(url, params)
        return {p.public_id for p in page.context["page"].object_list}

    assert found(q="police") == {ana.public_id}
    assert found(q=ben.public_id.lower()) == {ben.public_id}
    assert found(group="clinical") == {ben.public_id}
    assert found(status="withdrawn") == {ben.public_id}
    assert found(q="Clinical") == {ben.public_id}  # the group's name
    assert found(group="nope") == {ana.public_id, ben.public_id}  # unknown filters are ignored
    html = researcher_client.get(url, {"q": "police"}).content.decode()
    assert 'role="search"' in html and 'value="police"' in html
    assert 'tabindex="0" role="region" aria-labelledby="h-panelists"' in html


def test_analyst_cannot_find_panelists_by_what_they_cannot_see(study, analyst_client):
    p = f.make_panelist(study, email="secret@example.org")
    url = su("panel_detail", study)
    page = analyst_client.get(url, {"q": "secret"})
    assert list(page.context["page"].object_list) == []
    assert "secret@example.org" not in page.content.decode()
    assert list(analyst_client.get(url, {"q": p.public_id}).context["page"].object_list) == [p]


def test_panel_pages_keep_the_search_and_a_flat_query_count(
    study, researcher_client, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    law = study.panel.groups.get(code="law")
    for i in range(5):
        f.make_panelist(study, group=law, email=f"few{i}@x.example")
    url = su("panel_detail", study)
    researcher_client.get(url)
    with CaptureQueriesContext(connection) as small:
        researcher_client.get(url, {"q": "x.example"})
    for i in range(150):
        f.make_panelist(study, group=law, email=f"many{i}@x.example")
    with django_assert_num_queries(len(small.captured_queries)):
        page = researcher_client.get(url, {"q": "x.example", "group": "law"})
    assert page.context["page"].paginator.count == 155
    html = page.content.decode()
    assert "?page=2&amp;q=x.example&amp;group=law" in html
    page2 = researcher_client.get(url, {"q": "x.example", "group": "law", "page": 2})
    assert len(page2.context["page"].object_list) == 55
