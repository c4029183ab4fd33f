"""Researcher pages for a study's competency framework: domains, statements, scenarios, import."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render

from competencies.csv_import import COLUMNS as STATEMENT_COLUMNS
from competencies.forms import DomainForm, ScenarioForm, StatementForm
from competencies.models import Domain, Scenario, Statement
from competencies.services import (
    domain_create,
    domain_update,
    scenario_create,
    statement_create,
    statements_import,
)
from delphi import selectors
from delphi.access import get_study_for_user
from delphi.forms import CsvImportForm, apply_errors
from delphi.models import Membership
from delphi.services.audit import audit_record
from delphi.services.audited import scenario_update_audited, statement_update_audited
from delphi.services.coding import derivation_phrase, derivations


@login_required
def framework_detail(request, study):
    study = get_study_for_user(request, study, write=request.method == "POST")
    domains = list(study.framework.domains.all())
    statements = list(selectors.framework_statements(study.framework))
    by_domain = {d.pk: [] for d in domains}
    derived = derivations(s.pk for s in statements)
    for s in statements:
        s.derived = derivation_phrase(derived.get(s.pk, {}))
        by_domain.setdefault(s.domain_id, []).append(s)
    return render(
        request,
        "competencies/framework_detail.html",
        {
            "study": study,
            "sections": [(d, by_domain[d.pk]) for d in domains],
            "scenarios": list(study.framework.scenarios.all()),
            "n_statements": len(statements),
            "can_edit": study.user_role == Membership.Role.RESEARCHER,
        },
    )


def _object_page(request, study, form, save, heading, name):
    if request.method == "POST" and form.is_valid():
        try:
            obj = save(form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{name} “{obj.code}” saved.")
            return redirect("framework_detail", study=study.uuid)
    return render(
        request,
        "delphi/form_page.html",
        {"study": study, "form": form, "heading": heading, "back": "framework_detail"},
    )


@login_required
def domain_create_view(request, study):
    study = get_study_for_user(request, study, write=True)
    fw = study.framework
    form = DomainForm(request.POST or None, framework=fw)
    return _object_page(
        request,
        study,
        form,
        lambda data: domain_create(framework=fw, **data),
        "Add a domain",
        "Domain",
    )


@login_required
def domain_edit(request, study, code):
    study = get_study_for_user(request, study, write=True)
    domain = get_object_or_404(Domain, framework=study.framework, code=code)
    form = DomainForm(request.POST or None, instance=domain, framework=study.framework)
    return _object_page(
        request,
        study,
        form,
        lambda data: domain_update(domain=domain, **data),
        f"Edit domain {code}",
        "Domain",
    )


@login_required
def statement_create_view(request, study):
    study = get_study_for_user(request, study, write=True)
    fw = study.framework
    form = StatementForm(request.POST or None, framework=fw)
    return _object_page(
        request,
        study,
        form,
        lambda data: statement_create(framework=fw, **data),
        "Add a statement",
        "Statement",
    )


@login_required
def statement_edit(request, study, statement):
    study = get_study_for_user(request, study, write=True)
    obj = get_object_or_404(Statement, framework=study.framework, uuid=statement)
    form = StatementForm(request.POST or None, instance=obj, framework=study.framework)
    return _object_page(
        request,
        study,
        form,
        lambda data: statement_update_audited(
            study=study, statement=obj, by=request.user, data=data
        ),
        f"Edit statement {obj.code}",
        "Statement",
    )


@login_required
def scenario_create_view(request, study):
    study = get_study_for_user(request, study, write=True)
    fw = study.framework
    form = ScenarioForm(request.POST or None, framework=fw)
    return _object_page(
        request,
        study,
        form,
        lambda data: scenario_create(framework=fw, **data),
        "Add a scenario",
        "Scenario",
    )


@login_required
def scenario_edit(request, study, scenario):
    study = get_study_for_user(request, study, write=True)
    obj = get_object_or_404(Scenario, framework=study.framework, uuid=scenario)
    form = ScenarioForm(request.POST or None, instance=obj, framework=study.framework)
    return _object_page(
        request,
        study,
        form,
        lambda data: scenario_update_audited(study=study, scenario=obj, by=request.user, data=data),
        f"Edit scenario {obj.code}",
        "Scenario",
    )


@login_required
def framework_import(request, study):
    study = get_study_for_user(request, study, write=True)
    form = CsvImportForm(request.POST or None, request.FILES or None)
    table = None
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"]
        with transaction.atomic():
            table, created = statements_import(framework=study.framework, text=text)
            if created:
                audit_record(
                    study=study,
                    verb="framework_import",
                    actor=request.user,
                    statements=len(created),
                )
        if created:
            messages.success(request, f"Imported {len(created)} statements.")
            return redirect("framework_detail", study=study.uuid)
        form = CsvImportForm(initial={"text": text})
    return render(
        request,
        "delphi/csv_import.html",
        {
            "study": study,
            "form": form,
            "table": table,
            "heading": "Import statements from CSV",
            "columns": STATEMENT_COLUMNS + ("text_es", "plain_text_es"),
            "example": "code,domain,text,plain_text,provenance\n"
            'CD1,CD,"Uses calm, plain language to de-escalate.",Talks calmly.,expert_panel',
            "notes": "domain is a domain's code or name; provenance is one of expert_panel, "
            "interview, focus_group, literature, panelist (or its label). text_es and "
            "plain_text_es are optional. Either every row is imported or none is.",
            "back": "framework_detail",
        },
    )
