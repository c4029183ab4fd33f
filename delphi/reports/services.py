"""Report downloads: request a file, generate it (a Celery task, in-process without a broker),
serve it from its cached row while its inputs are unchanged.

A ``ReportExport`` row per study x kind x language x comments holds the file, the fingerprint of
its inputs (``report_fingerprint``) and the stamp. Requesting a file whose row is done with the
same fingerprint returns the cached row; otherwise the row is re-queued and the task claims it
by compare-and-set (queued -> running), so a duplicate delivery does nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.utils import timezone

from delphi.models import ReportExport, Study
from delphi.reports.data import report_data, report_fingerprint
from delphi.reports.files import FILES, render_file
from delphi.services.audit import audit_record
from delphi.taskqueue import task_enqueue

logger = logging.getLogger(__name__)
# A running export whose row has not moved for this long belonged to a worker that died.
STALE_AFTER = 600


def _live(export: ReportExport) -> bool:
    if export.status == ReportExport.Status.QUEUED:
        return export.queued_at >= timezone.now() - timedelta(seconds=STALE_AFTER)
    if export.status == ReportExport.Status.RUNNING:
        started = export.started_at or export.queued_at
        return started >= timezone.now() - timedelta(seconds=STALE_AFTER)
    return False


def report_export_request(
    *, study: Study, kind: str, language: str = "en", include_comments: bool = True, by=None
) -> ReportExport:
    """The cached file if its inputs are unchanged; else queue its generation (after commit)."""
    if kind not in FILES:
        raise ValueError(f"Unknown report file {kind!r}.")
    fingerprint = report_fingerprint(
        study=study, include_comments=include_comments, language=language
    )
    export, created = ReportExport.objects.get_or_create(
        study=study, kind=kind, language=language, include_comments=include_comments
    )
    if export.status == ReportExport.Status.DONE and export.fingerprint == fingerprint:
        return export
    if not created and _live(export):
        return export
    ReportExport.objects.filter(pk=export.pk).update(
        status=ReportExport.Status.QUEUED,
        progress=0,
        stage="Waiting for the worker",
        error="",
        queued_at=timezone.now(),
        started_at=None,
    )
    audit_record(study=study, verb="report_export_request", actor=by, kind=kind)
    task_enqueue("delphi.tasks.report_export", export.pk)
    export.refresh_from_db()
    return export


def _progress(export_id: int, start: int, span: int):
    def report(percent: int) -> None:
        ReportExport.objects.filter(pk=export_id, status=ReportExport.Status.RUNNING).update(
            progress=min(99, start + span * percent // 100)
        )

    return report


def report_export_execute(*, export_id: int) -> ReportExport | None:
    """Claim a queued export and generate its file; None if another attempt has it."""
    claimed = ReportExport.objects.filter(pk=export_id, status=ReportExport.Status.QUEUED).update(
        status=ReportExport.Status.RUNNING,
        started_at=timezone.now(),
        progress=5,
        stage="Reading the persisted results",
    )
    if not claimed:
        return None
    export = ReportExport.objects.select_related("study").get(pk=export_id)
    t0 = time.monotonic()
    try:
        fingerprint = report_fingerprint(
            study=export.study, include_comments=export.include_comments, language=export.language
        )
        data = report_data(
            study=export.study, include_comments=export.include_comments, language=export.language
        )
        ReportExport.objects.filter(pk=export_id).update(
            progress=30, stage=f"Writing {FILES[export.kind][0]}"
        )
        content = render_file(export.kind, data, progress=_progress(export_id, 30, 65))
    except Exception as exc:  # noqa: BLE001 - the failure must be visible on the row
        logger.exception("Report export %s failed", export_id)
        ReportExport.objects.filter(pk=export_id).update(
            status=ReportExport.Status.FAILED,
            stage="Failed",
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        export.refresh_from_db()
        return export
    ReportExport.objects.filter(pk=export_id, status=ReportExport.Status.RUNNING).update(
        status=ReportExport.Status.DONE,
        progress=100,
        stage="Done",
        content=content,
        size=len(content),
        fingerprint=fingerprint,
        stamp=data.stamp,
        generated_at=data.generated_at,
        seconds=round(time.monotonic() - t0, 2),
    )
    export.refresh_from_db()
    return export


def report_file_get(*, study: Study, kind: str, language: str = "en", include_comments=True):
    """The done export row for these options, if any."""
    return ReportExport.objects.filter(
        study=study,
        kind=kind,
        language=language,
        include_comments=include_comments,
        status=ReportExport.Status.DONE,
    ).first()
