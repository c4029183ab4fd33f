"""Celery tasks for the communications log and the sweep: thin, take primary keys."""

import logging

from celery import shared_task

from delphi.services import communications
from delphi.services.communications import MAX_ATTEMPTS, TransientSendError, backoff

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="delphi.tasks.communication_deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_ATTEMPTS,
)
def communication_deliver_task(self, communication_id: int) -> str:
    try:
        return communications.communication_deliver(communication_id=communication_id)
    except TransientSendError as exc:
        if self.request.is_eager:
            # No worker (the embedded default): the row is queued with its backoff and the
            # next sweep tries again, instead of hammering the SMTP server in a loop here.
            return "retry"
        raise self.retry(exc=exc, countdown=backoff(self.request.retries + 1))


@shared_task(name="delphi.tasks.sweep_due", acks_late=True, reject_on_worker_lost=True)
def sweep_due_task() -> str:
    from delphi.services.sweeps import sweep_due

    summary = sweep_due().summary()
    log.info("sweep: %s", summary)
    return summary
