"""Celery task for invitation e-mail: thin, takes primary keys, calls one service."""

import smtplib

from celery import shared_task

from delphi.services.communications import TRANSIENT_ERRORS, backoff, is_permanent
from delphi.services.invitations import invitation_deliver, invitation_delivery_failed

MAX_RETRIES = 5


@shared_task(
    bind=True,
    name="delphi.tasks.invitation_deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
)
def invitation_deliver_task(self, invitation_id: int, round_id: int) -> bool:
    try:
        return invitation_deliver(invitation_id=invitation_id, round_id=round_id)
    except (smtplib.SMTPException, *TRANSIENT_ERRORS) as exc:
        error = f"{type(exc).__name__}: {exc}"
        if is_permanent(exc) or self.request.retries >= MAX_RETRIES or self.request.is_eager:
            # Eager (no worker): nothing would retry later, so the failure shows at once and
            # the researcher can re-send.
            invitation_delivery_failed(invitation_id=invitation_id, error=error)
            return False
        raise self.retry(exc=exc, countdown=backoff(self.request.retries + 1))
