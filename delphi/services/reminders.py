"""Reminders: a per-round plan of slots ("3 days after opening", "1 day before the deadline"),
sent by the database sweep to the round's non-completers.

Each (round, panelist, slot) is one ReminderSent row under a unique constraint, created in the
same transaction as the Communication it sends. Two sweeps racing, or a sweep re-run after a
crash, cannot create a second row, so a slot is never sent twice. A reminder goes only to a
panelist who was sent a link to this round before the slot fell due, has not submitted, has
not withdrawn and has not unsubscribed; it carries a fresh personal link and says how many
statements are left.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from delphi.models import Communication, ReminderSent, Response, Round
from delphi.recipients import round_noncompleter_ids
from delphi.services.audit import audit_record
from delphi.services.communications import PICKUP_GRACE, enqueue
from panels.models import Panelist

log = logging.getLogger(__name__)

ANCHORS = ("open", "deadline")
MAX_SLOTS = 10


@dataclass(frozen=True)
class Slot:
    anchor: str  # "open" or "deadline"
    days: int

    @property
    def key(self) -> str:
        return f"{self.anchor}{'+' if self.anchor == 'open' else '-'}{self.days}d"

    def due(self, rnd: Round) -> datetime | None:
        if self.anchor == "open":
            return rnd.opened_at + timedelta(days=self.days) if rnd.opened_at else None
        return rnd.closes_at - timedelta(days=self.days) if rnd.closes_at else None

    def describe(self) -> str:
        unit = "day" if self.days == 1 else "days"
        where = "after opening" if self.anchor == "open" else "before the deadline"
        return f"{self.days} {unit} {where}"


def plan_slots(plan) -> list[Slot]:
    slots = []
    for entry in plan or []:
        try:
            slots.append(Slot(anchor=str(entry["anchor"]), days=int(entry["days"])))
        except (KeyError, TypeError, ValueError):
            continue
    return [s for s in slots if s.anchor in ANCHORS]


def _parse_days(raw: str, field: str) -> list[int]:
    out = []
    for part in re.split(r"[,\s;]+", (raw or "").strip()):
        if not part:
            continue
        if not (part.isascii() and part.isdigit()) or int(part) < 1 or int(part) > 365:
            raise ValidationError(
                {field: f"“{part}” is not a number of days: use whole numbers from 1 to 365, "
                 "separated by commas."}
            )  # fmt: skip
        out.append(int(part))
    return sorted(set(out))


def plan_from_text(*, after_open: str, before_deadline: str) -> list[dict]:
    """The round form's two fields ("3", "1, 3") as a plan; raises ValidationError."""
    plan = [{"anchor": "open", "days": d} for d in _parse_days(after_open, "remind_after_open")]
    plan += [
        {"anchor": "deadline", "days": d}
        for d in _parse_days(before_deadline, "remind_before_deadline")
    ]
    if len(plan) > MAX_SLOTS:
        raise ValidationError(f"At most {MAX_SLOTS} reminders per round.")
    return plan


def plan_as_text(plan) -> tuple[str, str]:
    slots = plan_slots(plan)
    after = ", ".join(str(s.days) for s in slots if s.anchor == "open")
    before = ", ".join(str(s.days) for s in slots if s.anchor == "deadline")
    return after, before


def plan_check(*, plan, opens_at, closes_at) -> None:
    """Refuse a reminder that would fall after the deadline or before the opening."""
    errors = {}
    for slot in plan_slots(plan):
        if (
            slot.anchor == "open"
            and closes_at
            and opens_at
            and opens_at + timedelta(days=slot.days) >= closes_at
        ):
            errors.setdefault("remind_after_open", []).append(
                f"A reminder {slot.describe()} would fall after the deadline "
                f"({closes_at:%d %b %Y %H:%M})."
            )
        # Without a deadline, the reminders counted back from it wait until one is set.
        if (
            slot.anchor == "deadline"
            and closes_at
            and opens_at
            and closes_at - timedelta(days=slot.days) <= opens_at
        ):
            errors.setdefault("remind_before_deadline", []).append(
                f"A reminder {slot.describe()} would fall before the round opens."
            )
    if errors:
        raise ValidationError(errors)


def round_set_reminder_plan(*, round: Round, plan: list[dict], by) -> Round:
    current = Round.objects.get(pk=round.pk)
    if current.status not in (Round.Status.DRAFT, Round.Status.OPEN):
        raise ValidationError("This round is closed; its reminders can no longer change.")
    plan_check(
        plan=plan, opens_at=current.opened_at or current.opens_at, closes_at=current.closes_at
    )
    if plan_slots(plan) == plan_slots(current.reminder_plan):
        return round
    with transaction.atomic():
        Round.objects.filter(pk=round.pk).update(reminder_plan=plan)
        audit_record(
            study=round.study, verb="round.reminder_plan", actor=by, round=round.number,
            old=[s.key for s in plan_slots(current.reminder_plan)],
            new=[s.key for s in plan_slots(plan)],
        )  # fmt: skip
    round.reminder_plan = plan
    return round


