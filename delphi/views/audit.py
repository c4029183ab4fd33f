"""The study's audit log: a filterable, paginated page and the same rows as CSV.

Both seal the study's pending rows first (``audit_seal``), so what is shown is chained, and
both show the chain's state from ``audit_verify``.
"""

import csv
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.shortcuts import render

from delphi.access import get_study_for_user
from delphi.models import AuditEvent
from delphi.services.audit import audit_seal, audit_verify

PER_PAGE = 50
CSV_COLUMNS = [
    "chain_seq", "at", "source", "who", "verb", "object_type", "object_id", "object_label",
    "old", "new", "detail", "prev_hash", "hash",
]  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _filtered(study, params):
    qs = AuditEvent.objects.filter(study=study)
    kind = (params.get("kind") or "").strip()
    obj = (params.get("object") or "").strip()
    person = (params.get("person") or "").strip()
    source = (params.get("source") or "").strip()
    if kind:
        qs = qs.filter(verb__startswith=kind)
    if source in AuditEvent.Source.values:
        qs = qs.filter(source=source)
    if obj:
        qs = qs.filter(
            Q(object_id__iexact=obj) | Q(object_label__icontains=obj) | Q(object_type=obj)
        )
    if person:
        qs = qs.filter(actor_label__icontains=person)
    return qs.order_by("-chain_seq", "-id"), {
        "kind": kind,
        "object": obj,
        "person": person,
        "source": source,
    }


@login_required
def audit_log(request, study):
    # Read-only pages: anything but GET is treated as a write (and refused to analysts).
    study = get_study_for_user(request, study, write=request.method not in ("GET", "HEAD"))
    audit_seal(study_id=study.pk)
    qs, filters = _filtered(study, request.GET)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    kinds = sorted(
        {v.split(".")[0].split("_")[0] for v in AuditEvent.objects.filter(study=study)
         .order_by().values_list("verb", flat=True).distinct()}
    )  # fmt: skip
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "delphi/audit_log.html",
        {
            "study": study,
            "page": page,
            "filters": filters,
            "kinds": kinds,
            "sources": AuditEvent.Source.choices,
            "chain": audit_verify(study=study),
            "query": query,
        },
    )


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet must not run a cell as a formula (leading spaces included).
    return "'" + text if text.lstrip(" \n").startswith(FORMULA_START) else text


def _json(value) -> str:
    import json

    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


@login_required
def audit_log_csv(request, study):
    # Read-only pages: anything but GET is treated as a write (and refused to analysts).
    study = get_study_for_user(request, study, write=request.method not in ("GET", "HEAD"))
    audit_seal(study_id=study.pk)
    qs, _ = _filtered(study, request.GET)
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        for e in qs.order_by("chain_seq", "id").iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    _cell(v)
                    for v in (
                        e.chain_seq,
                        e.at.isoformat(),
                        e.source,
                        e.actor_label,
                        e.verb,
                        e.object_type,
                        e.object_id,
                        e.object_label,
                        _json(e.old),
                        _json(e.new),
                        _json(e.detail),
                        e.prev_hash,
                        e.hash,
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{study.uuid}.csv"'
    return response
