"""Celery tasks for the communications log and the sweep: thin, take primary keys."""

import logging

from celery import shared_task

from delphi.services import communications
from delphi.services.communications import MAX_ATTEMPTS, backoff

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="delphi.tasks.communication_deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_ATTEMPTS,
)
def communication_deliver_task(self, communication_ids) -> dict:
    if isinstance(communication_ids, int):
        communication_ids = [communication_ids]
    outcome = communications.communications_deliver(communication_ids=communication_ids)
    counts = {k: len(getattr(outcome, k)) for k in ("sent", "failed", "retry", "skipped")}
    if outcome.retry and not self.request.is_eager:
        # Only the rows still queued are retried; the rest of the batch is done. Without a
        # worker (the embedded default) the next sweep picks them up after their backoff,
        # instead of this call hammering the SMTP server in a loop.
        attempt = self.request.retries + 1
        if attempt <= MAX_ATTEMPTS:
            raise self.retry(args=[outcome.retry], countdown=backoff(attempt))
    return counts
