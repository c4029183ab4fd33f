"""The communications log: every message the study sends to a panelist is a Communication row.

A message is queued as a row, then delivered by a Celery task that claims the row by
compare-and-set (queued -> sending) before it sends, and records sent or failed. A redelivered
task, or a sweep re-enqueueing a row it thinks was lost, finds the row no longer queued and does
nothing: no message is sent twice. Transient SMTP errors put the row back to queued with a
backoff; a permanent refusal (a 5xx reply, a refused recipient) fails it at once, with the
reason, and the invitations page shows it against the panelist.

``communication_send`` is the entry point other parts call (custom messages, the deadline
notice, the thank-you at the end of a study).
"""

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, Min, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from delphi.models import Communication, CustomMessage, Rating, Response, Round, Study
from delphi.recipients import round_invited_ids, round_noncompleter_ids
from delphi.services.audit import audit_record
from delphi.services.invitations import invitation_expiry, unsubscribe_token
from delphi.taskqueue import task_get
from panels.models import Invitation, Panelist
from panels.tokens import token_mint

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Messages per delivery task (one mail connection, one set of lookups).
BATCH = 50
# A queued row no worker has taken after this long is enqueued again by the sweep.
PICKUP_GRACE = timedelta(minutes=10)
# A row left "sending" this long was interrupted mid-send (worker killed): it is marked failed,
# not sent again, because the message may have left.
SENDING_STALE = timedelta(minutes=30)

LINK_KINDS = {Communication.Kind.INVITATION, Communication.Kind.RESEND, Communication.Kind.REMINDER}
TRANSIENT_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    ConnectionError,
    TimeoutError,
)


class TransientSendError(Exception):
    """The message was not sent but may be on a later attempt."""


def backoff(attempts: int) -> int:
    """Seconds before attempt ``attempts + 1``: 30 s, 60 s, 2 min, 4 min, 8 min."""
    return min(30 * 2 ** max(attempts - 1, 0), 600)


def is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return not isinstance(exc, TRANSIENT_ERRORS + (smtplib.SMTPException,))


# --- queueing -------------------------------------------------------------------------------


def enqueue(communication_ids: list[int]) -> None:
    """Hand the rows to the worker once the transaction commits. A broker that is down is
    logged, not raised: the rows stay queued and the next sweep enqueues them again."""
    if not communication_ids:
        return
    ids = list(communication_ids)

    def send():
        # One task per batch: a publish per message would cost more than sending it.
        task = task_get("delphi.tasks.communication_deliver")
        for start in range(0, len(ids), BATCH):
            try:
                task.delay(ids[start : start + BATCH])
            except Exception:  # the broker, not our data: the sweep retries
                log.exception("could not enqueue %s messages; the sweep will retry", len(ids))
                return

    transaction.on_commit(send)


def communications_queue(
    *, study: Study, round: Round | None, panelists, kind: str, message: CustomMessage = None
) -> list[Communication]:
    """Create queued rows (one per panelist) in the current transaction; no sending."""
    now = timezone.now()
    rows = [
        Communication(
            study=study,
            round=round,
            panelist_id=p.pk,
            kind=kind,
            language=p.language or "en",
            message=message,
            next_attempt_at=now + PICKUP_GRACE,
        )
        for p in panelists
    ]
    return Communication.objects.bulk_create(rows)


def communication_send(
    *,
    study: Study,
    panelists,
    kind: str,
    round: Round | None = None,
    message: CustomMessage | None = None,
    by=None,
) -> list[Communication]:
    """Queue one message per panelist and enqueue their delivery after commit.

    Withdrawn and unsubscribed panelists are skipped. ``kind`` is a Communication.Kind; custom
    messages and thank-yous pass the CustomMessage holding their text.
    """
    if kind in (Communication.Kind.CUSTOM, Communication.Kind.THANKYOU) and message is None:
        raise ValueError(f"a {kind} needs its CustomMessage")
    targets = [
        p
        for p in panelists
        if p.status == Panelist.Status.ACTIVE
        and not p.unsubscribed_at
        and p.panel_id == study.panel_id
    ]
    with transaction.atomic():
        rows = communications_queue(
            study=study, round=round, panelists=targets, kind=kind, message=message
        )
        if rows:
            audit_record(
                study=study, verb=f"communication.{kind}", actor=by,
                round=round.number if round else None, count=len(rows),
            )  # fmt: skip
        enqueue([c.pk for c in rows])
    return rows


# --- delivery -------------------------------------------------------------------------------


