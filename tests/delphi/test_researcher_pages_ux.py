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
