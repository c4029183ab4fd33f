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