def communication_deliver(*, communication_id: int) -> str:
    """Send one queued message. Returns "sent", "failed" or "skipped"; raises
    TransientSendError when it should be tried again after ``backoff``."""
    outcome = communications_deliver(communication_ids=[communication_id])
    if outcome.retry:
        raise TransientSendError(outcome.errors[communication_id])
    for name in ("sent", "failed"):
        if communication_id in getattr(outcome, name):
            return name
    return "skipped"


@dataclass
class Delivery:
    sent: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    retry: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)


class _Batch:
    """What a batch of messages needs from the database, loaded once for all of them."""

    def __init__(self, ids):
        # The last message sent whose "sent" record is not written yet: (pk, sent_at, link id).
        self.pending: tuple | None = None
        self.comms = {
            c.pk: c
            for c in Communication.objects.filter(pk__in=ids).select_related(
                "panelist__contact", "study", "round", "message"
            )
        }
        round_ids = {c.round_id for c in self.comms.values() if c.round_id}
        panelist_ids = {c.panelist_id for c in self.comms.values()}
        self.submitted = set(
            Response.objects.filter(
                round_id__in=round_ids,
                panelist_id__in=panelist_ids,
                status=Response.Status.SUBMITTED,
            ).values_list("round_id", "panelist_id")
        )
        reminder_rounds = {
            c.round_id for c in self.comms.values() if c.kind == Communication.Kind.REMINDER
        }
        self.totals = {}
        self.answered = {}
        for rnd in Round.objects.filter(pk__in=reminder_rounds):
            self.totals[rnd.pk] = (
                rnd.prompts.count() if rnd.kind == Round.Kind.GENERATION else rnd.items.count()
            )
        if reminder_rounds:
            answered = (
                Rating.objects.filter(
                    response__round_id__in=reminder_rounds,
                    response__panelist_id__in=panelist_ids,
                )
                .filter(Q(value__isnull=False) | Q(unable=True))
                .values_list("response__round_id", "response__panelist_id")
                .annotate(n=Count("pk"))
            )
            self.answered = {(r, p): n for r, p, n in answered}
            from delphi.models import PromptAnswer

            for r, p, n in (
                PromptAnswer.objects.filter(
                    response__round_id__in=reminder_rounds,
                    response__panelist_id__in=panelist_ids,
                )
                .exclude(text="")
                .values_list("response__round_id", "response__panelist_id")
                .annotate(n=Count("pk"))
            ):
                self.answered[(r, p)] = self.answered.get((r, p), 0) + n

    def mint_links(self) -> None:
        """One personal link per queued message that carries one, in one INSERT. The raw
        tokens live only in this process until they are mailed."""
        now = timezone.now()
        wanted = [
            c
            for c in self.comms.values()
            if c.status == Communication.Status.QUEUED and _carries_link(c)
        ]
        minted = [token_mint() for _ in wanted]
        invitations = Invitation.objects.bulk_create(
            [
                Invitation(
                    panelist_id=c.panelist_id,
                    token_hash=hashed,
                    status=Invitation.Status.SENT,
                    sent_at=now,
                    expires_at=invitation_expiry(study=c.study, now=now),
                    send_count=1,
                )
                for c, (_raw, hashed) in zip(wanted, minted, strict=True)
            ]
        )
        self.links = {
            c.pk: (invitation, raw)
            for c, invitation, (raw, _hashed) in zip(wanted, invitations, minted, strict=True)
        }
        self.used: set[int] = set()

    def take_link(self, comm):
        self.used.add(comm.pk)
        return self.links.get(comm.pk, (None, None))

    def unused_links(self) -> list[int]:
        return [inv.pk for pk, (inv, _raw) in self.links.items() if pk not in self.used]

    def remaining(self, comm) -> tuple[int, int]:
        total = self.totals.get(comm.round_id, 0)
        done = self.answered.get((comm.round_id, comm.panelist_id), 0)
        return max(total - done, 0), total


def communications_deliver(*, communication_ids) -> Delivery:
    """Send a batch of queued messages over one mail connection.

    Each row is claimed by compare-and-set just before its own message goes out, so a worker
    killed mid-batch leaves at most one row in doubt ("sending"), and a duplicate delivery of
    the batch sends nothing twice. A sent message is recorded in the same round trip as the
    next row's claim (or at the end of the batch): one statement per message, and still at
    most one row in doubt.
    """
    outcome = Delivery()
    batch = _Batch(communication_ids)
    batch.mint_links()
    connection = get_connection()
    try:
        for pk in communication_ids:
            comm = batch.comms.get(pk)
            if comm is None:
                outcome.skipped.append(pk)
                continue
            _deliver_one(comm, batch, connection, outcome)
    finally:
        try:
            _record_sent(batch)
        finally:
            # Links minted for rows that were not sent never reached anyone.
            if batch.unused_links():
                Invitation.objects.filter(pk__in=batch.unused_links()).delete()
            try:
                connection.close()
            except Exception:  # closing a dropped SMTP connection
                log.debug("mail connection close failed", exc_info=True)
    return outcome


