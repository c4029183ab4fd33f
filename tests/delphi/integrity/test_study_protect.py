"""A study's audit trail outlives it: deleting a study that has audit rows is refused, by the ORM
and by the admin, and nothing is lost. The deliberate purge (the demo rebuilding itself) still
works."""

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse

from delphi.models import AuditEvent, Round, Study
from delphi.services import audit as audit_svc
from tests import factories as f


def _with_rows(study, n=3):
    f.make_round(study, statements=[f.make_statement(study)])
    for i in range(n):
        audit_svc.audit_record(study=study, verb="test.row", new={"i": i})
    return AuditEvent.objects.filter(study=study).count()


def test_deleting_a_study_through_the_orm_is_refused_and_nothing_is_lost(study):
    rows = _with_rows(study)
    with pytest.raises(ProtectedError) as refused, transaction.atomic():
        study.delete()
    # Django's message names what protects the study: its audit rows.
    assert "AuditEvent.study" in str(refused.value)
    assert Study.objects.filter(pk=study.pk).exists()
    assert Round.objects.filter(study=study).count() == 1
    assert AuditEvent.objects.filter(study=study).count() == rows
    assert audit_svc.audit_verify(study=study).intact


def test_the_admin_offers_no_study_deletion(client, study):
    rows = _with_rows(study)
    client.force_login(f.make_user("site-admin", is_staff=True, is_superuser=True))
    delete = reverse("admin:delphi_study_delete", args=[study.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:delphi_study_changelist")
    page = client.get(changelist).content.decode()
    assert "delete_selected" not in page
    response = client.post(
        changelist, {"action": "delete_selected", "_selected_action": [study.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    change = client.get(reverse("admin:delphi_study_change", args=[study.pk])).content.decode()
    assert f"/admin/delphi/study/{study.pk}/delete/" not in change
    assert Study.objects.filter(pk=study.pk).exists()
    assert AuditEvent.objects.filter(study=study).count() == rows


def test_the_deliberate_purge_still_removes_the_study_and_its_trail(study):
    _with_rows(study)
    other = f.make_study(title="Kept")
    audit_svc.audit_record(study=other, verb="test.row")
    audit_svc.study_purge(study=study)
    assert not Study.objects.filter(pk=study.pk).exists()
    assert not AuditEvent.objects.filter(study_id=study.pk).exists()
    assert AuditEvent.objects.filter(study=other).count() == 1
    assert audit_svc.audit_verify(study=other).intact
