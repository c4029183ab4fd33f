"""Invitations: personal links for panelists, sent by e-mail through a Celery task.

One live link per panelist. A link is minted only by the task that mails it, so the raw token
never travels through the broker and never sits in the database: the row is created with an
unusable placeholder hash, and the task swaps in the real hash by compare-and-set (created ->
sent) just before it sends. Delivering a new link revokes the panelist's earlier ones.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from delphi.models import Communication, Round, Study
from delphi.services.audit import audit_record
from delphi.taskqueue import task_enqueue
from panels.models import Invitation, Panelist
from panels.tokens import token_mint, token_unusable_hash

log = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "delphi.unsubscribe"


def invitation_expiry(*, study: Study, now=None):
    now = now or timezone.now()
    expires = now + timedelta(days=settings.PANELIST_TOKEN_DAYS)
    if study.ends_at and study.ends_at < expires:
        expires = study.ends_at
    return expires


def unsubscribe_token(panelist: Panelist) -> str:
    # Signed, not stored: it must keep working after the link in the same e-mail is replaced.
    return signing.dumps(str(panelist.uuid), salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_panelist_uuid(token: str) -> str | None:
    try:
        return signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None


def _check_round_can_invite(rnd: Round) -> None:
    if rnd.status != Round.Status.OPEN:
        raise ValidationError("Invitations can be sent only while the round is open.")
    if invitation_expiry(study=rnd.study) <= timezone.now():
        raise ValidationError(
            "The study's end date has passed, so a new link would already be expired. "
            "Move the end date first."
        )


def _enqueue(invitation_ids: list[int], round_id: int) -> None:
    for pk in invitation_ids:
        task_enqueue("delphi.tasks.invitation_deliver", pk, round_id)


def _log(invitations: list[Invitation], *, round: Round, kind: str) -> None:
    """One communications-log row per invitation, updated as the task sends it."""
    languages = dict(
        Panelist.objects.filter(pk__in=[i.panelist_id for i in invitations]).values_list(
            "pk", "language"
        )
    )
    Communication.objects.bulk_create(
        [
            Communication(
                study_id=round.study_id,
                round=round,
                panelist_id=i.panelist_id,
                kind=kind,
                language=languages.get(i.panelist_id) or "en",
                invitation=i,
                # Sent by the invitation task, which has its own retries: the sweep leaves it.
                status=Communication.Status.SENDING,
            )
            for i in invitations
        ]
    )


def invitations_pending(*, round: Round):
    """Active panelists who have not been sent a link since this round opened."""
    since = round.opened_at or timezone.now()
    return (
        Panelist.objects.filter(panel_id=round.study.panel_id, status=Panelist.Status.ACTIVE)
        .filter(unsubscribed_at__isnull=True)
        .exclude(invitations__created_at__gte=since)
    )


def invitations_send(*, round: Round, by, panelists=None) -> list[Invitation]:
    """Create and enqueue invitations for everyone not yet invited to this round (or the
    given panelists). Withdrawn and unsubscribed panelists get nothing."""
    _check_round_can_invite(round)
    targets = invitations_pending(round=round)
    if panelists is not None:
        targets = targets.filter(pk__in=[p.pk for p in panelists])
    expires = invitation_expiry(study=round.study)
    with transaction.atomic():
        invitations = Invitation.objects.bulk_create(
            [
                Invitation(panelist_id=pk, token_hash=token_unusable_hash(), expires_at=expires)
                for pk in targets.values_list("pk", flat=True)
            ]
        )
        _log(invitations, round=round, kind=Communication.Kind.INVITATION)
        if invitations:
            audit_record(
                study=round.study, verb="invitations.send", actor=by, round=round.number,
                count=len(invitations),
            )  # fmt: skip
        # bulk_create returns primary keys on PostgreSQL and SQLite 3.35+.
        _enqueue([i.pk for i in invitations], round.pk)
    return invitations


def invitation_resend(*, round: Round, panelist: Panelist, by) -> Invitation:
    """A fresh link for one panelist (it revokes the old one once it is sent)."""
    _check_round_can_invite(round)
    if panelist.panel_id != round.study.panel_id:
        raise ValidationError("This panelist is not on this study's panel.")
    if panelist.status != Panelist.Status.ACTIVE:
        raise ValidationError("This panelist has withdrawn; they get no more e-mail.")
    if panelist.unsubscribed_at:
        raise ValidationError("This panelist unsubscribed from e-mail; contact them another way.")
    with transaction.atomic():
        invitation = Invitation.objects.create(
            panelist=panelist,
            token_hash=token_unusable_hash(),
            expires_at=invitation_expiry(study=round.study),
        )
        _log([invitation], round=round, kind=Communication.Kind.RESEND)
        audit_record(
            study=round.study, verb="invitation.resend", actor=by, panelist=panelist,
            round=round.number,
        )  # fmt: skip
        _enqueue([invitation.pk], round.pk)
    return invitation


def invitation_revoke(*, panelist: Panelist, by, study: Study) -> int:
    """Revoke every live link of a panelist. Idempotent: returns how many were revoked."""
    if panelist.panel_id != study.panel_id:
        raise ValidationError("This panelist is not on this study's panel.")
    count = (
        Invitation.objects.filter(panelist=panelist)
        .exclude(status=Invitation.Status.REVOKED)
        .update(status=Invitation.Status.REVOKED, revoked_at=timezone.now())
    )
    if count:
        audit_record(study=study, verb="invitation.revoke", actor=by, panelist=panelist)
    return count


def invitation_deliver(*, invitation_id: int, round_id: int) -> bool:
    """Mint the link, mail it, revoke older links. Returns False when there was nothing to do
    (already sent, revoked, or the panelist withdrew meanwhile): a duplicate task is harmless."""
    invitation = (
        Invitation.objects.select_related("panelist__contact", "panelist__panel__study")
        .filter(pk=invitation_id)
        .first()
    )
    rnd = Round.objects.filter(pk=round_id).first()
    if invitation is None or rnd is None or invitation.status != Invitation.Status.CREATED:
        return False
    panelist = invitation.panelist
    log_row = Communication.objects.filter(
        invitation=invitation, status=Communication.Status.SENDING
    )
    if panelist.status != Panelist.Status.ACTIVE or panelist.unsubscribed_at:
        log_row.update(
            status=Communication.Status.FAILED,
            failed_at=timezone.now(),
            error="not sent: the panelist withdrew or unsubscribed",
        )
        return False
    raw, hashed = token_mint()
    now = timezone.now()
    claimed = Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.CREATED).update(
        status=Invitation.Status.SENT,
        token_hash=hashed,
        sent_at=now,
        send_count=F("send_count") + 1,
    )
    if claimed != 1:
        return False  # another worker took it
    try:
        _mail(panelist=panelist, rnd=rnd, raw=raw)
    except Exception as exc:
        # Back to "created" with an unusable hash: the token we minted was never seen by anyone.
        Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SENT).update(
            status=Invitation.Status.CREATED,
            token_hash=token_unusable_hash(),
            sent_at=None,
            last_error=f"{type(exc).__name__}: {exc}"[:300],
        )
        log_row.update(attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:300])
        raise
    Invitation.objects.filter(panelist=panelist).exclude(pk=invitation.pk).filter(
        ~Q(status=Invitation.Status.REVOKED)
    ).update(status=Invitation.Status.REVOKED, revoked_at=now)
    Invitation.objects.filter(pk=invitation.pk).update(last_error="")
    log_row.update(
        status=Communication.Status.SENT, sent_at=now, attempts=F("attempts") + 1, error=""
    )
    return True


def invitation_delivery_failed(*, invitation_id: int, error: str) -> None:
    """The invitation task gave up (a permanent refusal or its last retry): shown against the
    panelist on the invitations page."""
    Invitation.objects.filter(pk=invitation_id).update(last_error=error[:300])
    Communication.objects.filter(
        invitation_id=invitation_id, status=Communication.Status.SENDING
    ).update(status=Communication.Status.FAILED, failed_at=timezone.now(), error=error[:300])


def _mail(*, panelist: Panelist, rnd: Round, raw: str) -> None:
    study = rnd.study
    link = settings.SITE_URL + reverse("panelist:token", args=[raw])
    unsubscribe = settings.SITE_URL + reverse(
        "panelist:unsubscribe", args=[unsubscribe_token(panelist)]
    )
    with translation.override(panelist.language or "en"):
        context = {
            "study": study,
            "round": rnd,
            "link": link,
            "unsubscribe_url": unsubscribe,
            "contact_email": study.contact_email,
            "closes_at": rnd.closes_at,
            "name": getattr(getattr(panelist, "contact", None), "name", ""),
        }
        subject = " ".join(render_to_string("emails/invitation-subject.txt", context).split())
        body = render_to_string("emails/invitation-body.txt", context)
        html = render_to_string("emails/invitation-body.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        to=[panelist.contact.email],
        headers={
            # RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click".
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    message.send()


def invitation_issue_link(*, panelist: Panelist, by=None) -> str:
    """A new link handed over by hand (the support desk, the demo), not by e-mail: mints it,
    revokes the panelist's older links and returns the URL. Audited."""
    study = Study.objects.filter(panel_id=panelist.panel_id).first()
    if study is None:
        raise ValidationError("This panelist's panel belongs to no study.")
    if panelist.status != Panelist.Status.ACTIVE:
        raise ValidationError("This panelist has withdrawn.")
    raw, hashed = token_mint()
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(panelist=panelist).exclude(
            status=Invitation.Status.REVOKED
        ).update(status=Invitation.Status.REVOKED, revoked_at=now)
        Invitation.objects.create(
            panelist=panelist,
            token_hash=hashed,
            status=Invitation.Status.SENT,
            sent_at=now,
            expires_at=invitation_expiry(study=study, now=now),
        )
        audit_record(study=study, verb="invitation.issue_by_hand", actor=by, panelist=panelist)
    return settings.SITE_URL + reverse("panelist:token", args=[raw])


def panelist_unsubscribe(*, token: str) -> Panelist | None:
    """Stop e-mail for the panelist the signed token names. Idempotent; not a withdrawal."""
    panelist_uuid = unsubscribe_panelist_uuid(token)
    if not panelist_uuid:
        return None
    panelist = Panelist.objects.filter(uuid=panelist_uuid).first()
    if panelist is None:
        return None
    if Panelist.objects.filter(pk=panelist.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=timezone.now()
    ):
        study = Study.objects.filter(panel_id=panelist.panel_id).first()
        if study:
            audit_record(study=study, verb="panelist.unsubscribe", panelist=panelist)
    return panelist
