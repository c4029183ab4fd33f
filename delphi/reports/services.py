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


def _needs_work(export: ReportExport, created: bool, fingerprint: str) -> bool:
    if export.status == ReportExport.Status.DONE and export.fingerprint == fingerprint:
        return False
    return created or not _live(export)


def _queue(export: ReportExport) -> None:
    ReportExport.objects.filter(pk=export.pk).update(
        status=ReportExport.Status.QUEUED,
        progress=0,
        stage="Waiting for the worker",
        error="",
        queued_at=timezone.now(),
        started_at=None,
    )


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
    if not _needs_work(export, created, fingerprint):
        return export
    _queue(export)
    audit_record(study=study, verb="report_export_request", actor=by, kind=kind)
    task_enqueue("delphi.tasks.report_export", export.pk)
    export.refresh_from_db()
    return export


def report_exports_request_all(
    *, study: Study, language: str = "en", include_comments: bool = True, by=None
) -> list[ReportExport]:
    """Every file: the cached ones stay; the others are queued as ONE task, which reads the
    study once and writes them all (the read of every rating is most of a file's cost)."""
    fingerprint = report_fingerprint(
        study=study, include_comments=include_comments, language=language
    )
    exports, queued = [], []
    for kind in FILES:
        export, created = ReportExport.objects.get_or_create(
            study=study, kind=kind, language=language, include_comments=include_comments
        )
        if _needs_work(export, created, fingerprint):
            _queue(export)
            queued.append(export.pk)
        exports.append(export)
    if queued:
        audit_record(study=study, verb="report_export_request", actor=by, kind="all")
        task_enqueue("delphi.tasks.report_exports", queued)
    for export in exports:
        export.refresh_from_db()
    return exports


def _progress(export_id: int, start: int, span: int):
    def report(percent: int) -> None:
        ReportExport.objects.filter(pk=export_id, status=ReportExport.Status.RUNNING).update(
            progress=min(99, start + span * percent // 100)
        )

    return report


def _claim(export_id: int) -> bool:
    return bool(
        ReportExport.objects.filter(pk=export_id, status=ReportExport.Status.QUEUED).update(
            status=ReportExport.Status.RUNNING,
            started_at=timezone.now(),
            progress=5,
            stage="Reading the persisted results",
        )
    )


def _fail(export_id: int, exc: Exception) -> None:
    logger.exception("Report export %s failed", export_id)
    ReportExport.objects.filter(pk=export_id).update(
        status=ReportExport.Status.FAILED,
        stage="Failed",
        error=f"{type(exc).__name__}: {exc}"[:2000],
    )


def _write(export: ReportExport, data, fingerprint: str, read_s: float) -> None:
    """Render one claimed export from ``data`` and store it (or record the failure).

    ``seconds`` on the row: the shared read plus this file's own writing."""
    t0 = time.monotonic()
    try:
        ReportExport.objects.filter(pk=export.pk).update(
            progress=30, stage=f"Writing {FILES[export.kind][0]}"
        )
        content = render_file(export.kind, data, progress=_progress(export.pk, 30, 65))
    except Exception as exc:  # noqa: BLE001 - the failure must be visible on the row
        _fail(export.pk, exc)
        return
    ReportExport.objects.filter(pk=export.pk, status=ReportExport.Status.RUNNING).update(
        status=ReportExport.Status.DONE,
        progress=100,
        stage="Done",
        content=content,
        size=len(content),
        fingerprint=fingerprint,
        stamp=data.stamp,
        generated_at=data.generated_at,
        seconds=round(read_s + time.monotonic() - t0, 2),
    )


def report_exports_execute(*, export_ids: list[int]) -> list[ReportExport]:
    """Claim each queued export (compare-and-set) and write every claimed file from one read
    of the study. Exports another attempt holds are skipped; [] if none was claimed."""
    claimed = [pk for pk in export_ids if _claim(pk)]
    if not claimed:
        return []
    exports = list(ReportExport.objects.select_related("study").filter(pk__in=claimed))
    # One row's options apply to all: request_all queues the kinds of one study x language x
    # comments choice.
    first = exports[0]
    t0 = time.monotonic()
    try:
        fingerprint = report_fingerprint(
            study=first.study, include_comments=first.include_comments, language=first.language
        )
        data = report_data(
            study=first.study, include_comments=first.include_comments, language=first.language
        )
    except Exception as exc:  # noqa: BLE001
        for export in exports:
            _fail(export.pk, exc)
    else:
        read_s = time.monotonic() - t0
        order = list(FILES)
        for export in sorted(exports, key=lambda e: order.index(e.kind)):
            _write(export, data, fingerprint, read_s)
    for export in exports:
        export.refresh_from_db()
    return exports


def report_export_execute(*, export_id: int) -> ReportExport | None:
    """Claim a queued export and generate its file; None if another attempt has it."""
    exports = report_exports_execute(export_ids=[export_id])
    return exports[0] if exports else None


def report_file_get(*, study: Study, kind: str, language: str = "en", include_comments=True):
    """The done export row for these options, if any."""
    return ReportExport.objects.filter(
        study=study,
        kind=kind,
        language=language,
        include_comments=include_comments,
        status=ReportExport.Status.DONE,
    ).first()
