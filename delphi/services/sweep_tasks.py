"""The periodic tasks beside the service they call (``delphi.services.sweeps``). Thin: each
calls one service. Beat runs ``sweep_due`` every ``SWEEP_SECONDS``."""

import logging

from celery import shared_task

from delphi.services.sweeps import rounds_close_due as close_due
from delphi.services.sweeps import sweep_due

log = logging.getLogger(__name__)


@shared_task(name="delphi.tasks.sweep_due", acks_late=True, reject_on_worker_lost=True)
def sweep_due_task() -> str:
    summary = sweep_due().summary()
    log.info("sweep: %s", summary)
    return summary


@shared_task(name="delphi.tasks.rounds_close_due")
def rounds_close_due() -> int:
    """Close every open round past its deadline. Kept for queued messages of older releases:
    beat now runs ``delphi.tasks.sweep_due``, which does this after sending due reminders."""
    return len(close_due().closed)
