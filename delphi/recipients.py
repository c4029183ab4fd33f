"""Who a round's messages go to. Reads only: reminders, custom messages and deadline notices
all ask the same questions, so they live here rather than in one of those services (which
would then import each other).
"""

from datetime import datetime

from django.db.models import Min

from delphi.models import Response, Round
from panels.models import Invitation, Panelist


def round_invited_since(*, round: Round) -> dict[int, datetime]:
    """Panelists sent a link to this round: panelist id -> when the first one was sent."""
    if not round.opened_at:
        return {}
    return dict(
        Invitation.objects.filter(
            panelist__panel_id=round.study.panel_id,
            sent_at__isnull=False,
            sent_at__gte=round.opened_at,
        )
        .values("panelist_id")
        .annotate(first=Min("sent_at"))
        .values_list("panelist_id", "first")
    )


def round_invited_ids(*, round: Round) -> set[int]:
    invited = set(round_invited_since(round=round))
    return set(
        Panelist.objects.filter(
            pk__in=invited, status=Panelist.Status.ACTIVE, unsubscribed_at__isnull=True
        ).values_list("pk", flat=True)
    )


def round_noncompleter_ids(*, round: Round, invited_before: datetime | None = None) -> set[int]:
    """Invited (before ``invited_before``, when given), active, subscribed, not submitted."""
    invited = round_invited_since(round=round)
    if invited_before is not None:
        invited = {pk: at for pk, at in invited.items() if at <= invited_before}
    submitted = set(
        Response.objects.filter(round=round, status=Response.Status.SUBMITTED).values_list(
            "panelist_id", flat=True
        )
    )
    candidates = set(invited) - submitted
    return set(
        Panelist.objects.filter(
            pk__in=candidates, status=Panelist.Status.ACTIVE, unsubscribed_at__isnull=True
        ).values_list("pk", flat=True)
    )
