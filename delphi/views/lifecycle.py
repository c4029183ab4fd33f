"""Researcher pages for a study's lifecycle: participation, closing a round safely."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from delphi.access import get_study_for_user
from delphi.forms import apply_errors
from delphi.models import Round
from delphi.participation import ALL, participation_flow, round_attrition_check
from delphi.services.lifecycle import round_quorum
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
