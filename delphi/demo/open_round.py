"""The demo's open rating round: invitations sent, answers part-way and one reminder out, as
a live round is.

A newcomer sees the participation page, the close confirmation (submitted, complete drafts,
partial drafts, not started, by group), the communications log (invitations, a reminder, who
came back after it, one bounced address) and the attrition check with real-looking numbers.
Deterministic: the same seed gives the same panel every time.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from delphi.models import Communication, Rating, Response, Round
from panels.models import Invitation, Panelist

OPENED_DAYS_AGO = 6
DEADLINE_IN_DAYS = 8
SEED = 20261201
# Shares of each answer state among the active panelists who took part in the previous round,
# per stakeholder group: some groups answer faster than others. The rest have not started.
STATE_SHARES = {
    "default": (0.50, 0.12, 0.14),  # submitted, complete draft, partial draft
    "peer": (0.30, 0.10, 0.15),
    "family": (0.35, 0.10, 0.20),
}


def demo_open_round(*, round: Round, researcher, token_hash) -> dict:
    """Open the draft rating round ``round`` (backdated), invite the active panel and write
    simulated answers. Returns the counts per state. ``token_hash`` makes unusable hashes."""
    from delphi.services.rounds import round_open, round_update

    now = timezone.now()
    opened_at = now - timedelta(days=OPENED_DAYS_AGO)
    round_update(round=round, by=researcher, closes_at=now + timedelta(days=DEADLINE_IN_DAYS))
    round_open(round=round, by=researcher)
    Round.objects.filter(pk=round.pk).update(opened_at=opened_at)
    round.refresh_from_db()

    rng = random.Random(SEED)
    study = round.study
    items = list(round.items.select_related("carried_from"))
    previous = {
        (r.response.panelist_id, r.item_id): r.value
        for r in Rating.objects.filter(
            item_id__in=[i.carried_from_id for i in items if i.carried_from_id],
            response__status=Response.Status.SUBMITTED,
        ).select_related("response")
    }
    took_part = set(
        Response.objects.filter(
            round__study=study,
            round__kind=Round.Kind.RATING,
            status=Response.Status.SUBMITTED,
            round__number__lt=round.number,
        ).values_list("panelist_id", flat=True)
    )
    panelists = list(
        Panelist.objects.filter(
            panel_id=study.panel_id, status=Panelist.Status.ACTIVE, unsubscribed_at__isnull=True
        )
        .select_related("group")
        .order_by("pk")
    )
    sent_at = opened_at + timedelta(minutes=5)
    Invitation.objects.bulk_create(
        Invitation(
            panelist=p,
            token_hash=token_hash(),
            status=Invitation.Status.SENT,
            sent_at=sent_at,
            expires_at=now + timedelta(days=120),
            send_count=1,
        )
        for p in panelists
    )
    # The invitations went out when the round opened (bulk_create stamps the present).
    Invitation.objects.filter(panelist__in=panelists, sent_at=sent_at).update(created_at=sent_at)

    counts = {"submitted": 0, "complete": 0, "partial": 0, "not_started": 0}
    responses, answers, opened = [], [], []
    for p in panelists:
        submit, complete, partial = (
            STATE_SHARES.get(p.group.code if p.group else "") or (STATE_SHARES["default"])
        )
        draw = rng.random()
        if p.pk not in took_part:
            state = "not_started"
        elif draw < submit:
            state = "submitted"
        elif draw < submit + complete:
            state = "complete"
        elif draw < submit + complete + partial:
            state = "partial"
        else:
            state = "not_started"
        counts[state] += 1
        if state == "not_started":
            if rng.random() < 0.3:
                opened.append(p.pk)  # opened the link, answered nothing yet
            continue
        opened.append(p.pk)
        at = opened_at + timedelta(hours=rng.uniform(2, 24 * (OPENED_DAYS_AGO - 1)))
        response = Response(
            round=round,
            panelist=p,
            status=Response.Status.SUBMITTED if state == "submitted" else Response.Status.DRAFT,
            submitted_at=at if state == "submitted" else None,
        )
        responses.append((response, at))
        todo = (
            items
            if state != "partial"
            else items[: max(1, int(len(items) * rng.uniform(0.2, 0.7)))]
        )
        for item in todo:
            before = previous.get((p.pk, item.carried_from_id))
            if item.carried_from_id is None:
                # A statement new in this round (an adopted suggestion): rated fresh.
                value = None if rng.random() < 0.1 else rng.randint(5, 9)
            elif before is None:
                value = None if rng.random() < 0.5 else rng.randint(4, 8)
            else:
                # Feedback pulls ratings a step towards the panel's centre, sometimes.
                step = rng.choice((-1, 0, 0, 0, 1)) if before in (4, 5, 6) else 0
                if before <= 3 and rng.random() < 0.3:
                    step = 1
                if before >= 8 and rng.random() < 0.2:
                    step = -1
                value = min(9, max(1, before + step))
            answers.append((response, item, value))
    Response.objects.bulk_create([r for r, _ in responses])
    Rating.objects.bulk_create(
        [
            Rating(response=r, item=item, value=value, unable=value is None)
            for r, item, value in answers
        ],
        batch_size=1000,
    )
    for r, at in responses:
        r.started_at = at - timedelta(minutes=35)
    Response.objects.bulk_update([r for r, _ in responses], ["started_at"])
    Invitation.objects.filter(panelist_id__in=opened, sent_at=sent_at).update(
        status=Invitation.Status.OPENED, opened_at=sent_at + timedelta(hours=3)
    )
    _communications(round, panelists, sent_at=sent_at, responses=responses, opened=opened)
    return counts


def _communications(rnd: Round, panelists, *, sent_at, responses, opened) -> None:
    """The round's communications log as it would be after six days: every invitation sent
    when the round opened, and the "3 days after opening" reminder to those who had not
    submitted by then, claimed by the real reminder sweep (unique slot rows, the same audit
    row). One address bounced. Nothing is e-mailed: the rows are marked sent before the
    in-process delivery, which only takes rows still queued, can claim them."""
    from delphi.services.reminders import plan_slots, reminders_queue_due

    invitations = dict(
        Invitation.objects.filter(panelist__in=panelists, sent_at=sent_at).values_list(
            "panelist_id", "pk"
        )
    )
    visits = {p.pk: sent_at + timedelta(hours=3) for p in panelists if p.pk in set(opened)}
    Communication.objects.bulk_create(
        Communication(
            study=rnd.study, round=rnd, panelist=p, kind=Communication.Kind.INVITATION,
            language=p.language, status=Communication.Status.SENT, sent_at=sent_at,
            invitation_id=invitations.get(p.pk), attempts=1, first_visit_at=visits.get(p.pk),
        )
        for p in panelists
    )  # fmt: skip
    Communication.objects.filter(round=rnd, kind=Communication.Kind.INVITATION).update(
        queued_at=sent_at - timedelta(minutes=1)
    )
    slot = next((s for s in plan_slots(rnd.reminder_plan) if s.anchor == "open"), None)
    if slot is None:
        return
    due = slot.due(rnd) + timedelta(minutes=10)
    # As the sweep saw the round then: those who submitted later were still drafting.
    later = [r.pk for r, at in responses if r.submitted_at and at > due]
    Response.objects.filter(pk__in=later).update(status=Response.Status.DRAFT)
    ids = reminders_queue_due(now=due)
    Response.objects.filter(pk__in=later).update(status=Response.Status.SUBMITTED)
    Communication.objects.filter(pk__in=ids).update(
        status=Communication.Status.SENT, sent_at=due, queued_at=due, attempts=1
    )
    # Who came back after the reminder: a visit an hour or a day later.
    rng = random.Random(SEED + 1)
    reminded = Communication.objects.filter(pk__in=ids).order_by("pk")
    came_back = set(later) | {r.pk for r, _ in responses if not r.submitted_at}
    back_panelists = set(
        Response.objects.filter(pk__in=came_back).values_list("panelist_id", flat=True)
    )
    for comm in reminded:
        if comm.panelist_id in back_panelists:
            comm.first_visit_at = due + timedelta(hours=rng.uniform(1, 30))
            comm.save(update_fields=["first_visit_at"])
    bounced = reminded.exclude(panelist_id__in=back_panelists).last()
    if bounced is not None:
        Communication.objects.filter(pk=bounced.pk).update(
            status=Communication.Status.FAILED, sent_at=None, failed_at=due,
            error="SMTPRecipientsRefused: 550 5.1.1 mailbox unavailable (permanent)",
        )  # fmt: skip
