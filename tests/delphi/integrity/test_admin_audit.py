"""The admin: a panelist's group move goes through the same service as the researcher's (a
reason once they have rated, one audit row, analysed rounds marked "inputs changed"), and rows
changed through inlines (a round's items, a study's members) are audited with old and new."""

import pytest
from django.forms import MultiWidget
from django.urls import reverse
from django.utils import timezone

from delphi.models import AuditEvent, Membership, Round, RoundItem
from panels.models import Panelist
from tests import factories as f


@pytest.fixture
def admin_client(client, db):
    client.force_login(f.make_user("site-admin", is_staff=True, is_superuser=True))
    return client


def _value_pairs(form):
    """The POST a browser would send for this bound-to-initial form, as (name, value) pairs."""
    pairs = []
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        key = bound.html_name
        if field.show_hidden_initial:  # a callable default: the browser posts it back too
            pairs.append((bound.html_initial_name, "" if value is None else str(value)))
        if isinstance(field.widget, MultiWidget):
            parts = field.widget.decompress(value) if value else [None] * len(field.widget.widgets)
            for i, part in enumerate(parts):
                pairs.append((f"{key}_{i}", "" if part is None else str(part)))
        elif isinstance(value, bool):
            if value:
                pairs.append((key, "on"))
        elif isinstance(value, list | tuple):
            pairs.extend((key, str(v)) for v in value)
        else:
            pairs.append((key, "" if value is None else str(value)))
    return pairs


def _change_post(client, url, **changes):
    """GET the admin change page and post it back as it stands, with `changes` applied."""
    context = client.get(url).context
    data = dict(_value_pairs(context["adminform"].form))
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(dict(_value_pairs(formset.management_form)))
        for form in formset.forms:
            data.update(dict(_value_pairs(form)))
    data.update({k: str(v) for k, v in changes.items()})
    return client.post(url, data), data


def _errors(response):
    inlines = response.context["inline_admin_formsets"]
    return [response.context["adminform"].form.errors] + [
        (i.formset.errors, i.formset.non_form_errors()) for i in inlines
    ]


def _analysed_round(study, panelist):
    now = timezone.now()
    rnd = f.make_round(study, statements=[f.make_statement(study)], status=Round.Status.ANALYSED,
                       opened_at=now, closed_at=now)  # fmt: skip
    f.rate(panelist, rnd, {rnd.items.get(): 6})
    return rnd


def test_an_admin_group_move_after_rating_needs_a_reason_is_audited_and_marks_rounds(
    admin_client, study, panelist
):
    rnd = _analysed_round(study, panelist)
    clinical = study.panel.groups.get(code="clinical")
    url = reverse("admin:panels_panelist_change", args=[panelist.pk])
    before = AuditEvent.objects.count()
    response, _ = _change_post(admin_client, url, group=clinical.pk)
    assert response.status_code == 200
    assert "has already rated" in response.content.decode()
    panelist.refresh_from_db()
    rnd.refresh_from_db()
    assert panelist.group.code == "law" and rnd.inputs_changed_at is None
    assert AuditEvent.objects.count() == before

    response, _ = _change_post(admin_client, url, group=clinical.pk, move_reason="wrong group")
    assert response.status_code == 302
    panelist.refresh_from_db()
    rnd.refresh_from_db()
    assert panelist.group == clinical
    assert rnd.inputs_changed_at is not None
    [row] = AuditEvent.objects.filter(study=study, verb="panelist_update")
    assert (row.old, row.new) == ({"group": "law"}, {"group": "clinical"})
    assert (row.source, row.actor_label) == ("admin", "site-admin")
    assert row.detail["reason"] == "wrong group" and row.detail["rounds_marked"] == [rnd.number]
    # No second, reason-less row for the same move.
    assert not AuditEvent.objects.filter(study=study, verb="admin.change").exists()


def test_an_admin_move_before_rating_needs_no_reason_and_other_fields_stay_audited(
    admin_client, study, panelist
):
    dispatch = study.panel.groups.get(code="dispatch")
    url = reverse("admin:panels_panelist_change", args=[panelist.pk])
    response, _ = _change_post(admin_client, url, group=dispatch.pk, language="es")
    assert response.status_code == 302
    move = AuditEvent.objects.get(study=study, verb="panelist_update")
    assert (move.old, move.new, move.detail["rounds_marked"]) == (
        {"group": "law"}, {"group": "dispatch"}, []
    )  # fmt: skip
    change = AuditEvent.objects.get(study=study, verb="admin.change")
    assert (change.old, change.new) == ({"language": "en"}, {"language": "es"})
    assert Panelist.objects.get(pk=panelist.pk).group == dispatch


def test_round_item_inline_changes_are_audited_with_old_and_new(admin_client, study):
    statements = [f.make_statement(study, order=i) for i in range(3)]
    rnd = f.make_round(study, statements=statements[:2])
    first, second = rnd.items.order_by("order")
    url = reverse("admin:delphi_round_change", args=[rnd.pk])
    _, data = _change_post(admin_client, url)
    prefix = next(k for k in data if k.endswith("-TOTAL_FORMS")).removesuffix("-TOTAL_FORMS")
    index = {data[f"{prefix}-{i}-id"]: i for i in range(2)}
    changes = {
        f"{prefix}-{index[str(first.pk)]}-order": 7,
        f"{prefix}-{index[str(second.pk)]}-DELETE": "on",
        f"{prefix}-TOTAL_FORMS": 3,
        f"{prefix}-2-statement": statements[2].pk,
        f"{prefix}-2-order": 9,
        f"{prefix}-2-round": rnd.pk,
    }
    response, _ = _change_post(admin_client, url, **changes)
    assert response.status_code == 302, _errors(response)
    rows = {r.verb: r for r in AuditEvent.objects.filter(study=study, detail__inline="rounditem")}
    assert (rows["admin.change"].old, rows["admin.change"].new) == ({"order": 0}, {"order": 7})
    assert rows["admin.change"].object_id == str(first.uuid)
    assert rows["admin.delete"].old["statement"] == str(statements[1].pk)
    assert rows["admin.delete"].object_id == str(second.pk)
    assert rows["admin.add"].new["order"] == 9 and rows["admin.add"].old is None
    assert all(r.source == "admin" and r.actor_label == "site-admin" for r in rows.values())
    assert list(RoundItem.objects.filter(round=rnd).values_list("order", flat=True).order_by(
        "order")) == [7, 9]  # fmt: skip


def test_membership_inline_changes_are_audited(admin_client, study, analyst, researcher):
    study.created_by = researcher
    study.save(update_fields=["created_by"])
    url = reverse("admin:delphi_study_change", args=[study.pk])
    _, data = _change_post(admin_client, url)
    prefix = next(k for k in data if k.endswith("-TOTAL_FORMS")).removesuffix("-TOTAL_FORMS")
    membership = Membership.objects.get(study=study, user=analyst)
    i = next(
        int(k.split("-")[1]) for k, v in data.items()
        if k.endswith("-id") and k.startswith(prefix) and v == str(membership.pk)
    )  # fmt: skip
    response, _ = _change_post(admin_client, url, **{f"{prefix}-{i}-role": "researcher"})
    assert response.status_code == 302, _errors(response)
    row = AuditEvent.objects.get(study=study, detail__inline="membership")
    assert (row.verb, row.old, row.new) == (
        "admin.change", {"role": "analyst"}, {"role": "researcher"}
    )  # fmt: skip
