"""Researcher pages for a study's panel: stakeholder groups, panelists, CSV import."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode

from delphi import selectors
from delphi.access import get_study_for_user
from delphi.forms import CsvImportForm, PanelistEditForm, apply_errors
from delphi.models import Membership
from delphi.services.audit import audit_record
from delphi.services.audited import panelist_update_audited
from panels.csv_import import COLUMNS as PANELIST_COLUMNS
from panels.forms import GroupForm, PanelistForm
from panels.models import Contact, Panelist, StakeholderGroup
from panels.services import (
    group_create,
    group_update,
    panelist_create,
    panelists_import,
)

PANELISTS_PER_PAGE = 100


@login_required
def panel_detail(request, study):
    study = get_study_for_user(request, study, write=request.method == "POST")
    groups = list(selectors.groups_with_sizes(study.panel))
    # Analysts see the panel by public id only: contacts are for the researchers who recruit.
    show_contacts = study.user_role == Membership.Role.RESEARCHER
    panelists = selectors.panelists_for_panel(study.panel)
    if not show_contacts:
        panelists = panelists.select_related(None).select_related("group")
        panelists = panelists.order_by("group__order", "public_id")
    panelists, filters = _panelist_filters(panelists, request.GET, groups, contacts=show_contacts)
    page = Paginator(panelists, PANELISTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "panels/panel_detail.html",
        {
            "study": study,
            "groups": groups,
            "page": page,
            "total_target": sum(g.target_size for g in groups),
            "total_actual": sum(g.actual for g in groups),
            "can_edit": study.user_role == Membership.Role.RESEARCHER,
            "show_contacts": show_contacts,
            "filters": filters,
            "filtered": any(filters.values()),
            "query": urlencode({k: v for k, v in filters.items() if v}),
            "statuses": Panelist.Status.choices,
        },
    )


def _panelist_filters(panelists, params, groups, *, contacts: bool):
    """?q= public id (and, for researchers only, name or e-mail), ?group=, ?status=."""
    q = (params.get("q") or "").strip()[:100]
    group = params.get("group") or ""
    status = params.get("status") or ""
    if q:
        match = Q(public_id__icontains=q) | Q(group__name__icontains=q)
        if contacts:
            # Analysts never search by what they cannot see.
            match |= Q(contact__name__icontains=q) | Q(contact__email__icontains=q)
        panelists = panelists.filter(match)
    if group not in {g.code for g in groups}:
        group = ""
    if group:
        panelists = panelists.filter(group__code=group)
    if status not in Panelist.Status.values:
        status = ""
    if status:
        panelists = panelists.filter(status=status)
    return panelists, {"q": q, "group": group, "status": status}


def _group_page(request, study, group=None):
    form = GroupForm(request.POST or None, instance=group, panel=study.panel)
    if request.method == "POST" and form.is_valid():
        try:
            if group is None:
                group = group_create(panel=study.panel, **form.cleaned_data)
            else:
                group_update(group=group, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Group “{group.name}” saved.")
            return redirect("panel_detail", study=study.uuid)
    return render(
        request,
        "delphi/form_page.html",
        {
            "study": study,
            "form": form,
            "heading": "Edit stakeholder group" if group else "Add a stakeholder group",
            "back": "panel_detail",
        },
    )


@login_required
def group_create_view(request, study):
    study = get_study_for_user(request, study, write=True)
    return _group_page(request, study)


@login_required
def group_edit(request, study, code):
    study = get_study_for_user(request, study, write=True)
    # Edit the instance the form mutates, but look it up freshly (its code may change).
    group = get_object_or_404(StakeholderGroup, panel=study.panel, code=code)
    return _group_page(request, study, group)


@login_required
def panelist_create_view(request, study):
    study = get_study_for_user(request, study, write=True)
    form = PanelistForm(request.POST or None, panel=study.panel)
    if request.method == "POST" and form.is_valid():
        try:
            panelist = panelist_create(panel=study.panel, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Panelist {panelist.public_id} added.")
            if "add_another" in request.POST:
                return redirect("panelist_create", study=study.uuid)
            return redirect("panel_detail", study=study.uuid)
    return render(
        request,
        "delphi/form_page.html",
        {
            "study": study,
            "form": form,
            "heading": "Add a panelist",
            "back": "panel_detail",
            "add_another": True,
        },
    )


@login_required
def panelist_edit(request, study, panelist):
    study = get_study_for_user(request, study, write=True)
    panelist = get_object_or_404(
        Panelist.objects.select_related("group"), panel=study.panel, uuid=panelist
    )
    contact = Contact.objects.filter(panelist=panelist).first()
    initial = {
        "group": panelist.group,
        "language": panelist.language,
        "email": contact.email if contact else "",
        "name": contact.name if contact else "",
        "organisation": contact.organisation if contact else "",
    }
    form = PanelistEditForm(request.POST or None, initial=initial, panel=study.panel)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason", "")
        try:
            panelist_update_audited(
                study=study, panelist=panelist, by=request.user, data=data, reason=reason
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Panelist {panelist.public_id} saved.")
            return redirect("panel_detail", study=study.uuid)
    return render(
        request,
        "delphi/form_page.html",
        {
            "study": study,
            "form": form,
            "heading": f"Edit panelist {panelist.public_id}",
            "back": "panel_detail",
        },
    )


@login_required
def panel_import(request, study):
    study = get_study_for_user(request, study, write=True)
    form = CsvImportForm(request.POST or None, request.FILES or None)
    table = None
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"]
        with transaction.atomic():
            table, created = panelists_import(panel=study.panel, text=text)
            if created:
                audit_record(
                    study=study, verb="panel_import", actor=request.user, panelists=len(created)
                )
        if created:
            messages.success(request, f"Imported {len(created)} panelists.")
            return redirect("panel_detail", study=study.uuid)
        # Nothing was saved: hand the content back, pasted, so it can be fixed in place.
        form = CsvImportForm(initial={"text": text})
    return render(
        request,
        "delphi/csv_import.html",
        {
            "study": study,
            "form": form,
            "table": table,
            "heading": "Import panelists from CSV",
            "columns": PANELIST_COLUMNS,
            "example": "email,name,group,organisation,language\n"
            "ana@example.org,Ana Ruiz,peer,County peer network,es",
            "notes": "group is a stakeholder group's code or name; language is en or es "
            "(empty means en). Either every row is imported or none is.",
            "back": "panel_detail",
        },
    )
