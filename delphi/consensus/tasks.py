"""Celery tasks of the consensus engine. Thin: load by primary key, call one service."""

import logging

from celery import shared_task
from django.conf import settings

from delphi.consensus import services
from delphi.participation import round_attrition_check

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
    if run is not None and run.status == "done":
        _warm_attrition_check(run)
    return "skipped" if run is None else run.status


def _warm_attrition_check(run) -> None:
    """The participation page's attrition check reads the previous round's every rating; the
    worker computes it now, after the run, so the page finds it in the (shared) cache. A
    failure here is logged and costs only that wait on the page."""
    try:
        round_attrition_check(round=run.round)
    except Exception:
        logger.exception("attrition check after consensus run %s", run.pk)
