"""Celery tasks of the consensus engine. Thin: load by primary key, call one service."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from delphi.consensus import services
from delphi.models import Round

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


def _backoff(retries: int) -> int:
    # 2, 4, 8, 16, 32 s: a database restart or failover is usually over within a minute.
    return min(2 ** (retries + 1), 60)


@shared_task(
    bind=True,
    name="delphi.tasks.consensus_run",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def consensus_run(self, run_id: int) -> str:
    try:
        run = services.consensus_run_execute(run_id=run_id)
    except services.RunBusy as exc:
        # A duplicate delivery while another attempt is alive: look again once that
        # attempt's heartbeat could have gone stale (it finished, or it died).
        raise self.retry(exc=exc, countdown=services.STALE_AFTER + 1)
    except services.TRANSIENT_ERRORS as exc:
        if self.request.retries >= MAX_RETRIES:
            services.consensus_run_fail(
                run_id=run_id,
                error=f"Gave up after {MAX_RETRIES + 1} attempts; the database kept failing: {exc}",
            )
            return "failed"
        logger.warning("Consensus run %s: transient error, retrying: %s", run_id, exc)
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries))
    return "skipped" if run is None else run.status


@shared_task(name="delphi.tasks.rounds_close_due")
def rounds_close_due() -> int:
    """Close every open round past its deadline (Celery beat, every few minutes).

    Idempotent: ``round_close`` is a compare-and-set, so two sweeps racing close a round once.
    """
    try:
        from delphi.services.rounds import round_close
    except ImportError:
        logger.warning("rounds_close_due: round services are not installed; nothing closed")
        return 0
    closed = 0
    due = Round.objects.filter(
        status=Round.Status.OPEN, closes_at__isnull=False, closes_at__lte=timezone.now()
    ).select_related("study")
    for rnd in due:
        try:
            round_close(round=rnd, by=None)
        except ValidationError:
            continue  # closed by hand or by another sweep meanwhile
        closed += 1
        logger.info("Closed round %s of study %s at its deadline", rnd.number, rnd.study_id)
    return closed
