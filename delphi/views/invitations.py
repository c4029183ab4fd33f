"""Researcher-side invitations for a round: who was invited, opened, started, submitted;
send to everyone not yet invited; re-send or revoke one panelist's link."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from delphi.access import get_study_for_user
from delphi.models import Response, Round
from delphi.services import invitations as svc
from delphi.services.communications import communications_failed_by_panelist
from panels.models import Invitation, Panelist


def _round(study, round_uuid) -> Round:
    rnd = Round.objects.filter(study=study, uuid=round_uuid).first()
    if rnd is None:
        raise Http404
    rnd.study = study
    return rnd


def _panelist(study, panelist_uuid) -> Panelist:
    panelist = Panelist.objects.filter(panel_id=study.panel_id, uuid=panelist_uuid).first()
    if panelist is None:
        raise Http404
    return panelist


def invitation_rows(*, round: Round):
    """One row per panelist with the state of their link and response in THIS round: a link
    sent, or opened, before the round opened belongs to an earlier round. Four queries."""
    panelists = list(
        Panelist.objects.filter(panel_id=round.study.panel_id).select_related("contact", "group")
    )
    latest: dict[int, Invitation] = {}
    sent: dict[int, object] = {}
    opened: dict[int, object] = {}
    pending: set[int] = set()
    since = round.opened_at
    for invitation in Invitation.objects.filter(panelist__panel_id=round.study.panel_id).order_by(
        "created_at", "id"
    ):
        pk = invitation.panelist_id
        latest[pk] = invitation
        if not since or invitation.created_at < since:
            continue
        if invitation.sent_at and pk not in sent:
            sent[pk] = invitation.sent_at
        if invitation.opened_at and (pk not in opened or invitation.opened_at < opened[pk]):
            opened[pk] = invitation.opened_at
        if invitation.status == Invitation.Status.CREATED:
            pending.add(pk)
        else:
            pending.discard(pk)
    responses = {
        r.panelist_id: r for r in Response.objects.filter(round=round).only(
            "panelist_id", "status", "started_at", "submitted_at"
        )
    }  # fmt: skip
    failures = communications_failed_by_panelist(study=round.study, round=round)
    rows = []
    for panelist in panelists:
        invitation = latest.get(panelist.pk)
        rows.append(
            {
                "panelist": panelist,
                "invitation": invitation,
                "invited": sent.get(panelist.pk),
                "pending": panelist.pk in pending,
                "revoked": invitation and invitation.status == Invitation.Status.REVOKED,
                "opened": opened.get(panelist.pk),
                "response": responses.get(panelist.pk),
                "failure": failures.get(panelist.pk),
            }
        )
    return rows


@login_required
def round_invitations(request, study, round):
    study = get_study_for_user(request, study)
    rnd = _round(study, round)
    rows = invitation_rows(round=rnd)
    counts = {
        "panelists": len(rows),
        "invited": sum(1 for r in rows if r["invited"]),
        "opened": sum(1 for r in rows if r["opened"]),
        "started": sum(1 for r in rows if r["response"]),
        "submitted": sum(
            1 for r in rows if r["response"] and r["response"].status == Response.Status.SUBMITTED
        ),
    }
    not_invited = svc.invitations_pending(round=rnd).count() if rnd.opened_at else 0
    return render(
        request,
        "delphi/invitations.html",
        {
            "study": study,
            "round": rnd,
            "rows": rows,
            "counts": counts,
            "not_invited": not_invited,
            "can_edit": study.user_role == "researcher",
        },
    )


@login_required
@require_POST
def round_invitations_send(request, study, round):
    study = get_study_for_user(request, study, write=True)
    rnd = _round(study, round)
    try:
        sent = svc.invitations_send(round=rnd, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if sent:
            messages.success(request, f"{len(sent)} invitation(s) queued for sending.")
        else:
            messages.info(request, "Everyone on the panel has been invited to this round.")
    return redirect("round_invitations", study=study.uuid, round=rnd.uuid)


@login_required
@require_POST
def invitation_resend(request, study, round, panelist):
    study = get_study_for_user(request, study, write=True)
    rnd = _round(study, round)
    target = _panelist(study, panelist)
    try:
        svc.invitation_resend(round=rnd, panelist=target, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"A new link for {target.public_id} is being sent; the old one stops working."
        )
    return redirect("round_invitations", study=study.uuid, round=rnd.uuid)


@login_required
@require_POST
def invitation_revoke(request, study, round, panelist):
    study = get_study_for_user(request, study, write=True)
    rnd = _round(study, round)
    target = _panelist(study, panelist)
    if svc.invitation_revoke(panelist=target, by=request.user, study=study):
        messages.success(request, f"{target.public_id}'s link no longer works.")
    else:
        messages.info(request, f"{target.public_id} had no working link.")
    return redirect("round_invitations", study=study.uuid, round=rnd.uuid)
