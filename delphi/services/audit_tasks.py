"""The periodic sweep that chains audit rows written by the autosave hot path."""

from celery import shared_task


@shared_task(name="delphi.tasks.audit_seal_due", ignore_result=True)
def audit_seal_due_task() -> int:
    from delphi.services.audit import audit_seal_due

    return audit_seal_due()
