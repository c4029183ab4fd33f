"""A moved deadline is a logged change (audited with the old and new time) and can notify the
round's non-completers; plus the round form's reminder fields."""

from django.db import transaction

from delphi.models import Communication, Round
from delphi.recipients import round_noncompleter_ids
from delphi.services.audit import audit_record
from delphi.services.communications import communication_send
from delphi.services.reminders import plan_as_text
from panels.models import Panelist


def reminder_fields_pop(data: dict) -> list[dict]:
    """Take the reminder fields out of the round form's cleaned data; returns the plan."""
    for name in ("remind_after_open", "remind_before_deadline"):
        data.pop(name, None)
    return data.pop("reminder_plan", [])


def reminder_initial(rnd: Round) -> dict:
    after, before = plan_as_text(rnd.reminder_plan)
    return {"remind_after_open": after, "remind_before_deadline": before}


def _minute(value):
    return value.replace(second=0, microsecond=0) if value else None


def round_deadline_changed(*, round: Round, old, by, notify: bool) -> int:
    """Record a deadline move of an open round and, when asked, tell its non-completers.
    Returns how many messages were queued. Does nothing when the deadline did not move."""
    current = Round.objects.select_related("study").get(pk=round.pk)
    if _minute(current.closes_at) == _minute(old) or current.status != Round.Status.OPEN:
        return 0
    with transaction.atomic():
        audit_record(
            study=current.study, verb="round.deadline_change", actor=by, round=current.number,
            old=old.isoformat() if old else None,
            new=current.closes_at.isoformat() if current.closes_at else None,
            notified=notify,
        )  # fmt: skip
        if not notify:
            return 0
        panelists = Panelist.objects.filter(
            pk__in=round_noncompleter_ids(round=current)
        ).select_related("contact")
        rows = communication_send(
            study=current.study,
            round=current,
            panelists=list(panelists),
            kind=Communication.Kind.DEADLINE,
            by=by,
        )
    return len(rows)