# --- who gets one: delphi/recipients.py ------------------------------------------------


def reminder_now_count(*, round: Round) -> int:
    """How many "Remind non-completers now" reaches (the same rule, in one query)."""
    if round.status != Round.Status.OPEN or not round.opened_at:
        return 0
    return (
        Panelist.objects.filter(
            panel_id=round.study.panel_id,
            status=Panelist.Status.ACTIVE,
            unsubscribed_at__isnull=True,
            invitations__sent_at__gte=round.opened_at,
        )
        .exclude(responses__round=round, responses__status=Response.Status.SUBMITTED)
        .distinct()
        .count()
    )


# --- sending --------------------------------------------------------------------------------


def _claim_slot(*, rnd: Round, slot_key: str, panelist_ids, language) -> list[int]:
    """Create the slot's ReminderSent rows with their Communications; returns the new
    communication ids. Race-safe: the unique (round, panelist, slot) decides."""
    taken = set(
        ReminderSent.objects.filter(round=rnd, slot=slot_key).values_list("panelist_id", flat=True)
    )
    todo = [pk for pk in sorted(panelist_ids) if pk not in taken]
    if not todo:
        return []
    now = timezone.now()

    def rows(pks):
        comms = Communication.objects.bulk_create(
            [
                Communication(
                    study_id=rnd.study_id,
                    round=rnd,
                    panelist_id=pk,
                    kind=Communication.Kind.REMINDER,
                    language=language.get(pk) or "en",
                    next_attempt_at=now + PICKUP_GRACE,
                )
                for pk in pks
            ]
        )
        ReminderSent.objects.bulk_create(
            [
                ReminderSent(round=rnd, panelist_id=c.panelist_id, slot=slot_key, communication=c)
                for c in comms
            ]
        )
        return [c.pk for c in comms]

    try:
        with transaction.atomic():
            ids = rows(todo)
            enqueue(ids)
            return ids
    except IntegrityError:
        pass
    # Another sweep claimed some of these rows meanwhile: one savepoint per panelist, so the
    # ones it took are skipped and the rest still go out.
    ids = []
    with transaction.atomic():
        for pk in todo:
            try:
                with transaction.atomic():
                    ids += rows([pk])
            except IntegrityError:
                continue
        enqueue(ids)
    return ids


def reminders_queue_due(*, now=None) -> list[int]:
    """Queue every reminder slot that has fallen due in an open round. Returns the queued
    communications' ids. Per panelist only the latest due slot is sent; earlier slots missed
    (the sweep was not running) are recorded as passed, without a message."""
    now = now or timezone.now()
    queued: list[int] = []
    # A finished study sends no more reminders.
    rounds = Round.objects.filter(
        status=Round.Status.OPEN, opened_at__isnull=False, study__finished_at__isnull=True
    ).select_related("study")
    for rnd in rounds:
        due = []
        for slot in plan_slots(rnd.reminder_plan):
            at = slot.due(rnd)
            # A slot that fell before the round opened is not a reminder of anything.
            if at is None or at > now or at <= rnd.opened_at:
                continue
            if rnd.closes_at and at >= rnd.closes_at:
                continue
            due.append((at, slot))
        if not due:
            continue
        due.sort(key=lambda d: d[0])
        latest_at, latest = due[-1]
        ids = round_noncompleter_ids(round=rnd, invited_before=latest_at)
        if not ids:
            continue
        for _at, earlier in due[:-1]:
            # Missed slots get their row (no message), so they are not sent late later.
            ReminderSent.objects.bulk_create(
                [ReminderSent(round=rnd, panelist_id=pk, slot=earlier.key) for pk in ids],
                ignore_conflicts=True,
            )
        language = dict(Panelist.objects.filter(pk__in=ids).values_list("pk", "language"))
        new = _claim_slot(rnd=rnd, slot_key=latest.key, panelist_ids=ids, language=language)
        if new:
            audit_record(
                study=rnd.study, verb="reminders.queue", round=rnd.number, slot=latest.key,
                count=len(new),
            )  # fmt: skip
        queued += new
    return queued


def reminders_send_now(*, round: Round, by, nonce: str = "") -> int:
    """ "Remind non-completers now": a manual slot of its own. ``nonce`` comes from the page
    that showed the button, so the same form posted twice (a double click) sends once."""
    if round.status != Round.Status.OPEN:
        raise ValidationError("Reminders can be sent only while the round is open.")
    ids = round_noncompleter_ids(round=round)
    if not ids:
        raise ValidationError("Everyone invited has submitted (or cannot be e-mailed).")
    nonce = "".join(c for c in (nonce or "") if c in "0123456789abcdef")[:12]
    key = f"now-{nonce or timezone.now().strftime('%y%m%d%H%M%S')}"
    language = dict(Panelist.objects.filter(pk__in=ids).values_list("pk", "language"))
    new = _claim_slot(rnd=round, slot_key=key, panelist_ids=ids, language=language)
    audit_record(
        study=round.study, verb="reminders.send_now", actor=by, round=round.number,
        count=len(new),
    )  # fmt: skip
    return len(new)
