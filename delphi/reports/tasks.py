"""The report-export task. Thin: load by primary key, call one service."""

from celery import shared_task
from django.conf import settings

from delphi.reports import services


@shared_task(
    name="delphi.tasks.report_export",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def report_export(export_id: int) -> str:
    export = services.report_export_execute(export_id=export_id)
    return "skipped" if export is None else export.status


@shared_task(
    name="delphi.tasks.report_exports",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def report_exports(export_ids: list[int]) -> list[str]:
    """Several files of one study from one read (the Downloads page's "all three")."""
    return [e.status for e in services.report_exports_execute(export_ids=export_ids)]
