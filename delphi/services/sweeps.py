"""The database sweep: what Celery beat runs every few minutes, what the embedded default's
server runs in a thread, and what ``manage.py sweep_due`` runs once by hand.

One sweep: (1) queue every reminder slot that has fallen due, (2) re-enqueue messages no worker
took and fail those a killed worker left half-sent, (3) close the open rounds past their
deadline, once their last reminder has been sent, or keep a round below quorum open one more
grace period and tell its researchers. Every step is idempotent, so sweeps may overlap or stop
halfway: the next one carries on from the rows.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from delphi.models import Communication, Membership, Round
from delphi.services.audit import audit_record
from delphi.services.communications import communications_resume
from delphi.services.reminders import reminders_queue_due

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    reminders_queued: int = 0
    reminders_sent: int = 0
    requeued: int = 0
    interrupted: int = 0
    closed: list = field(default_factory=list)
    extended: list = field(default_factory=list)
    waiting: list = field(default_factory=list)

    def summary(self) -> str:
        def n(count, one, many):
            return f"{count} {one if count == 1 else many}"

        parts = [
            "closed " + n(len(self.closed), "round", "rounds"),
            ("sent " if self.reminders_sent == self.reminders_queued else "queued ")
            + n(self.reminders_queued, "reminder", "reminders"),
        ]
        if self.extended:
            parts.append(f"kept {n(len(self.extended), 'round', 'rounds')} open (below quorum)")
        if self.waiting:
            parts.append(
                f"{n(len(self.waiting), 'round waits', 'rounds wait')} for its last reminders"
            )
        if self.requeued:
            parts.append(f"re-queued {n(self.requeued, 'message', 'messages')}")
        if self.interrupted:
            parts.append(f"{n(self.interrupted, 'message', 'messages')} interrupted mid-send")
        return ", ".join(parts)


def round_below_quorum(rnd: Round) -> bool:
    """The one quorum question the deadline sweep asks (the close confirmation's quorum)."""
    from delphi.services.lifecycle import round_quorum

    return not round_quorum(round=rnd).met


def _reminders_pending(rnd: Round) -> bool:
    return Communication.objects.filter(
        round=rnd,
        kind=Communication.Kind.REMINDER,
        status__in=[Communication.Status.QUEUED, Communication.Status.SENDING],
    ).exists()


def _quorum(rnd: Round):
    from delphi.services.lifecycle import round_quorum

    return round_quorum(round=rnd)


def _tell_researchers(rnd: Round, *, grace_until) -> None:
    emails = list(
        Membership.objects.filter(study=rnd.study, role=Membership.Role.RESEARCHER)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not emails:
        return
    context = {
        "study": rnd.study,
        "round": rnd,
        "grace_until": grace_until,
        "quorum": _quorum(rnd),
        "url": settings.SITE_URL
        + reverse("round_detail", kwargs={"study": rnd.study.uuid, "round": rnd.uuid}),
    }
    subject = " ".join(render_to_string("emails/quorum-subject.txt", context).split())
    body = render_to_string("emails/quorum-body.txt", context)
    try:
        send_mail(subject, body, None, emails)
    except Exception:
        # The extension stands and is audited; the next sweep does not retry this notice.
        log.exception("could not tell the researchers of round %s about the extension", rnd.pk)


def rounds_close_due(*, now=None, result: SweepResult | None = None) -> SweepResult:
    from delphi.services.rounds import round_close

    now = now or timezone.now()
    result = result or SweepResult()
    grace = timedelta(hours=settings.ROUND_QUORUM_GRACE_HOURS)
    due = Round.objects.filter(
        status=Round.Status.OPEN, closes_at__isnull=False, closes_at__lte=now
    ).select_related("study")
    for rnd in due:
        if _reminders_pending(rnd):
            # The last reminder slot's mail goes out before the round closes.
            result.waiting.append(rnd)
            continue
        if grace and rnd.quorum_extended_at is None and round_below_quorum(rnd):
            new_deadline = now + grace
            with transaction.atomic():
                n = Round.objects.filter(
                    pk=rnd.pk, status=Round.Status.OPEN, quorum_extended_at__isnull=True
                ).update(closes_at=new_deadline, quorum_extended_at=now)
                if n != 1:
                    continue  # another sweep did it
                audit_record(
                    study=rnd.study, verb="round.deadline_extended", round=rnd.number,
                    reason="below quorum at the deadline", old=rnd.closes_at.isoformat(),
                    new=new_deadline.isoformat(),
                )  # fmt: skip
            rnd.closes_at = new_deadline
            _tell_researchers(rnd, grace_until=new_deadline)
            result.extended.append(rnd)
            continue
        try:
            round_close(round=rnd, by=None)
        except ValidationError:
            continue  # closed by hand or by another sweep meanwhile
        log.info("Closed round %s of study %s at its deadline", rnd.number, rnd.study_id)
        result.closed.append(rnd)
    return result


def sweep_due(*, now=None) -> SweepResult:
    """One sweep. Safe to run at any time, as often as wanted, in parallel."""
    now = now or timezone.now()
    result = SweepResult()
    resumed = communications_resume(now=now)
    result.requeued, result.interrupted = resumed.requeued, resumed.interrupted
    queued = reminders_queue_due(now=now)
    result.reminders_queued = len(queued)
    # In the embedded default delivery ran in-process just now; with a worker it is queued.
    result.reminders_sent = Communication.objects.filter(
        pk__in=queued, status=Communication.Status.SENT
    ).count()
    rounds_close_due(now=now, result=result)
    return result
