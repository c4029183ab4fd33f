"""Researcher pages for rounds: create, items, questions, open, close, suggestions, lineage."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse

from delphi import selectors
from delphi.access import get_study_for_user
from delphi.coding_selectors import round_coding_summary
from delphi.forms import (
    ItemChangeForm,
    PromptForm,
    RoundForm,
    SuggestionDecisionForm,
    apply_errors,
)
from delphi.models import Membership, Round, RoundItem, Suggestion
from delphi.services.deadlines import (
    reminder_fields_pop,
    reminder_initial,
    round_deadline_changed,
)
from delphi.services.reminders import round_set_reminder_plan
from delphi.services.review import (
    item_drop,
    item_reword,
    suggestion_adopt,
    suggestion_decline,
    suggestion_merge,
)
from delphi.services.rounds import (
    round_create,
    round_open,
    round_prompt_add,
    round_prompt_delete,
    round_set_items,
    round_update,
)
from delphi.views.communications import communications_context


def _round(study, round_uuid) -> Round:
    return get_object_or_404(Round, study=study, uuid=round_uuid)


def _optional_url(name, **kwargs):
    # Results and invitations pages belong to other parts of the app; link them when present.
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


@login_required
def round_create_view(request, study):
    study = get_study_for_user(request, study, write=True)
    form = RoundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        kind = data.pop("kind")
        plan = reminder_fields_pop(data)
        try:
            rnd = round_create(study=study, kind=kind, by=request.user, **data)
            round_set_reminder_plan(round=rnd, plan=plan, by=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Round {rnd.number} drafted.")
            if rnd.kind == Round.Kind.GENERATION:
                return redirect("round_prompts", study=study.uuid, round=rnd.uuid)
            return redirect("round_items", study=study.uuid, round=rnd.uuid)
    return render(
        request,
        "delphi/form_page.html",
        {"study": study, "form": form, "heading": "New round", "back": "study_detail"},
    )


@login_required
def round_detail(request, study, round):
    study = get_study_for_user(request, study, write=request.method == "POST")
    rnd = _round(study, round)
    context = selectors.round_detail_data(rnd)
    kw = {"study": study.uuid, "round": rnd.uuid}
    context.update(
        study=study,
        round=rnd,
        can_edit=study.user_role == Membership.Role.RESEARCHER,
        has_scenarios=any(i.scenario_id for i in context["items"]),
        # A draft round has no ratings, so nothing to show on its results page.
        results_url=(
            None if rnd.status == Round.Status.DRAFT else _optional_url("round_results", **kw)
        ),
        invitations_url=_optional_url("round_invitations", **kw),
        coding=round_coding_summary(rnd) if rnd.kind == Round.Kind.GENERATION else None,
    )
    context.update(communications_context(rnd))
    return render(request, "delphi/round_detail.html", context)


@login_required
def round_edit(request, study, round):
    study = get_study_for_user(request, study, write=True)
    rnd = _round(study, round)
    initial = {k: getattr(rnd, k) for k in RoundForm.base_fields if hasattr(rnd, k)}
    initial.update(reminder_initial(rnd), opened_at=rnd.opened_at)
    is_open = rnd.status == Round.Status.OPEN
    form = RoundForm(request.POST or None, initial=initial, editing=True, round_open=is_open)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        plan = reminder_fields_pop(data)
        notify = data.pop("notify_deadline", False)
        old_deadline = rnd.closes_at
        try:
            round_update(round=rnd, by=request.user, **data)
            round_set_reminder_plan(round=rnd, plan=plan, by=request.user)
            told = round_deadline_changed(
                round=rnd, old=old_deadline, by=request.user, notify=notify
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Round saved.")
            if told:
                messages.info(request, f"{told} panelist(s) are being told the new deadline.")
            return redirect("round_detail", study=study.uuid, round=rnd.uuid)
    return render(
        request,
        "delphi/form_page.html",
        {
            "study": study,
            "round": rnd,
            "form": form,
            "heading": f"Edit round {rnd.number}",
            "back_url": reverse("round_detail", kwargs={"study": study.uuid, "round": rnd.uuid}),
        },
    )


def _item_rows(statements, chosen: dict, orders: dict):
    rows, current = [], None
    for s in statements:
        if current is None or current[0].pk != s.domain_id:
            current = (s.domain, [])
            rows.append(current)
        key = str(s.uuid)
        current[1].append({"statement": s, "checked": key in chosen, "order": orders.get(key, "")})
    return rows


@login_required
def round_items(request, study, round):
    study = get_study_for_user(request, study, write=request.method == "POST")
    rnd = _round(study, round)
    statements = list(selectors.framework_statements(study.framework).filter(is_active=True))
    scenarios = list(study.framework.scenarios.all())
    error = None
    if request.method == "POST":
        chosen = {k: True for k in request.POST.getlist("statement")}
        orders = {s: request.POST.get(f"order-{s}", "").strip() for s in chosen}
        chosen_scenarios = set(request.POST.getlist("scenario"))
        by_uuid = {str(s.uuid): s for s in statements}
        position = {str(s.uuid): i for i, s in enumerate(statements)}
        try:
            keys = []
            for key in chosen:
                if key not in by_uuid:
                    raise ValidationError("A chosen statement is not active in this framework.")
                raw = orders[key]
                if raw and not (raw.isascii() and raw.isdigit()):
                    raise ValidationError(
                        f"The order of {by_uuid[key].code} (“{raw}”) must be a whole number."
                    )
                keys.append((int(raw) if raw else 10**6, position[key], key))
            ordered = [by_uuid[k].pk for *_, k in sorted(keys)]
            scenario_ids = [sc.pk for sc in scenarios if str(sc.uuid) in chosen_scenarios]
            round_set_items(
                round=rnd, statement_ids=ordered, scenario_ids=scenario_ids, by=request.user
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Round {rnd.number} now has {rnd.items.count()} items.")
            return redirect("round_detail", study=study.uuid, round=rnd.uuid)
    else:
        items = list(rnd.items.select_related("statement", "scenario"))
        chosen = {str(i.statement.uuid): True for i in items}
        orders = {}
        for i in items:
            orders.setdefault(str(i.statement.uuid), str(len(orders) + 1))
        chosen_scenarios = {str(i.scenario.uuid) for i in items if i.scenario_id}
    return render(
        request,
        "delphi/round_items.html",
        {
            "study": study,
            "round": rnd,
            "sections": _item_rows(statements, chosen, orders),
            "scenarios": [(sc, str(sc.uuid) in chosen_scenarios) for sc in scenarios],
            "error": error,
            "editable": rnd.status == Round.Status.DRAFT
            and study.user_role == Membership.Role.RESEARCHER,
        },
    )


@login_required
def round_prompts(request, study, round):
    study = get_study_for_user(request, study, write=request.method == "POST")
    rnd = _round(study, round)
    form = PromptForm(request.POST or None, framework=study.framework)
    if request.method == "POST":
        try:
            if "delete" in request.POST:
                round_prompt_delete(
                    round=rnd, by=request.user, prompt_id=int(request.POST["delete"])
                )
                messages.success(request, "Question removed.")
                return redirect("round_prompts", study=study.uuid, round=rnd.uuid)
            if form.is_valid():
                round_prompt_add(round=rnd, by=request.user, **form.cleaned_data)
                messages.success(request, "Question added.")
                return redirect("round_prompts", study=study.uuid, round=rnd.uuid)
        except (ValueError, ValidationError) as exc:
            if isinstance(exc, ValidationError):
                apply_errors(form, exc)
            else:
                form.add_error(None, "That question could not be found.")
    return render(
        request,
        "delphi/round_prompts.html",
        {
            "study": study,
            "round": rnd,
            "form": form,
            "prompts": list(rnd.prompts.select_related("scenario")),
            "editable": rnd.status == Round.Status.DRAFT
            and rnd.kind == Round.Kind.GENERATION
            and study.user_role == Membership.Role.RESEARCHER,
        },
    )


@login_required
def round_open_view(request, study, round):
    study = get_study_for_user(request, study, write=True)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    rnd = _round(study, round)
    try:
        round_open(round=rnd, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = f"Round {rnd.number} is open."
        if rnd.number == 1:
            text += " The protocol is now locked: later changes are recorded as deviations."
        messages.success(request, text)
    return redirect("round_detail", study=study.uuid, round=rnd.uuid)


@login_required
def round_suggestions(request, study, round):
    study = get_study_for_user(request, study, write=request.method == "POST")
    rnd = _round(study, round)
    return render(
        request,
        "delphi/round_suggestions.html",
        {
            "study": study,
            "round": rnd,
            "suggestions": list(selectors.round_suggestions(rnd)),
            "can_edit": study.user_role == Membership.Role.RESEARCHER,
        },
    )


@login_required
def suggestion_decide(request, study, round, suggestion):
    study = get_study_for_user(request, study, write=True)
    rnd = _round(study, round)
    sug = get_object_or_404(Suggestion.objects.select_related("domain"), round=rnd, uuid=suggestion)
    initial = {"text": sug.text, "domain": sug.domain}
    form = SuggestionDecisionForm(request.POST or None, initial=initial, framework=study.framework)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if d["action"] == "adopt":
                suggestion_adopt(
                    suggestion=sug,
                    by=request.user,
                    code=d["code"],
                    domain=d["domain"],
                    text=d["text"],
                    reason=d["reason"],
                )
            elif d["action"] == "merge":
                suggestion_merge(
                    suggestion=sug, by=request.user, statement=d["statement"], reason=d["reason"]
                )
            else:
                suggestion_decline(suggestion=sug, by=request.user, reason=d["reason"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Decision recorded.")
            return redirect("round_suggestions", study=study.uuid, round=rnd.uuid)
    return render(
        request,
        "delphi/suggestion_decide.html",
        {"study": study, "round": rnd, "suggestion": sug, "form": form},
    )


@login_required
def item_change(request, study, round, item):
    study = get_study_for_user(request, study, write=True)
    rnd = _round(study, round)
    obj = get_object_or_404(
        RoundItem.objects.select_related("statement", "scenario"), round=rnd, uuid=item
    )
    form = ItemChangeForm(
        request.POST or None,
        initial={
            "code": f"{obj.statement.code}r",
            "text": obj.statement.text,
            "plain_text": obj.statement.plain_text,
        },
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if d["action"] == "reword":
                item_reword(
                    item=obj,
                    by=request.user,
                    code=d["code"],
                    text=d["text"],
                    plain_text=d["plain_text"],
                    reason=d["reason"],
                )
                messages.success(request, "Item reworded; its lineage is recorded.")
            else:
                item_drop(item=obj, by=request.user, reason=d["reason"])
                messages.success(request, "Item dropped; its lineage is recorded.")
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("round_detail", study=study.uuid, round=rnd.uuid)
    return render(
        request,
        "delphi/item_change.html",
        {"study": study, "round": rnd, "item": obj, "form": form},
    )
