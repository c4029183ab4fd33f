"""Researcher pages for studies: dashboard, create/edit, protocol, members."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import translation

from delphi import selectors
from delphi.access import get_study_for_user
from delphi.consensus.definitions import PRESETS, describe_definition
from delphi.consensus.stats import Scale
from delphi.forms import (
    MemberForm,
    MemberRemoveForm,
    ProtocolForm,
    StudyForm,
    apply_errors,
)
from delphi.models import Membership, Study
from delphi.panelist import cards
from delphi.panelist.scale import scale_display
from delphi.services.protocol import protocol_errors
from delphi.services.studies import (
    study_create,
    study_member_add,
    study_member_remove,
    study_update,
)


def describe(study: Study) -> str:
    return _describe(_protocol(study))


def _describe(protocol: dict) -> str:
    try:
        scale = Scale(
            min=protocol["scale_min"],
            max=protocol["scale_max"],
            bands=tuple(tuple(b) for b in protocol["bands"]),
        )
    except (TypeError, ValueError):
        scale = None
    return describe_definition(protocol["consensus_definition"], scale)


@login_required
def dashboard(request):
    studies = list(selectors.studies_for_user(request.user))
    return render(request, "delphi/dashboard.html", {"studies": studies})


@login_required
def study_create_view(request):
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = study_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, "Study created. Next: check the protocol, then build the panel."
            )
            return redirect("study_detail", study=study.uuid)
    return render(request, "delphi/study_form.html", {"form": form, "creating": True})


@login_required
def study_detail(request, study):
    study = get_study_for_user(request, study, write=request.method == "POST")
    context = selectors.study_overview(study)
    context.update(
        study=study,
        can_edit=study.user_role == Membership.Role.RESEARCHER,
        definition_text=describe(study),
        groups=list(selectors.groups_with_sizes(study.panel)),
    )
    context.update(_stopping_context(study))
    return render(request, "delphi/study_detail.html", context)


def _stopping_context(study):
    from delphi.services.lifecycle import stopping_rule_status

    stopping = stopping_rule_status(study=study)
    latest = stopping.latest
    return {
        "stopping": stopping,
        "next_after_latest": latest is not None
        and study.rounds.filter(number__gt=latest.number).exists(),
    }


@login_required
def study_edit(request, study):
    study = get_study_for_user(request, study, write=True)
    form = StudyForm(request.POST or None, initial=StudyForm.initial_for(study))
    if request.method == "POST" and form.is_valid():
        before = study.consent_version
        try:
            study_update(study=study, by=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if study.consent_version != before:
                messages.info(
                    request,
                    f"The consent text changed: it is now version {study.consent_version}.",
                )
            messages.success(request, "Study saved.")
            return redirect("study_detail", study=study.uuid)
    return render(request, "delphi/study_form.html", {"form": form, "study": study})


@login_required
def study_protocol(request, study):
    study = get_study_for_user(request, study, write=request.method == "POST")
    can_edit = study.user_role == Membership.Role.RESEARCHER
    form = ProtocolForm(
        request.POST or None, initial=ProtocolForm.initial_for(study), locked=study.is_locked
    )
    proposed = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            # Show the scale as typed without saving it: the same checks as a save, minus the
            # reason a locked protocol needs.
            proposed = _protocol(study) | form.protocol()
            if errors := protocol_errors(proposed):
                apply_errors(form, ValidationError(errors), ProtocolForm.ERROR_FIELDS)
                proposed = None
            else:
                messages.info(request, "Preview only: nothing was saved.")
        else:
            try:
                deviations = study_update(
                    study=study,
                    by=request.user,
                    data=form.protocol(),
                    reason=form.cleaned_data.get("reason", ""),
                )
            except ValidationError as exc:
                apply_errors(form, exc, ProtocolForm.ERROR_FIELDS)
            else:
                if deviations:
                    messages.warning(
                        request,
                        f"Protocol changed after the lock: {len(deviations)} deviation(s) "
                        "recorded.",
                    )
                else:
                    messages.success(request, "Protocol saved.")
                return redirect("study_detail", study=study.uuid)
    return render(
        request,
        "delphi/study_protocol.html",
        {
            "study": study,
            "form": form,
            "can_edit": can_edit,
            "definition_text": _describe(proposed or _protocol(study)),
            "locked_fields": Study.LOCKED_FIELDS,
            "presets": PRESETS,
            "previews": scale_previews(proposed or _protocol(study)),
            "previewing": proposed is not None,
        },
    )


def _protocol(study: Study) -> dict:
    return {name: getattr(study, name) for name in Study.LOCKED_FIELDS}


def scale_previews(protocol: dict) -> list[dict]:
    """The scale's buttons as an English and a Spanish panelist will see them."""
    previews = []
    for index, (lang, name) in enumerate((("en", "English"), ("es", "Spanish"))):
        scale = scale_display(
            scale_min=protocol["scale_min"],
            scale_max=protocol["scale_max"],
            bands=protocol["bands"],
            anchors=protocol["scale_anchors"],
            labels=protocol.get("scale_labels"),
            lang=lang,
        )
        with translation.override(lang):
            strings = cards.Strings()
            html = cards.scale_html(scale, 100 + index, s=strings)
            unable = strings.unable
        previews.append(
            {"lang": lang, "name": name, "html": html, "unable": unable, "index": 100 + index,
             "n_bands": len(scale["bands"])}
        )  # fmt: skip
    return previews


@login_required
def study_members(request, study):
    study = get_study_for_user(request, study, write=request.method == "POST")
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study_member_add(study=study, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['username']} added.")
            return redirect("study_members", study=study.uuid)
    members = Membership.objects.filter(study=study).select_related("user").order_by("role")
    return render(
        request,
        "delphi/study_members.html",
        {
            "study": study,
            "form": form,
            "members": members,
            "can_edit": study.user_role == Membership.Role.RESEARCHER,
        },
    )


@login_required
def study_member_remove_view(request, study):
    study = get_study_for_user(request, study, write=True)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = MemberRemoveForm(request.POST)
    membership = None
    if form.is_valid():
        membership = (
            Membership.objects.filter(study=study, user__username=form.cleaned_data["username"])
            .select_related("user")
            .first()
        )
    if membership is None:
        messages.error(request, "That account is not a member of this study.")
        return redirect("study_members", study=study.uuid)
    try:
        study_member_remove(study=study, by=request.user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user.get_username()} removed.")
    return redirect("study_members", study=study.uuid)
