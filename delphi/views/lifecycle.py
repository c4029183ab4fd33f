"""Researcher pages for a study's lifecycle: participation, closing a round safely."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from delphi.access import get_study_for_user
from delphi.forms import apply_errors
from delphi.models import ItemDecision, Membership, Round
from delphi.participation import ALL, participation_flow, round_attrition_check
from delphi.services.lifecycle import (
    final_list,
    final_list_summary,
    round_low_n_items,
    round_next_start,
    round_quorum,
    stopping_rule_status,
    study_finish,
    study_thank_panel,
)
from delphi.services.rounds import round_close


class RoundCloseForm(forms.Form):
    reason = forms.CharField(
        required=False,
        label="Why close the round now, below its quorum?",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded as a protocol deviation and shown in the results and the report.",
    )


def _pct(fraction):
    return None if fraction is None else round(100 * fraction)


def _flow_by_round(rows: list[dict]) -> list[dict]:
    """Rows grouped per round: the "all" row (for the figure) and the per-group rows."""
    rounds: dict[int, dict] = {}
    for row in rows:
        row = dict(
            row, response_pct=_pct(row["response_rate"]), attrition_pct=_pct(row["attrition"])
        )
        entry = rounds.setdefault(row["round"], {"number": row["round"], "groups": []})
        if row["group"] == ALL:
            entry["all"] = row
            top = max(row["invited"], 1)
            entry["bars"] = [
                (label, row[key], f"{100 * row[key] / top:.1f}%")
                for key, label in (
                    ("invited", "Invited"),
                    ("opened", "Opened"),
                    ("consented", "Consented"),
                    ("started", "Started"),
                    ("submitted", "Submitted"),
                )
            ]
        else:
            entry["groups"].append(row)
    return list(rounds.values())


@login_required
def study_participation(request, study):
    study = get_study_for_user(request, study, write=request.method == "POST")
    rows = participation_flow(study=study)
    rounds = _flow_by_round(rows)
    by_number = {r.number: r for r in Round.objects.filter(study=study)}
    for entry in rounds:
        rnd = by_number[entry["number"]]
        rnd.study = study
        entry["attrition"] = round_attrition_check(round=rnd)
    return render(request, "delphi/participation.html", {"study": study, "rounds": rounds})


@login_required
def round_close_confirm(request, study, round):
    """ "Close round now": what closing would count, by group, then the close itself (POST)."""
    study = get_study_for_user(request, study, write=True)
    rnd = get_object_or_404(Round, study=study, uuid=round)
    rnd.study = study
    form = RoundCloseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and rnd.status == Round.Status.OPEN and form.is_valid():
        try:
            round_close(round=rnd, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            text = f"Round {rnd.number} is closed."
            if rnd.below_quorum:
                text += " It closed below its quorum: a deviation is recorded."
                messages.warning(request, text)
            else:
                messages.success(request, text)
            return redirect("round_detail", study=study.uuid, round=rnd.uuid)
    if request.method == "POST" and rnd.status != Round.Status.OPEN:
        messages.error(request, "This round is not open, so it cannot be closed.")
        return redirect("round_detail", study=study.uuid, round=rnd.uuid)
    return render(
        request,
        "delphi/round_close.html",
        {"study": study, "round": rnd, "form": form, "quorum": round_quorum(round=rnd)},
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason (recorded as a protocol deviation)",
    )


class ThankYouForm(forms.Form):
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), label="Message")
    subject_es = forms.CharField(max_length=200, required=False, label="Subject (Spanish)")
    body_es = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12}), required=False, label="Message (Spanish)"
    )


def _domains(rows):
    out, current = [], None
    for r in rows:
        if current is None or current["code"] != r["domain"]:
            current = {"code": r["domain"], "name": r["domain_name"], "rows": []}
            out.append(current)
        current["rows"].append(r)
    return out


@login_required
def study_final(request, study):
    """The final list by domain; finishing the study; the thank-you to the panel."""
    study = get_study_for_user(request, study, write=request.method == "POST")
    status = stopping_rule_status(study=study)
    rows = final_list(study=study)
    finish_form = ReasonForm(request.POST if "finish" in request.POST else None)
    thanks_form = None
    if study.finished_at:
        thanks_form = ThankYouForm(
            request.POST if "thank" in request.POST else None,
            initial={
                "subject": f"Thank you: the results of {study.short_title or study.title}",
                "body": "Thank you for taking part in this study. Here is what the panel "
                "decided.\n\n" + final_list_summary(study=study),
                "subject_es": f"Gracias: los resultados de {study.short_title or study.title}",
                "body_es": "Gracias por participar en este estudio. Esto es lo que decidió el "
                "panel.\n\n" + final_list_summary(study=study, language="es"),
            },
        )
    if request.method == "POST" and "finish" in request.POST and finish_form.is_valid():
        try:
            study_finish(study=study, by=request.user, reason=finish_form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(finish_form, exc)
        else:
            messages.success(request, "The study is finished. Its final list is below.")
            return redirect("study_final", study=study.uuid)
    thanking = request.method == "POST" and "thank" in request.POST and thanks_form is not None
    if thanking and thanks_form.is_valid():
        try:
            sent = study_thank_panel(study=study, by=request.user, **thanks_form.cleaned_data)
        except ValidationError as exc:
            apply_errors(thanks_form, exc)
        else:
            messages.success(request, f"Thank-you queued for {len(sent)} panelist(s).")
            return redirect("study_final", study=study.uuid)
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ("in", "out", "none")}
    return render(
        request,
        "delphi/study_final.html",
        {
            "study": study,
            "stopping": status,
            "domains": _domains(rows),
            "counts": counts,
            "finish_form": finish_form,
            "thanks_form": thanks_form,
            "can_edit": study.user_role == Membership.Role.RESEARCHER,
        },
    )


@login_required
def round_next_confirm(request, study, round):
    """Start the next round: the carry-forward list, verdicts resting on too few ratings
    (carried unless the researcher unticks them), and the stopping rule."""
    study = get_study_for_user(request, study, write=True)
    rnd = get_object_or_404(Round, study=study, uuid=round)
    rnd.study = study
    low = round_low_n_items(round=rnd)
    status = stopping_rule_status(study=study)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    chosen = (
        {int(v) for v in request.POST.getlist("carry") if v.isascii() and v.isdigit()}
        if request.method == "POST"
        else {r["item"].pk for r in low}
    )
    if request.method == "POST" and form.is_valid():
        try:
            new = round_next_start(
                round=rnd, by=request.user, carry_also=chosen, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                f"Round {new.number} drafted with {new.items.count()} item(s). "
                "Review its items, then open it.",
            )
            return redirect("round_detail", study=study.uuid, round=new.uuid)
    carried = list(
        ItemDecision.objects.filter(round=rnd, carried_forward=True).select_related(
            "item__statement"
        )
    )
    return render(
        request,
        "delphi/round_next.html",
        {
            "study": study,
            "round": rnd,
            "form": form,
            "low": [dict(r, checked=r["item"].pk in chosen) for r in low],
            "carried": carried,
            "stopping": status,
        },
    )
