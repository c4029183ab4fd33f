"""The panelist's own "About you" page: every change audited with old and new values; the
stakeholder group can be changed there only before the first rating, and afterwards a forged
post changing it is refused with nothing saved."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from delphi.models import AuditEvent, Round
from delphi.services import responses as svc
from panels.models import Panelist
from tests import factories as f
from tests.delphi.panelist.conftest import sign_in

PROFILE = {"years_experience": "12", "setting": "", "lived_experience": "", "language": "en"}


def _rows(study):
    return list(
        AuditEvent.objects.filter(study=study, verb="panelist.profile_update").order_by("id")
    )


def _groups(study):
    return {g.code: g for g in study.panel.groups.all()}


def test_before_any_rating_a_group_change_is_allowed_and_audited(client, study, panelist, rnd):
    sign_in(client, panelist)
    groups = _groups(study)
    assert panelist.group == groups["law"]
    page = client.get("/p/profile/").content.decode()
    assert 'name="group"' in page and "group-locked" not in page
    response = client.post("/p/profile/", {**PROFILE, "group": groups["clinical"].pk})
    assert response.status_code == 302
    panelist.refresh_from_db()
    assert panelist.group == groups["clinical"]
    [row] = _rows(study)
    assert row.old == {"group": "law", "years_experience": None}
    assert row.new == {"group": "clinical", "years_experience": 12}
    assert (row.source, row.actor_label, row.actor_id) == ("panelist", panelist.public_id, None)
    assert (row.object_type, row.object_label) == ("panelist", panelist.public_id)


def test_every_other_field_change_is_audited_and_no_change_writes_no_row(
    client, study, panelist, rnd
):
    sign_in(client, panelist)
    group = panelist.group_id
    client.post("/p/profile/", {**PROFILE, "group": group})
    client.post(
        "/p/profile/",
        {"group": group, "years_experience": "3", "setting": Panelist.Setting.values[0],
         "lived_experience": "yes", "language": "es"},
    )  # fmt: skip
    client.post(
        "/p/profile/",
        {
            "group": group,
            "years_experience": "3",
            "setting": Panelist.Setting.values[0],
            "lived_experience": "yes",
            "language": "es",
        },
    )  # fmt: skip: the same answers again change nothing
    rows = _rows(study)
    assert len(rows) == 2
    assert rows[1].old == {"years_experience": 12, "setting": "", "lived_experience": None,
                           "language": "en"}  # fmt: skip
    assert rows[1].new == {"years_experience": 3, "setting": Panelist.Setting.values[0],
                           "lived_experience": True, "language": "es"}  # fmt: skip


def test_after_a_rating_the_group_is_read_only_and_a_forged_post_is_refused(
    client, study, panelist, rnd
):
    sign_in(client, panelist)
    f.rate(panelist, rnd, {rnd.items.first(): 7}, submitted=False)
    groups = _groups(study)
    page = client.get("/p/profile/").content.decode()
    assert 'name="group"' not in page
    assert "To change it, contact the researchers running the study." in page
    assert "Law" in page
    before = Panelist.objects.values().get(pk=panelist.pk)
    audit_before = AuditEvent.objects.count()
    forged = {**PROFILE, "years_experience": "30", "group": groups["dispatch"].pk}
    response = client.post("/p/profile/", forged)
    assert response.status_code == 200
    assert "your group can no longer be changed here" in response.content.decode()
    assert Panelist.objects.values().get(pk=panelist.pk) == before
    assert AuditEvent.objects.count() == audit_before
    # The same post without the group saves the other answers (and is audited).
    response = client.post("/p/profile/", {**PROFILE, "years_experience": "30"})
    assert response.status_code == 302
    panelist.refresh_from_db()
    assert (panelist.group, panelist.years_experience) == (groups["law"], 30)
    assert _rows(study)[-1].new == {"years_experience": 30}


def test_the_read_only_group_and_the_refusal_in_spanish(client, study, panelist, rnd):
    panelist.language = "es"
    panelist.save(update_fields=["language"])
    sign_in(client, panelist)
    f.rate(panelist, rnd, {rnd.items.first(): 7})
    client.cookies["django_language"] = "es"
    page = client.get("/p/profile/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Su grupo en este estudio" in page
    assert "póngase en contacto con el equipo investigador" in page
    other = _groups(study)["dispatch"].pk
    response = client.post("/p/profile/", {**PROFILE, "language": "es", "group": other},
                           HTTP_ACCEPT_LANGUAGE="es")  # fmt: skip
    assert "su grupo ya no puede cambiarse aquí" in response.content.decode()


def test_the_service_refuses_a_group_change_after_a_ranking_too(study, panelist):
    from delphi.models import Ranking, Response

    rnd = f.make_round(study, kind=Round.Kind.RANKING, statements=[f.make_statement(study)])
    response = Response.objects.create(round=rnd, panelist=panelist)
    Ranking.objects.create(response=response, item=rnd.items.get(), rank=1)
    with translation.override("en"), pytest.raises(ValidationError, match="contact the researc"):
        svc.panelist_profile_update(
            panelist=panelist, study=study, data={"group": _groups(study)["clinical"]}
        )
    panelist.refresh_from_db()
    assert panelist.group.code == "law" and panelist.profile_confirmed_at is None
    assert not _rows(study)


def test_a_panelist_move_before_rating_marks_no_round_but_the_researcher_move_still_does(
    researcher, study, panelist
):
    from delphi.services.audited import panelist_update_audited

    rnd = f.make_round(
        study,
        statements=[f.make_statement(study)],
        status=Round.Status.ANALYSED,
        opened_at=timezone.now(),
        closed_at=timezone.now(),
    )
    svc.panelist_profile_update(panelist=panelist, study=study,
                                data={"group": _groups(study)["clinical"]})  # fmt: skip
    rnd.refresh_from_db()
    assert rnd.inputs_changed_at is None
    f.rate(panelist, rnd, {rnd.items.get(): 5})
    panelist_update_audited(
        study=study, panelist=panelist, by=researcher, reason="misfiled",
        data={"group": _groups(study)["law"], "email": "x@example.org", "name": "",
              "organisation": "", "language": "en"},
    )  # fmt: skip
    rnd.refresh_from_db()
    assert rnd.inputs_changed_at is not None and rnd.inputs_changed_at <= timezone.now()