def _sql_table() -> str:
    return db_connection.ops.quote_name(Communication._meta.db_table)


def _sent_sql(table: str) -> str:
    return (
        f"UPDATE {table} SET status = %s, sent_at = %s, invitation_id = %s, "  # noqa: S608
        "error = '', next_attempt_at = NULL WHERE id = %s"
    )


def _sent_params(pending) -> list:
    pk, sent_at, invitation_id = pending
    at = db_connection.ops.adapt_datetimefield_value(sent_at)
    return [Communication.Status.SENT, at, invitation_id, pk]


def _claim(comm: Communication, batch: _Batch) -> bool:
    """queued -> sending by compare-and-set; True if this worker now owns the row.

    Plain SQL: this runs once per message. On PostgreSQL the previous message's "sent" record
    rides in the same statement (a data-modifying CTE on another row, always carried out).
    """
    table = _sql_table()
    stale = db_connection.ops.adapt_datetimefield_value(timezone.now() + SENDING_STALE)
    # While sending, next_attempt_at is the time after which the row counts as interrupted.
    claim = (
        f"UPDATE {table} SET status = %s, attempts = attempts + 1, "  # noqa: S608
        "next_attempt_at = %s WHERE id = %s AND status = %s"
    )
    params = [Communication.Status.SENDING, stale, comm.pk, Communication.Status.QUEUED]
    pending = batch.pending
    with db_connection.cursor() as cursor:
        if pending is not None and db_connection.vendor == "postgresql":
            cursor.execute(
                f"WITH done AS ({_sent_sql(table)}) {claim}", _sent_params(pending) + params
            )
        else:
            if pending is not None:
                cursor.execute(_sent_sql(table), _sent_params(pending))
            cursor.execute(claim, params)
        batch.pending = None
        return cursor.rowcount == 1


def _record_sent(batch: _Batch) -> None:
    """Write the batch's last "sent" record, the one no later claim carried."""
    if batch.pending is not None:
        with db_connection.cursor() as cursor:
            cursor.execute(_sent_sql(_sql_table()), _sent_params(batch.pending))
        batch.pending = None


def _deliver_one(comm, batch: _Batch, connection, outcome: Delivery) -> None:
    if not _claim(comm, batch):
        outcome.skipped.append(comm.pk)  # sent, failed or being sent by another worker
        return
    comm.attempts += 1
    reason = _undeliverable(comm, batch)
    if reason:
        _mark_failed(comm, reason)
        outcome.failed.append(comm.pk)
        return
    invitation, raw = batch.take_link(comm) if _carries_link(comm) else (None, None)
    try:
        _mail(comm, raw=raw, batch=batch, connection=connection)
    except Exception as exc:
        if invitation is not None:
            invitation.delete()  # the token never reached anyone
        error = f"{type(exc).__name__}: {exc}"[:300]
        outcome.errors[comm.pk] = error
        if is_permanent(exc) or comm.attempts >= MAX_ATTEMPTS:
            if not is_permanent(exc):
                error = f"gave up after {comm.attempts} attempts: {error}"[:300]
            _mark_failed(comm, error)
            outcome.failed.append(comm.pk)
            return
        Communication.objects.filter(pk=comm.pk, status=Communication.Status.SENDING).update(
            status=Communication.Status.QUEUED,
            error=error,
            next_attempt_at=timezone.now() + timedelta(seconds=backoff(comm.attempts)),
        )
        outcome.retry.append(comm.pk)
        return
    batch.pending = (comm.pk, timezone.now(), invitation.pk if invitation else None)
    outcome.sent.append(comm.pk)
    if comm.kind == Communication.Kind.RESEND and invitation is not None:
        _record_sent(batch)  # the new link is on record before the old ones stop working
        Invitation.objects.filter(panelist=comm.panelist).exclude(pk=invitation.pk).exclude(
            status=Invitation.Status.REVOKED
        ).update(status=Invitation.Status.REVOKED, revoked_at=timezone.now())


