"""A panelist session: the link's token is exchanged once for a session that holds the
invitation and panelist ids. Every panelist view resolves the panelist from here only, never
from anything the browser sends in a form or a URL."""

from functools import wraps

from django.shortcuts import render
from django.utils import timezone, translation

from panels.models import Invitation, Panelist

SESSION_PANELIST = "delphi_panelist"
SESSION_INVITATION = "delphi_invitation"


def session_start(request, invitation: Invitation) -> None:
    # A new session key: whatever session the browser had (perhaps someone else's panelist
    # session on a shared device) is not carried over.
    request.session.cycle_key()
    request.session[SESSION_PANELIST] = invitation.panelist_id
    request.session[SESSION_INVITATION] = invitation.pk


def session_end(request) -> None:
    request.session.pop(SESSION_PANELIST, None)
    request.session.pop(SESSION_INVITATION, None)


def session_panelist(request) -> Panelist | None:
    """One query: the live invitation with its panelist and the panelist's study."""
    pid = request.session.get(SESSION_PANELIST)
    iid = request.session.get(SESSION_INVITATION)
    if not pid or not iid:
        return None
    invitation = (
        Invitation.objects.select_related("panelist__panel__study", "panelist__group")
        .filter(pk=iid, panelist_id=pid, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if invitation is None:
        return None
    panelist = invitation.panelist
    panelist.study = panelist.panel.study
    return panelist


def link_problem(request, *, status=404):
    """The one page for every link that does not work: it says what to do, and nothing else."""
    return render(request, "panelist/link_invalid.html", status=status)


def panelist_required(view):
    """Resolve the panelist from the session, activate their language, or show the link page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        panelist = session_panelist(request)
        if panelist is None:
            session_end(request)
            return link_problem(request, status=403)
        request.panelist = panelist
        translation.activate(panelist.language or "en")
        request.LANGUAGE_CODE = translation.get_language()
        return view(request, panelist, *args, **kwargs)

    return wrapper
