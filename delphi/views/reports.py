"""Report pages for analysts and researchers: one page per part, figures, exports.

Every page reads ``report_data`` (persisted results only) and renders the sections of
``delphi.reports.parts``; nothing here computes a statistic.
"""

import csv

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from delphi.access import get_study_for_user
from delphi.models import Membership, ReportExport
from delphi.reports.data import ACCORD_FIELDS, PAGES_CACHE_SECONDS, report_data_for_pages
from delphi.reports.figures import FIGURES
from delphi.reports.files import FILES
from delphi.reports.parts import PARTS, part_sections, qualitative_rows
from delphi.reports.services import report_export_request, report_exports_request_all
from delphi.reports.tidy import neutralise
from delphi.services.audit import audit_record

PART_NAMES = dict(PARTS)


class ReportingFieldsForm(forms.Form):
    pass


for _name, _label in ACCORD_FIELDS:
    ReportingFieldsForm.base_fields[_name] = forms.CharField(
        label=_label, required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


def _data(study, request):
    lang = request.GET.get("lang", "en")
    return report_data_for_pages(study=study, language="es" if lang == "es" else "en")


def id_of(data) -> str:
    """What the cached data was drawn from: its stamp (the generation time, kept with it)."""
    return f"{data.generated_at:%Y%m%d%H%M%S%f}"


def _filters(request, data) -> dict:
    items = sorted(set(data.comments["item"])) if len(data.comments) else []
    rounds = sorted(set(int(r) for r in data.comments["round"])) if len(data.comments) else []
    chosen = {
        "item": request.GET.get("item", ""),
        "group": request.GET.get("group", ""),
        "round": request.GET.get("round", ""),
    }
    chosen = {
        "item": chosen["item"] if chosen["item"] in items else "",
        "group": chosen["group"] if chosen["group"] in set(data.groups["code"]) else "",
        "round": chosen["round"] if chosen["round"] in {str(r) for r in rounds} else "",
    }
    return chosen, items, rounds


@login_required
def study_report(request, study, part="protocol"):
    study = get_study_for_user(request, study)
    if part not in PART_NAMES:
        raise Http404
    data = _data(study, request)
    context = {
        "study": study,
        "parts": PARTS,
        "part": part,
        "part_title": PART_NAMES[part],
        "data": data,
        "is_researcher": study.user_role == Membership.Role.RESEARCHER,
    }
    if part == "qualitative":
        chosen, items, rounds = _filters(request, data)
        context.update(
            filters=chosen,
            filter_items=items,
            filter_rounds=rounds,
            filter_groups=[(c, data.group_label(c)) for c in data.groups["code"]],
            sections=part_sections(data, part, filters=chosen),
        )
    else:
        context["sections"] = part_sections(data, part)
    if part == "accord" and context["is_researcher"]:
        context["fields_form"] = ReportingFieldsForm(initial=data.accord_fields)
    if part == "stability" or part == "ledger":
        context["analysed_rounds"] = [
            int(n) for n in data.rounds.loc[data.rounds["analysed"], "number"]
        ]
    return render(request, "delphi/report/report.html", context)


@require_POST
@login_required
def study_report_fields(request, study):
    study = get_study_for_user(request, study, write=True)
    form = ReportingFieldsForm(request.POST)
    if not form.is_valid():
        data = _data(study, request)
        return render(
            request,
            "delphi/report/report.html",
            {
                "study": study,
                "parts": PARTS,
                "part": "accord",
                "part_title": PART_NAMES["accord"],
                "data": data,
                "sections": part_sections(data, "accord"),
                "fields_form": form,
                "is_researcher": True,
            },
            status=400,
        )
    changed = {
        name: form.cleaned_data[name].strip()
        for name, _ in ACCORD_FIELDS
        if form.cleaned_data[name].strip() != getattr(study, name)
    }
    if changed:
        for name, value in changed.items():
            setattr(study, name, value)
        study.save(update_fields=[*changed, "updated_at"])
        audit_record(
            study=study, verb="study_reporting_update", actor=request.user, fields=list(changed)
        )
    messages.success(request, "Reporting fields saved; the report includes them as written.")
    return redirect("study_report_part", study=study.uuid, part="accord")


@login_required
def study_report_figure(request, study, name):
    study = get_study_for_user(request, study)
    if name not in FIGURES:
        raise Http404
    try:
        rnd = int(request.GET.get("round", "0"))
    except ValueError:
        raise Http404
    data = report_data_for_pages(study=study)
    if rnd == 0:
        analysed = data.rounds.loc[data.rounds["analysed"], "number"]
        rnd = int(analysed.max()) if len(analysed) else 0
    # Drawing a 300-item figure takes over a second: kept with the data it was drawn from.
    key = f"report-figure:v1:{study.pk}:{id_of(data)}:{name}:{rnd}"
    png = cache.get(key)
    if png is None:
        png = FIGURES[name](data, rnd, "png")
        cache.set(key, png, PAGES_CACHE_SECONDS)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=60"
    return response


@login_required
def study_report_comments_csv(request, study):
    """The qualitative table as filtered on the page, as CSV (public ids only)."""
    study = get_study_for_user(request, study)
    data = _data(study, request)
    chosen, _, _ = _filters(request, data)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="comments.csv"'
    writer = csv.writer(response)
    writer.writerow(["round", "item", "panelist", "group", "kind", "text"])
    for row in qualitative_rows(data, **chosen):
        writer.writerow([neutralise(str(v)) for v in row])
    return response


# --- downloads -----------------------------------------------------------------------------


def _options(source) -> tuple[str, bool]:
    language = "es" if source.get("language") == "es" else "en"
    include_comments = source.get("comments", "include") != "exclude"
    return language, include_comments


@login_required
def study_report_downloads(request, study):
    study = get_study_for_user(request, study)
    language, include_comments = _options(request.GET)
    exports = {
        e.kind: e
        for e in ReportExport.objects.filter(
            study=study, language=language, include_comments=include_comments
        ).defer("content")
    }
    rows = [
        {
            "kind": kind,
            "name": name,
            "label": ReportExport.Kind(kind).label,
            "export": exports.get(kind),
        }
        for kind, (name, _, _) in FILES.items()
    ]
    active = any(r["export"] and r["export"].status in ("queued", "running") for r in rows)
    return render(
        request,
        "delphi/report/downloads.html",
        {
            "study": study,
            "parts": PARTS,
            "part": "downloads",
            "part_title": "Downloads",
            "rows": rows,
            "language": language,
            "include_comments": include_comments,
            "active": active,
        },
    )


@require_POST
@login_required
def study_report_generate(request, study, kind):
    study = get_study_for_user(request, study)
    if kind not in FILES and kind != "all":
        raise Http404
    language, include_comments = _options(request.POST)
    query = f"?language={language}&comments={'include' if include_comments else 'exclude'}"
    if kind == "all":
        # One task reads the study once and writes every file that is not cached.
        with transaction.atomic():
            exports = report_exports_request_all(
                study=study, language=language, include_comments=include_comments,
                by=request.user,
            )  # fmt: skip
        failed = [e for e in exports if e.status == ReportExport.Status.FAILED]
        if failed:
            messages.error(request, "Not generated: " + "; ".join(
                f"{FILES[e.kind][0]}: {e.error}" for e in failed))  # fmt: skip
        elif all(e.status == ReportExport.Status.DONE for e in exports):
            messages.success(request, "The three files are ready.")
        else:
            messages.info(request, "The files are being generated; this page updates.")
        return redirect(reverse("study_report_downloads", kwargs={"study": study.uuid}) + query)
    with transaction.atomic():
        export = report_export_request(
            study=study, kind=kind, language=language, include_comments=include_comments,
            by=request.user,
        )  # fmt: skip
    export.refresh_from_db()
    if export.status == ReportExport.Status.FAILED:
        messages.error(request, f"The {FILES[kind][0]} could not be generated: {export.error}")
    elif export.status == ReportExport.Status.DONE:
        messages.success(request, f"{FILES[kind][0]} is ready.")
    else:
        messages.info(request, f"{FILES[kind][0]} is being generated; this page updates.")
    return redirect(reverse("study_report_downloads", kwargs={"study": study.uuid}) + query)


@login_required
def study_report_export_status(request, study, export):
    study = get_study_for_user(request, study)
    row = ReportExport.objects.filter(study=study, uuid=export).defer("content").first()
    if row is None:
        raise Http404
    return JsonResponse(
        {
            "status": row.status,
            "status_label": row.get_status_display(),
            "progress": row.progress,
            "stage": row.stage,
            "error": row.error,
            "finished": row.status not in ("queued", "running"),
        }
    )


@login_required
def study_report_download(request, study, export):
    study = get_study_for_user(request, study)
    row = ReportExport.objects.filter(
        study=study, uuid=export, status=ReportExport.Status.DONE
    ).first()
    if row is None:
        raise Http404
    name, content_type, _ = FILES[row.kind]
    response = HttpResponse(bytes(row.content), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