def _carries_link(comm: Communication) -> bool:
    if comm.kind in LINK_KINDS:
        return True
    open_round = comm.round is not None and comm.round.status == Round.Status.OPEN
    if comm.kind == Communication.Kind.DEADLINE:
        return open_round
    return comm.kind == Communication.Kind.CUSTOM and comm.message.with_link and open_round


def _undeliverable(comm: Communication, batch: _Batch) -> str:
    panelist = comm.panelist
    if panelist.status != Panelist.Status.ACTIVE:
        return "not sent: the panelist withdrew"
    if panelist.unsubscribed_at:
        return "not sent: the panelist unsubscribed from e-mail"
    if not getattr(panelist, "contact", None) or not panelist.contact.email:
        return "not sent: no e-mail address"
    if comm.kind == Communication.Kind.REMINDER:
        rnd = comm.round
        if rnd is None or rnd.status != Round.Status.OPEN:
            return "not sent: the round is no longer open"
        if (comm.round_id, comm.panelist_id) in batch.submitted:
            return "not sent: the panelist submitted meanwhile"
    return ""


def _mark_failed(comm: Communication, error: str) -> None:
    Communication.objects.filter(pk=comm.pk).update(
        status=Communication.Status.FAILED,
        failed_at=timezone.now(),
        error=error[:300],
        next_attempt_at=None,
    )


TEMPLATES = {
    Communication.Kind.INVITATION: "invitation",
    Communication.Kind.RESEND: "invitation",
    Communication.Kind.REMINDER: "reminder",
    Communication.Kind.DEADLINE: "deadline",
    Communication.Kind.CUSTOM: "custom",
    Communication.Kind.THANKYOU: "custom",
}


