"""A study with something on every researcher page, for the page and access tests."""

from types import SimpleNamespace

from delphi.models import Response, Suggestion
from tests import factories as f


def build_world(study, *, n_statements=3, n_panelists=3):
    domain = f.make_domain(study, code="CD", name="Communication and de-escalation")
    statements = [f.make_statement(study, domain=domain) for _ in range(n_statements)]
    scenario = f.make_scenario(study, code="SC1", title="Man shouting in the street")
    panelists = [f.make_panelist(study) for _ in range(n_panelists)]
    r1 = f.make_round(study, statements=statements, title="Rating")
    response = Response.objects.create(round=r1, panelist=panelists[0])
    suggestion = Suggestion.objects.create(
        round=r1, response=response, domain=domain, text="Knows local crisis lines by heart."
    )
    return SimpleNamespace(
        study=study,
        domain=domain,
        statements=statements,
        scenario=scenario,
        panelists=panelists,
        round=r1,
        item=r1.items.first(),
        suggestion=suggestion,
        group=study.panel.groups.first(),
    )


def url_kwargs(world) -> dict:
    """Values for every URL parameter the researcher URLs use."""
    return {
        "study": world.study.uuid,
        "round": world.round.uuid,
        "panelist": world.panelists[0].uuid,
        "statement": world.statements[0].uuid,
        "scenario": world.scenario.uuid,
        "suggestion": world.suggestion.uuid,
        "item": world.item.uuid,
        "code": world.group.code,
    }


def build_data_world(study, researcher):
    """A study in mid-flight, for the pages that are empty in `build_world`: an analysed
    rating round (two domains, three groups), an analysed ranking round, and an open round
    whose invitations went out with a few answers started. Returns the three rounds."""
    from datetime import timedelta

    from django.utils import timezone

    from delphi.consensus import services
    from delphi.models import Round
    from delphi.services.invitations import invitations_send
    from tests.delphi.consensus.test_engine import build_round
    from tests.delphi.consensus.test_ranking_engine import ranking_round

    safety = f.make_domain(study, code="SR", name="Safety and risk", order=1)
    families = f.make_domain(study, code="WF", name="Working with families", order=2)
    statements = [
        f.make_statement(study, domain=d, text=f"{d.name}: a competency worded at length ({i}).")
        for d in (safety, families)
        for i in range(4)
    ]
    rating = build_round(study, statements=statements, per_group=4)
    assert services.consensus_compute_now(round=rating).status == "done"
    ranking = ranking_round(study, number=2, statements=statements[:5])
    Round.objects.filter(pk=ranking.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    assert services.consensus_compute_now(round=ranking).status == "done"
    now = timezone.now()
    third = f.make_round(
        study,
        number=3,
        statements=statements[2:],
        status=Round.Status.OPEN,
        opened_at=now - timedelta(hours=2),
        closes_at=now + timedelta(days=10),
    )
    invitations_send(round=third, by=researcher)
    first_item = third.items.order_by("order").first()
    for panelist in list(study.panel.panelists.all())[:3]:
        f.rate(panelist, third, {first_item: 7}, submitted=False)
    return SimpleNamespace(rating=rating, ranking=ranking, open=third)
