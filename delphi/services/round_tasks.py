"""The periodic task that closes rounds past their deadline, beside the service it calls
(``delphi.services.sweeps``). Thin: it calls one service."""

from celery import shared_task

from delphi.services.sweeps import rounds_close_due as close_due


@shared_task(name="delphi.tasks.rounds_close_due")
def rounds_close_due() -> int:
    """Close every open round past its deadline. Kept for queued messages of older releases:
    beat now runs ``delphi.tasks.sweep_due``, which does this after sending due reminders."""
    return len(close_due().closed)
