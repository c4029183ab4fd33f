"""Celery task for invitation e-mail: thin, takes primary keys, calls one service."""

import smtplib

from celery import shared_task

from delphi.services.invitations import invitation_deliver


@shared_task(
    name="delphi.tasks.invitation_deliver",
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def invitation_deliver_task(invitation_id: int, round_id: int) -> bool:
    return invitation_deliver(invitation_id=invitation_id, round_id=round_id)