def _mail(comm: Communication, *, raw: str | None, batch: _Batch, connection) -> None:
    panelist, study, rnd = comm.panelist, comm.study, comm.round
    unsubscribe = settings.SITE_URL + reverse(
        "panelist:unsubscribe", args=[unsubscribe_token(panelist)]
    )
    language = panelist.language or comm.language or "en"
    context = {
        "study": study,
        "round": rnd,
        "link": settings.SITE_URL + reverse("panelist:token", args=[raw]) if raw else "",
        "unsubscribe_url": unsubscribe,
        "contact_email": study.contact_email,
        "closes_at": rnd.closes_at if rnd else None,
        "name": panelist.contact.name,
    }
    if comm.kind == Communication.Kind.REMINDER:
        context["remaining"], context["total"] = batch.remaining(comm)
    template = TEMPLATES[comm.kind]
    with translation.override(language):
        if comm.message_id:
            msg = comm.message
            spanish = language == "es" and msg.subject_es and msg.body_es
            context["message_subject"] = msg.subject_es if spanish else msg.subject
            context["message_body"] = msg.body_es if spanish else msg.body
        subject = " ".join(render_to_string(f"emails/{template}-subject.txt", context).split())
        body = render_to_string(f"emails/{template}-body.txt", context)
        html = render_to_string(f"emails/{template}-body.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        to=[panelist.contact.email],
        connection=connection,
        headers={
            # RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click".
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    message.panelist_public_ids = [panelist.public_id]  # for the console backend's summary line
    message.send()


# --- the sweep's part: resume what stopped ---------------------------------------------------


@dataclass
class Resumed:
    requeued: int = 0
    interrupted: int = 0


def communications_resume(*, now=None) -> Resumed:
    """Enqueue again the queued rows no worker took (lost enqueue, broker down, a transient
    error's backoff over), and fail the rows a killed worker left half-sent."""
    now = now or timezone.now()
    n_interrupted = Communication.objects.filter(
        status=Communication.Status.SENDING, next_attempt_at__lte=now
    ).update(
        status=Communication.Status.FAILED,
        failed_at=now,
        error="interrupted while sending; not sent again in case it had left",
        next_attempt_at=None,
    )
    due = list(
        Communication.objects.filter(
            status=Communication.Status.QUEUED, next_attempt_at__lte=now
        ).values_list("pk", flat=True)[:5000]
    )
    if due:
        # Push the next look far enough ahead that the next sweep does not enqueue them again
        # while the worker is still working through this batch.
        Communication.objects.filter(pk__in=due, status=Communication.Status.QUEUED).update(
            next_attempt_at=now + PICKUP_GRACE
        )
        with transaction.atomic():
            enqueue(due)
    return Resumed(requeued=len(due), interrupted=n_interrupted)


# --- visits ---------------------------------------------------------------------------------


def communications_mark_visit(*, panelist_id: int, at=None) -> int:
    """The panelist followed a link: the first visit after every message sent before it."""
    at = at or timezone.now()
    return Communication.objects.filter(
        panelist_id=panelist_id,
        status=Communication.Status.SENT,
        sent_at__lte=at,
        first_visit_at__isnull=True,
    ).update(first_visit_at=at)


# --- reading the log ------------------------------------------------------------------------


def communications_summary(*, round: Round) -> list[dict]:
    """Per kind, for the round page: sent, failed, still sending, opened afterwards (a link
    visit after the message), submitted afterwards. Two queries."""
    submitted = dict(
        Response.objects.filter(round=round, status=Response.Status.SUBMITTED).values_list(
            "panelist_id", "submitted_at"
        )
    )
    labels = dict(Communication.Kind.choices)
    by_kind: dict[str, dict] = {}
    for kind, status, panelist_id, sent_at, visit in Communication.objects.filter(
        round=round
    ).values_list("kind", "status", "panelist_id", "sent_at", "first_visit_at"):
        row = by_kind.setdefault(
            kind,
            {"kind": kind, "label": labels.get(kind, kind), "sent": 0, "failed": 0,
             "queued": 0, "opened": 0, "submitted_after": 0},
        )  # fmt: skip
        if status == Communication.Status.SENT:
            row["sent"] += 1
            row["opened"] += visit is not None
            done = submitted.get(panelist_id)
            row["submitted_after"] += bool(done and done > sent_at)
        elif status == Communication.Status.FAILED:
            row["failed"] += 1
        else:
            row["queued"] += 1
    order = list(Communication.Kind.values)
    return sorted(by_kind.values(), key=lambda r: order.index(r["kind"]))


def communications_failed_by_panelist(*, study: Study, round: Round | None = None) -> dict:
    """The latest permanent failure per panelist (for the invitations page)."""
    qs = Communication.objects.filter(study=study, status=Communication.Status.FAILED)
    if round is not None:
        qs = qs.filter(Q(round=round) | Q(round__isnull=True))
    latest = {}
    for comm in qs.order_by("failed_at", "pk").only("panelist_id", "kind", "error", "failed_at"):
        latest[comm.panelist_id] = comm
    return latest


def communications_first_sent(*, round: Round) -> dict:
    return dict(
        Communication.objects.filter(round=round, status=Communication.Status.SENT)
        .values("panelist_id")
        .annotate(first=Min("sent_at"))
        .values_list("panelist_id", "first")
    )


# --- custom messages ------------------------------------------------------------------------


def custom_message_send(
    *,
    round: Round,
    by,
    audience: str,
    subject: str,
    body: str,
    subject_es: str = "",
    body_es: str = "",
    group=None,
) -> list[Communication]:
    """A message the researcher wrote, to the round's non-completers, one stakeholder group or
    everyone invited to the round."""
    subject, body = (subject or "").strip(), (body or "").strip()
    subject_es, body_es = (subject_es or "").strip(), (body_es or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = "Write a subject."
    if not body:
        errors["body"] = "Write the message."
    if bool(subject_es) != bool(body_es):
        errors["body_es" if subject_es else "subject_es"] = (
            "Give both the Spanish subject and body, or neither (Spanish-speaking panelists "
            "then get the English text)."
        )
    if audience not in CustomMessage.Audience.values:
        errors["audience"] = "Choose who gets the message."
    elif audience == CustomMessage.Audience.GROUP and group is None:
        errors["group"] = "Choose the stakeholder group."
    if errors:
        raise ValidationError(errors)
    if round.status != Round.Status.OPEN and audience == CustomMessage.Audience.NONCOMPLETERS:
        raise ValidationError("The round is not open: there is nobody left to complete it.")
    if audience == CustomMessage.Audience.NONCOMPLETERS:
        ids = round_noncompleter_ids(round=round)
    else:
        ids = round_invited_ids(round=round)
    panelists = Panelist.objects.filter(pk__in=ids)
    if audience == CustomMessage.Audience.GROUP:
        panelists = panelists.filter(group=group)
    panelists = list(panelists)
    if not panelists:
        raise ValidationError("Nobody matches: no message was sent.")
    with transaction.atomic():
        message = CustomMessage.objects.create(
            study=round.study,
            round=round,
            audience=audience,
            group=group if audience == CustomMessage.Audience.GROUP else None,
            subject=subject,
            body=body,
            subject_es=subject_es,
            body_es=body_es,
            created_by=by,
        )
        return communication_send(
            study=round.study,
            round=round,
            panelists=panelists,
            kind=Communication.Kind.CUSTOM,
            message=message,
            by=by,
        )
