"""Scenarios, like statements: an edit before the scenario's round opened is audited with old
and new values; once the round has opened, the wording and code cannot change in place."""

from django.urls import reverse

from delphi.models import AuditEvent, RoundItem
from delphi.services.rounds import round_open
from tests import factories as f


def _form(scenario, **changes):
    names = ("code", "title", "title_es", "risk_level", "vignette", "vignette_es", "order")
    data = {name: getattr(scenario, name) for name in names}
    return data | changes


def test_a_scenario_edit_is_audited_and_locked_once_its_round_opened(researcher_client, study):
    scenario = f.make_scenario(study, code="SC1", title="Street", vignette="A man shouts.")
    statement = f.make_statement(study)
    url = reverse("scenario_edit", args=[study.uuid, scenario.uuid])
    response = researcher_client.post(url, _form(scenario, vignette="A man shouts at cars."))
    assert response.status_code == 302, response.content.decode()[-1500:]
    row = AuditEvent.objects.filter(study=study, verb="scenario_update").latest("id")
    assert (row.old, row.new) == (
        {"vignette": "A man shouts."},
        {"vignette": "A man shouts at cars."},
    )
    assert (row.object_type, row.object_label, row.source) == ("scenario", "SC1", "researcher")

    rnd = f.make_round(study)
    RoundItem.objects.create(round=rnd, statement=statement, scenario=scenario, order=0)
    round_open(round=rnd, by=None)
    scenario.refresh_from_db()
    before = AuditEvent.objects.count()
    for change in ({"vignette": "Something else."}, {"title": "Road"}, {"code": "SC9"}):
        response = researcher_client.post(url, _form(scenario, **change))
        assert response.status_code == 200
        page = response.content.decode()
        assert "Scenario SC1 was asked in round 1" in page and "cannot change in place" in page
    scenario.refresh_from_db()
    assert (scenario.code, scenario.title, scenario.vignette) == (
        "SC1", "Street", "A man shouts at cars."
    )  # fmt: skip
    assert AuditEvent.objects.count() == before
    # What is not wording (the order on the page) can still change.
    response = researcher_client.post(url, _form(scenario, order=5))
    assert response.status_code == 302
    row = AuditEvent.objects.filter(study=study, verb="scenario_update").latest("id")
    assert (row.old, row.new) == ({"order": 0}, {"order": 5})
