"""Downloads: cached by the fingerprint of their inputs, regenerated when the data change."""

import pytest
from django.db import transaction
from django.urls import reverse

from delphi.models import Rating, ReportExport
from delphi.reports.services import report_export_execute, report_export_request
from delphi.services.audit import audit_record


@pytest.mark.usefixtures("eager")
def test_a_change_in_the_data_regenerates_and_a_duplicate_delivery_does_nothing(
    report_world, django_capture_on_commit_callbacks
):
    study = report_world.study
    with django_capture_on_commit_callbacks(execute=True):
        first = report_export_request(study=study, kind="zip")
    first.refresh_from_db()
    assert first.status == "done" and first.size > 0
    # A redelivered task finds nothing to claim.
    assert report_export_execute(export_id=first.pk) is None
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        same = report_export_request(study=study, kind="zip")
    assert callbacks == [] and same.generated_at == first.generated_at
    # A rating changed after the close, as the admin does it: the row and its audit row in one
    # transaction (every path that changes a rating writes one; the fingerprint follows them).
    rating = Rating.objects.filter(response__round=report_world.r2).first()
    with transaction.atomic():
        old = rating.comment
        rating.comment = "Changed my mind."
        rating.save()
        audit_record(
            study=study, verb="admin.change", obj=rating, old={"comment": old},
            new={"comment": rating.comment},
        )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report_export_request(study=study, kind="zip")
    assert len(callbacks) == 1
    assert ReportExport.objects.get(pk=first.pk).fingerprint != first.fingerprint


def test_the_downloads_page_lists_the_files_and_outsiders_get_404(
    report_world, analyst_client, outsider
):
    url = reverse("study_report_downloads", kwargs={"study": report_world.study.uuid})
    html = analyst_client.get(url).content.decode()
    for name in ("data.zip", "workbook.xlsx", "report.pdf"):
        assert name in html
    assert "Not generated yet." in html
    analyst_client.force_login(outsider)
    assert analyst_client.get(url).status_code == 404
    gen = reverse("study_report_generate", kwargs={"study": report_world.study.uuid, "kind": "zip"})
    assert analyst_client.post(gen).status_code == 404


from tests.delphi.consensus.test_engine import eager  # noqa: E402, F401 (fixture)


@pytest.mark.usefixtures("eager")
def test_all_three_files_come_from_one_read_of_the_study(
    report_world, analyst_client, django_capture_on_commit_callbacks, monkeypatch
):
    from delphi.reports import services

    reads = []
    real = services.report_data

    def counting(**kwargs):
        reads.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "report_data", counting)
    study = report_world.study
    url = reverse("study_report_generate", kwargs={"study": study.uuid, "kind": "all"})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = analyst_client.post(url, {"language": "en", "comments": "include"})
    assert response.status_code == 302
    assert len(callbacks) == 1 and len(reads) == 1
    exports = {e.kind: e for e in ReportExport.objects.filter(study=study, language="en")}
    assert set(exports) == {"zip", "xlsx", "pdf"}
    assert all(e.status == "done" and e.size > 0 for e in exports.values())
    assert len({e.generated_at for e in exports.values()}) == 1
    # Cached: asking again queues nothing.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        analyst_client.post(url, {"language": "en", "comments": "include"})
    assert callbacks == [] and len(reads) == 1
