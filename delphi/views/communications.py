"""Researcher pages for a round's messages: the communications log, "remind non-completers
now", and a custom message to non-completers, one stakeholder group or everyone."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from delphi.access import get_study_for_user
from delphi.forms import CustomMessageForm, apply_errors
from delphi.models import Communication, Membership, ReminderSent, Round
from delphi.recipients import round_invited_ids, round_noncompleter_ids
from delphi.services import reminders as rem
from delphi.services.communications import communications_summary, custom_message_send

LOG_LIMIT = 500


def _round(study, round_uuid) -> Round:
    rnd = get_object_or_404(Round, study=study, uuid=round_uuid)
    rnd.study = study
    return rnd


def reminder_slots(rnd: Round) -> list[dict]:
    """The round's plan with each slot's due time and how many it reached. One query."""
    reached = {}
    for slot, has_message in ReminderSent.objects.filter(round=rnd).values_list(
        "slot", "communication_id"
    ):
        entry = reached.setdefault(slot, [0, 0])
        entry[0 if has_message else 1] += 1
    now = timezone.now()
    rows = []
    for slot in rem.plan_slots(rnd.reminder_plan):
        due = slot.due(rnd)
        sent, passed = reached.get(slot.key, (0, 0))
        rows.append(
            {
                "label": slot.describe(),
                "due": due,
                "is_due": bool(due and due <= now),
                "no_deadline": slot.anchor == "deadline" and not rnd.closes_at,
                "sent": sent,
                "passed": passed,
            }
        )
    manual = sum(v[0] for k, v in reached.items() if k.startswith("now-"))
    if manual:
        rows.append({"label": "sent by hand", "manual": True, "sent": manual, "passed": 0})
    return rows


def communications_context(rnd: Round) -> dict:
    """What the round page shows about its messages (four queries; none for a draft)."""
    if rnd.status == Round.Status.DRAFT:
        return {}
    return {
        "comm_summary": communications_summary(round=rnd),
        "reminder_slots": reminder_slots(rnd),
        "remind_now_count": rem.reminder_now_count(round=rnd),
        "remind_nonce": uuid.uuid4().hex[:12],
    }


@login_required
def round_communications(request, study, round):
    study = get_study_for_user(request, study)
    rnd = _round(study, round)
    kind = request.GET.get("kind", "")
    rows = Communication.objects.filter(round=rnd).select_related("panelist", "message")
    if kind in Communication.Kind.values:
        rows = rows.filter(kind=kind)
    total = rows.count()
    return render(
        request,
        "delphi/communications.html",
        {
            "study": study,
            "round": rnd,
            "rows": list(rows[:LOG_LIMIT]),
            "total": total,
            "limit": LOG_LIMIT,
            "kind": kind,
            "kinds": Communication.Kind.choices,
            "summary": communications_summary(round=rnd),
            "can_edit": study.user_role == Membership.Role.RESEARCHER,
        },
    )


@login_required
@require_POST
def round_remind_now(request, study, round):
    study = get_study_for_user(request, study, write=True)
    rnd = _round(study, round)
    try:
        n = rem.reminders_send_now(round=rnd, by=request.user, nonce=request.POST.get("nonce", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if n:
            messages.success(request, f"{n} reminder(s) queued for sending.")
        else:
            messages.info(request, "These panelists were reminded a moment ago; nothing sent.")
    return redirect("round_detail", study=study.uuid, round=rnd.uuid)


@login_required
def round_message(request, study, round):
    study = get_study_for_user(request, study, write=True)
    rnd = _round(study, round)
    form = CustomMessageForm(request.POST or None, panel=study.panel)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            sent = custom_message_send(
                round=rnd,
                by=request.user,
                audience=d["audience"],
                group=d["group"],
                subject=d["subject"],
                body=d["body"],
                subject_es=d["subject_es"],
                body_es=d["body_es"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Message queued for {len(sent)} panelist(s).")
            return redirect("round_communications", study=study.uuid, round=rnd.uuid)
    counts = {
        "noncompleters": len(round_noncompleter_ids(round=rnd)),
        "everyone": len(round_invited_ids(round=rnd)),
    }
    return render(
        request,
        "delphi/round_message.html",
        {"study": study, "round": rnd, "form": form, "counts": counts},
    )
