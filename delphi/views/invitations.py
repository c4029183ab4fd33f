"""Researcher-side invitations for a round: who was invited, opened, started, submitted;
send to everyone not yet invited; re-send or revoke one panelist's link."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from delphi.access import get_study_for_user
from delphi.models import Response, Round
from delphi.services import invitations as svc
from delphi.services.communications import communications_failed_by_panelist
from panels.models import Invitation, Panelist

PER_PAGE = 100


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


def invitation_rows(*, round: Round, panelists: list[Panelist]):
    """One row per panelist given (a page of them) with the state of their link and response
    in THIS round: a link sent, or opened, before the round opened belongs to an earlier round.
    Three queries, whatever the page's size."""
    ids = [p.pk for p in panelists]
    latest: dict[int, Invitation] = {}
    sent: dict[int, object] = {}
    opened: dict[int, object] = {}
    pending: set[int] = set()
    since = round.opened_at
    for invitation in Invitation.objects.filter(panelist_id__in=ids).order_by("created_at", "id"):
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
        r.panelist_id: r for r in Response.objects.filter(round=round, panelist_id__in=ids).only(
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


def invitation_counts(*, round: Round) -> dict:
    """The whole panel's counts for the line above the list: three queries."""
    panel_id = round.study.panel_id
    invitations = Invitation.objects.none()
    if round.opened_at:
        invitations = Invitation.objects.filter(
            panelist__panel_id=panel_id, created_at__gte=round.opened_at
        )
    links = invitations.aggregate(
        invited=Count("panelist", filter=Q(sent_at__isnull=False), distinct=True),
        opened=Count("panelist", filter=Q(opened_at__isnull=False), distinct=True),
    )
    answers = Response.objects.filter(round=round).aggregate(
        started=Count("pk"),
        submitted=Count("pk", filter=Q(status=Response.Status.SUBMITTED)),
    )
    return {
        "panelists": Panelist.objects.filter(panel_id=panel_id).count(),
        "invited": links.get("invited") or 0,
        "opened": links.get("opened") or 0,
        "started": answers["started"],
        "submitted": answers["submitted"],
    }


@login_required
def round_invitations(request, study, round):
    study = get_study_for_user(request, study)
    rnd = _round(study, round)
    can_edit = study.user_role == "researcher"
    panelists = Panelist.objects.filter(panel_id=study.panel_id).select_related("contact", "group")
    q = (request.GET.get("q") or "").strip()[:100]
    group = request.GET.get("group") or ""
    groups = list(study.panel.groups.order_by("order", "name"))
    if q:
        match = Q(public_id__icontains=q) | Q(group__name__icontains=q)
        if can_edit:  # analysts see no e-mail addresses, so cannot search by them
            match |= Q(contact__email__icontains=q) | Q(contact__name__icontains=q)
        panelists = panelists.filter(match)
    if group not in {g.code for g in groups}:
        group = ""
    if group:
        panelists = panelists.filter(group__code=group)
    panelists = panelists.order_by("group__order", "public_id")
    page = Paginator(panelists, PER_PAGE).get_page(request.GET.get("page"))
    filters = {"q": q, "group": group}
    not_invited = svc.invitations_pending(round=rnd).count() if rnd.opened_at else 0
    return render(
        request,
        "delphi/invitations.html",
        {
            "study": study,
            "round": rnd,
            "rows": invitation_rows(round=rnd, panelists=list(page.object_list)),
            "page": page,
            "groups": groups,
            "filters": filters,
            "filtered": any(filters.values()),
            "query": urlencode({k: v for k, v in filters.items() if v}),
            "counts": invitation_counts(round=rnd),
            "not_invited": not_invited,
            "can_edit": can_edit,
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
