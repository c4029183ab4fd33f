"""Researcher pages for coding panelists' words: the queue, its export, a statement's sources."""

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from competencies.models import Statement
from delphi import coding_selectors as sel
from delphi.access import get_study_for_user
from delphi.forms import CodeWithdrawForm, CodingForm, apply_errors
from delphi.models import Membership, Round
from delphi.services.coding import (
    coding_create_statement,
    coding_link,
    coding_mark_unusable,
    coding_withdraw,
    derivation_phrase,
    derivations,
    round_start_rating,
)
from lib.spreadsheet import neutralise

PER_PAGE = 50
# Characters that make a spreadsheet treat a cell as a formula (FIELD-NOTES: exports).


def _int(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


def _filters(params, study) -> dict:
    source = params.get("source") if params.get("source") in ("answers", "suggestions") else ""
    status = params.get("status", "")
    return {
        "source": source or "answers",
        "round": _int(params.get("round")),
        "prompt": _int(params.get("prompt")),
        "scenario": _int(params.get("scenario")),
        "group": _int(params.get("group")),
        "status": status if status in dict(sel.STATUSES) else "",
        "q": (params.get("q") or "").strip()[:200],
    }


def _query(filters: dict, **override) -> str:
    merged = {**filters, **override}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def _keys(post) -> list[str]:
    return [k for k in post.getlist("entry") if k]


@login_required
def coding_queue(request, study):
    study = get_study_for_user(request, study, write=request.method == "POST")
    filters = _filters(request.GET, study)
    form = CodingForm(request.POST or None, framework=study.framework)
    form.fields["statement"].error_messages["invalid_choice"] = (
        "That statement is not one of this study's statements; answers can only support "
        "statements of their own study."
    )
    selected = _keys(request.POST) if request.method == "POST" else []
    fragments = {k: request.POST.get(f"fragment-{k}", "") for k in selected}
    if request.method == "POST":
        if not selected:
            form.is_valid()
            form.add_error(None, "Select at least one answer or suggestion first.")
        elif form.is_valid():
            d = form.cleaned_data
            try:
                if d["action"] == "new":
                    st = coding_create_statement(
                        study=study,
                        by=request.user,
                        keys=selected,
                        fragments=fragments,
                        domain=d["domain"],
                        code=d["code"],
                        text=d["text"],
                        plain_text=d["plain_text"],
                        text_es=d["text_es"],
                        plain_text_es=d["plain_text_es"],
                    )
                    text = f"New statement {st.code} created from {len(selected)} entries."
                elif d["action"] == "link":
                    rows = coding_link(
                        study=study,
                        by=request.user,
                        keys=selected,
                        fragments=fragments,
                        statement=d["statement"],
                    )
                    text = f"{len(rows)} entries now support {d['statement'].code}."
                else:
                    rows = coding_mark_unusable(
                        study=study, by=request.user, keys=selected, reason=d["reason"]
                    )
                    text = f"{len(rows)} entries marked not usable."
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, text)
                return redirect(
                    reverse("coding_queue", kwargs={"study": study.uuid}) + "?" + _query(filters)
                )
    return render(
        request, "delphi/coding.html", _context(request, study, filters, form, selected, fragments)
    )


def _context(request, study, filters, form, selected, fragments) -> dict:
    common = {"study": study, "q": filters["q"], "group_id": filters["group"]}
    if filters["source"] == "answers":
        qs = sel.answers_queryset(
            study=study,
            round_id=filters["round"],
            prompt_id=filters["prompt"],
            scenario_id=filters["scenario"],
            group_id=filters["group"],
            q=filters["q"],
        )
        rows_qs = sel.answers_page_rows(qs, filters["status"])
    else:
        qs = sel.suggestions_queryset(
            study=study,
            round_id=filters["round"],
            scenario_id=filters["scenario"],
            group_id=filters["group"],
            q=filters["q"],
        )
        rows_qs = sel.suggestions_page_rows(qs, filters["status"])
    page = Paginator(rows_qs, PER_PAGE).get_page(request.GET.get("page"))
    prefix = "a" if filters["source"] == "answers" else "s"
    rows = [
        {
            "obj": obj,
            "key": f"{prefix}{obj.pk}",
            "checked": f"{prefix}{obj.pk}" in selected,
            "fragment": fragments.get(f"{prefix}{obj.pk}", ""),
            "codes": obj.all_codes,
        }
        for obj in page.object_list
    ]
    return {
        **common,
        "filters": filters,
        "form": form,
        "rows": rows,
        "n_selected": len(selected),
        "page": page,
        "counts": sel.queue_counts(qs),
        "tab_counts": {
            "answers": sel.answers_queryset(study=study).count(),
            "suggestions": sel.suggestions_queryset(study=study).count(),
        },
        "rounds": list(study.rounds.order_by("number")),
        "prompts": sel.study_prompts(study),
        "scenarios": list(study.framework.scenarios.all()),
        "groups": list(study.panel.groups.all()),
        "statuses": sel.STATUSES,
        "recent": sel.recent_codes(study),
        "query": _query(filters),
        "query_no_page": _query(filters),
        "query_answers": _query(filters, source="answers", prompt=None),
        "query_suggestions": _query(filters, source="suggestions", prompt=None),
        "can_edit": study.user_role == Membership.Role.RESEARCHER,
        "withdraw_form": CodeWithdrawForm(),
    }


@login_required
def coding_withdraw_view(request, study):
    study = get_study_for_user(request, study, write=True)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = CodeWithdrawForm(request.POST)
    back = reverse("coding_queue", kwargs={"study": study.uuid})
    nxt = request.POST.get("next", "")
    if nxt.startswith("?"):
        back += nxt
    if not form.is_valid():
        messages.error(request, "Say why the code is withdrawn; nothing was changed.")
        return redirect(back)
    try:
        coding_withdraw(
            study=study,
            by=request.user,
            code_id=form.cleaned_data["code_id"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Code withdrawn; it stays in the record with your reason.")
    return redirect(back)


def _cell(value):
    value = "" if value is None else str(value)
    # Leading blanks before = + - @ too (lib/spreadsheet.py).
    return neutralise(value)


@login_required
def coding_export(request, study):
    # A read; a POST is treated as an attempted write (analysts get 403, like every page).
    study = get_study_for_user(request, study, write=request.method == "POST")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="open-ended-answers-and-codes.csv"'
    writer = csv.writer(response)
    writer.writerow(sel.EXPORT_FIELDS)
    for row in sel.export_rows(study):
        writer.writerow([_cell(row[f]) for f in sel.EXPORT_FIELDS])
    return response


@login_required
def statement_sources(request, study, statement):
    study = get_study_for_user(request, study, write=request.method == "POST")
    st = get_object_or_404(
        Statement.objects.select_related("domain"), framework_id=study.framework_id, uuid=statement
    )
    counts = derivations([st.pk]).get(st.pk, {})
    return render(
        request,
        "delphi/coding_sources.html",
        {
            "study": study,
            "statement": st,
            "codes": sel.statement_sources(st),
            "phrase": derivation_phrase(counts),
        },
    )


@login_required
def round_start_rating_view(request, study, round):
    study = get_study_for_user(request, study, write=True)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    rnd = get_object_or_404(Round, study=study, uuid=round)
    rnd.study = study
    try:
        new = round_start_rating(round=rnd, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("round_detail", study=study.uuid, round=rnd.uuid)
    messages.success(
        request,
        f"Round {new.number} drafted with the {new.items.count()} statements coded in round "
        f"{rnd.number}. Add or remove statements, then open it.",
    )
    return redirect("round_items", study=study.uuid, round=new.uuid)
