"""Round results: statistics and verdicts per item and group, the run's status, the next round.

Pages read persisted results only; computing happens in the consensus run, never in a view.
"""

import csv
from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, F, Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from competencies.models import Domain
from delphi.access import get_study_for_user
from delphi.consensus import selectors
from delphi.consensus.rows import ITEM_FIELDS, STABILITY_FIELDS
from delphi.consensus.services import (
    consensus_run_start,
    round_create_next,
    round_protocol,
    run_is_live,
)
from delphi.models import (
    ConsensusRun,
    GroupConcordance,
    ItemDecision,
    ItemResult,
    Round,
    Study,
)
from delphi.templatetags.researcher_format import p_value
from delphi.views.ranking_results import ranking_results_csv
from lib.spreadsheet import neutralise

# ?sort= value -> the column ordered on. Server-side, so sorting works without script.
SORTS = {
    "order": "item__order",
    "code": "item__statement__code",
    "n": "n",
    "n_unable": "n_unable",
    "median": "median",
    "iqr": "iqr",
    "mean": "mean",
    "sd": "sd",
    "pct_low": "pct_low",
    "pct_mid": "pct_mid",
    "pct_high": "pct_high",
    "ram_class": "ram_class",
    "dai": "dai",
    "rwg": "rwg",
    "pct_change": "pct_change",
    "wilcoxon_p": "wilcoxon_p",
    "verdict": "verdict",
}
COLUMNS = [
    ("n", "n"),
    ("n_unable", "Unable"),
    ("median", "Median"),
    ("iqr", "IQR"),
    ("mean", "Mean"),
    ("sd", "SD"),
    ("pct_low", "% low"),
    ("pct_mid", "% mid"),
    ("pct_high", "% high"),
    ("ram_class", "RAND/UCLA"),
    ("dai", "DAI"),
    ("rwg", "rWG"),
    ("pct_change", "% change"),
    ("wilcoxon_p", "Wilcoxon p"),
]
ACTIVE = (ConsensusRun.Status.QUEUED, ConsensusRun.Status.RUNNING)
# Characters that make a spreadsheet treat a cell as a formula (FIELD-NOTES: exports).


def _study_round(request, study_uuid, round_uuid, *, write=False):
    study = get_study_for_user(request, study_uuid, write=write)
    rnd = get_object_or_404(Round, study=study, uuid=round_uuid)
    rnd.study = study
    return study, rnd


def _round_detail_url(study, rnd) -> str | None:
    try:
        return reverse("round_detail", kwargs={"study": study.uuid, "round": rnd.uuid})
    except NoReverseMatch:
        return None


def _definition_text(definition: dict) -> str:
    try:
        from delphi.consensus.definitions import describe_definition
    except ImportError:
        return ""
    try:
        return describe_definition(definition)
    except (KeyError, TypeError, ValueError):
        return ""


def _preset_labels() -> dict:
    try:
        from delphi.consensus.definitions import PRESETS
    except ImportError:
        return {}
    return {name: preset.get("label", name) for name, preset in PRESETS.items()}


RECOVERING = "Recovering"


def _recovering(run: ConsensusRun | None) -> bool:
    """Running, but its worker stopped beating: the broker is redelivering it (settings:
    CELERY_VISIBILITY_TIMEOUT), and the next attempt re-claims the run."""
    return run is not None and run.status == ConsensusRun.Status.RUNNING and not run_is_live(run)


def _run_json(run: ConsensusRun | None) -> dict:
    if run is None:
        return {"status": "none", "progress": 0, "stage": "", "error": ""}
    return {
        "status": run.status,
        "status_label": RECOVERING if _recovering(run) else run.get_status_display(),
        "progress": run.progress,
        "stage": run.stage,
        "error": run.error,
        "attempts": run.attempts,
        "finished": run.status not in ACTIVE,
    }


INCLUDED_KEYS = ("policy", "submitted", "complete_drafts", "partial_drafts")
INCLUDED_COLUMNS = (
    "drafts_policy",
    "responses_submitted",
    "complete_drafts_included",
    "partial_drafts_included",
)


def _n(count: int, what: str) -> str:
    return f"{count} {what}{'' if count == 1 else 's'}"


def included_text(included: dict | None) -> str:
    """What a run analysed, as a sentence: "Analysed under “…”: 40 submitted, ..."."""
    included = included or {}
    policy = included.get("policy")
    if policy not in Study.DraftsPolicy.values:
        return ""
    text = (
        f"Responses analysed under “{Study.DraftsPolicy(policy).label}”: "
        f"{included.get('submitted', 0)} submitted, "
        f"{_n(included.get('complete_drafts', 0), 'complete draft')}, "
        f"{_n(included.get('partial_drafts', 0), 'partial draft')}."
    )
    left = []
    if included.get("left_out_complete_drafts"):
        left.append(_n(included["left_out_complete_drafts"], "complete draft"))
    if included.get("left_out_partial_drafts"):
        left.append(_n(included["left_out_partial_drafts"], "partial draft"))
    if included.get("left_out_withdrawn"):
        left.append(_n(included["left_out_withdrawn"], "withdrawn panelist") + " who asked "
                    "for their answers to be dropped")  # fmt: skip
    if left:
        text += " Left out (kept, not analysed): " + ", ".join(left) + "."
    return text


RESULTS_PER_PAGE = 100
# One number format per column, wherever a column is shown: medians fall on halves, so one
# decimal is exact; IQRs fall on quarters (Hyndman-Fan type 7), so they keep two.
DECIMALS = {
    "n": 0, "n_unable": 0, "median": 1, "iqr": 2, "mean": 2, "sd": 2, "pct_low": 1,
    "pct_mid": 1, "pct_high": 1, "dai": 2, "rwg": 2, "pct_change": 1,
}  # fmt: skip


def result_cells(result: ItemResult) -> dict:
    """Each statistic of a result row as the text shown ("–" when undefined)."""
    cells = {}
    for name, places in DECIMALS.items():
        value = getattr(result, name)
        cells[name] = "–" if value is None else f"{value:.{places}f}"
    cells["ram_class"] = result.ram_class or "–"
    cells["wilcoxon_p"] = p_value(result.wilcoxon_p)
    return cells


def group_labels(groups) -> dict:
    """group_key -> what a reader sees: "Everyone", "Balanced …", or the group's name."""
    return {
        "all": "Everyone",
        "balanced": "Balanced (groups weighted equally)",
        **{g.code: g.name for g in groups},
    }


def _sort_options(columns) -> list[tuple[str, str]]:
    options = [("order", "Item order"), ("code", "Item code, A–Z"), ("-code", "Item code, Z–A")]
    for name, label in [("verdict", "Verdict"), *columns]:
        options += [(name, f"{label}, low to high"), (f"-{name}", f"{label}, high to low")]
    return options


def _result_filters(params, *, group_keys, domains) -> dict:
    verdict = params.get("verdict") or ""
    domain = params.get("domain") or ""
    return {
        "group": params.get("group") if params.get("group") in group_keys else "all",
        "verdict": verdict if verdict in ItemDecision.Verdict.values else "",
        "domain": domain if domain in {d.code for d in domains} else "",
        "q": (params.get("q") or "").strip()[:100],
    }


@login_required
def round_results(request, study, round):
    study, rnd = _study_round(request, study, round)
    groups = list(study.panel.groups.all())
    labels = group_labels(groups)
    domains = list(Domain.objects.filter(framework_id=study.framework_id).order_by("order", "code"))
    filters = _result_filters(request.GET, group_keys=list(labels), domains=domains)
    group = filters["group"]
    sort = request.GET.get("sort", "order")
    key = sort.removeprefix("-")
    if key not in SORTS:
        sort, key = "order", "order"
    field = SORTS[key]
    expr = F(field).desc(nulls_last=True) if sort.startswith("-") else F(field).asc(nulls_last=True)
    # In item order, statements are grouped by domain; sorted on a column they are ranked
    # across domains (the domain filter ranks within one).
    by_domain = key == "order"
    ordering = [expr, "item__order", "item_id"]
    if by_domain:
        ordering = ["item__statement__domain__order", "item__statement__domain_id", *ordering]
    results = ItemResult.objects.filter(round=rnd, group_key=group)
    if filters["verdict"]:
        results = results.filter(
            item__in=ItemDecision.objects.filter(round=rnd, verdict=filters["verdict"]).values(
                "item"
            )
        )
    if filters["domain"]:
        results = results.filter(item__statement__domain__code=filters["domain"])
    if filters["q"]:
        q = filters["q"]
        results = results.filter(
            Q(item__statement__code__icontains=q)
            | Q(item__statement__text__icontains=q)
            | Q(item__scenario__code__icontains=q)
        )
    results = results.select_related("item__statement__domain", "item__scenario").order_by(
        *ordering
    )
    page = Paginator(results, RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    results = list(page.object_list)
    decisions = {d.item_id: d for d in ItemDecision.objects.filter(round=rnd)}
    # One query: does the round have results at all (the page's sections), and do this
    # group's rows carry stability (a previous round of the same kind)? Asked of the whole
    # round, so a filter that empties the page does not change the table's shape.
    shape = ItemResult.objects.filter(round=rnd).aggregate(
        rows=Count("pk"),
        stable=Count(
            "pk",
            filter=Q(group_key=group) & (Q(n_paired__isnull=False) | Q(pct_change__isnull=False)),
        ),
    )
    has_stability = bool(shape["stable"])
    columns = [c for c in COLUMNS if has_stability or c[0] not in ("pct_change", "wilcoxon_p")]
    rows = [
        {"result": r, "decision": decisions.get(r.item_id), "cell": result_cells(r)}
        for r in results
    ]
    for row in rows:
        row["details"] = [(label, row["cell"][name]) for name, label in columns]

    preset_labels = _preset_labels()
    preset_names = list(preset_labels) or sorted(
        {name for d in decisions.values() for name in d.preset_verdicts}
    )
    sensitivity = []
    for name in preset_names:
        counts = Counter(d.preset_verdicts.get(name) for d in decisions.values())
        sensitivity.append(
            {
                "name": name,
                "label": preset_labels.get(name, name),
                "in": counts.get("in", 0),
                "out": counts.get("out", 0),
                "none": counts.get("none", 0),
            }
        )
    chosen = Counter(d.verdict for d in decisions.values())
    for row in rows:
        decision = row["decision"]
        row["presets"] = [
            (decision.preset_verdicts.get(name) if decision else None) for name in preset_names
        ]

    run = selectors.round_latest_run(round=rnd)
    protocol = round_protocol(round=rnd)
    # The next round of the same kind: a ranking round in between does not block the next
    # rating round.
    # One query for both: the later rounds, of any kind.
    later = list(Round.objects.filter(study=study, number__gt=rnd.number).order_by("number"))
    next_round = next((r for r in later if r.kind == rnd.kind), None)
    is_researcher = study.user_role == "researcher"
    concordance = list(GroupConcordance.objects.filter(round=rnd).order_by("group_key"))
    for c in concordance:
        c.label = labels.get(c.group_key, c.group_key)
    filter_query = {k: v for k, v in filters.items() if v and not (k == "group" and v == "all")}
    context = {
        "study": study,
        "round": rnd,
        "groups": groups,
        "group": group,
        "group_label": labels[group],
        "group_choices": list(labels.items()),
        "verdict_choices": ItemDecision.Verdict.choices,
        "domains": domains,
        "filters": filters,
        "filtered": bool(filters["verdict"] or filters["domain"] or filters["q"]),
        "page": page,
        "by_domain": by_domain,
        # The query string of the filters: sort links keep them, page links keep them and
        # the sort.
        "filter_query": urlencode(filter_query),
        "query": urlencode({**filter_query, **({"sort": sort} if sort != "order" else {})}),
        "sort_options": _sort_options(columns),
        "any_results": bool(shape["rows"]),
        "sort": sort,
        "columns": columns,
        "has_stability": has_stability,
        "rows": rows,
        "preset_names": preset_names,
        "preset_labels": [preset_labels.get(n, n) for n in preset_names],
        "sensitivity": sensitivity,
        "chosen": {
            "in": chosen.get("in", 0),
            "out": chosen.get("out", 0),
            "none": chosen.get("none", 0),
        },
        "concordance": concordance,
        "run": run,
        "run_active": run is not None and run.status in ACTIVE,
        "run_recovering": _recovering(run),
        "definition_text": _definition_text(protocol.definition),
        "included_text": included_text(run.included if run else None),
        "protocol": protocol,
        "next_round": next_round,
        "next_number": (later[-1].number if later else rnd.number) + 1,
        "next_round_url": _round_detail_url(study, next_round) if next_round else None,
        "round_detail_url": _round_detail_url(study, rnd),
        "is_researcher": is_researcher,
        "can_run": is_researcher
        and rnd.status in (Round.Status.CLOSED, Round.Status.ANALYSED)
        and not (run is not None and run_is_live(run)),
        "can_start_next": is_researcher
        and rnd.kind == Round.Kind.RATING
        and rnd.status == Round.Status.ANALYSED
        and next_round is None,
    }
    if context["can_start_next"]:
        from delphi.services.lifecycle import stopping_rule_status

        # When the stopping rule holds, "Finish the study" replaces "Start next round".
        context["stopping"] = stopping_rule_status(study=study)
    context["figures"] = _figures_context(study, rnd, groups)
    return render(request, "delphi/results/round_results.html", context)


def _figures_context(study, rnd, groups) -> dict:
    """Tables beside the report's heat map and verdict chart (persisted rows only)."""
    k = study.min_group_size or 1
    rows = list(
        ItemResult.objects.filter(round=rnd)
        .exclude(group_key="balanced")
        .order_by("item__order", "item_id")
        .values_list("item__statement__code", "item__scenario__code", "group_key", "pct_high", "n")
    )
    smallest = {}
    for _, _, key, _, n in rows:
        smallest[key] = min(smallest.get(key, n), n)
    shown = ["all"] + [g.code for g in groups if smallest.get(g.code, 0) >= k]
    table = {}
    for code, scenario, key, pct, _ in rows:
        if key in shown:
            table.setdefault(code + (f"@{scenario}" if scenario else ""), {})[key] = pct
    labels = {"all": "Whole panel", **{g.code: g.name for g in groups}}
    verdicts = Counter(
        (number, verdict)
        for number, verdict in ItemDecision.objects.filter(round__study=study).values_list(
            "round__number", "verdict"
        )
    )
    numbers = sorted({n for n, _ in verdicts})
    return {
        "groups": [labels[c] for c in shown],
        "heat": [(item, [values.get(c) for c in shown]) for item, values in table.items()],
        "verdicts": [
            (
                n,
                verdicts.get((n, "in"), 0),
                verdicts.get((n, "out"), 0),
                verdicts.get((n, "none"), 0),
            )
            for n in numbers
        ],
        "hidden": [labels[g.code] for g in groups if g.code not in shown],
    }


@login_required
def consensus_run_status(request, study, round, run):
    """The run row as JSON, polled by run_status.js (not Celery's result backend)."""
    study, rnd = _study_round(request, study, round)
    run = get_object_or_404(ConsensusRun, round=rnd, uuid=run)
    return JsonResponse(_run_json(run))


@require_POST
@login_required
def consensus_run_again(request, study, round):
    study, rnd = _study_round(request, study, round, write=True)
    if rnd.status not in (Round.Status.CLOSED, Round.Status.ANALYSED):
        messages.error(request, "Close the round before computing its consensus statistics.")
        return redirect("round_results", study=study.uuid, round=rnd.uuid)
    with transaction.atomic():
        run = consensus_run_start(round=rnd, by=request.user)
    run.refresh_from_db()
    if run.status == ConsensusRun.Status.FAILED:
        messages.error(request, f"The consensus run failed: {run.error}")
    elif run.status == ConsensusRun.Status.DONE:
        messages.success(request, "Consensus statistics computed.")
    else:
        messages.info(request, "Consensus run queued; this page updates when it finishes.")
    return redirect("round_results", study=study.uuid, round=rnd.uuid)


@require_POST
@login_required
def round_start_next(request, study, round):
    study, rnd = _study_round(request, study, round, write=True)
    from delphi.services.lifecycle import round_low_n_items, stopping_rule_status

    # Verdicts resting on too few ratings, or a stopping rule that already holds, need the
    # researcher's decision on the confirmation page first.
    if study.finished_at or stopping_rule_status(study=study).holds or round_low_n_items(round=rnd):
        return redirect("round_next", study=study.uuid, round=rnd.uuid)
    try:
        new = round_create_next(round=rnd, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("round_results", study=study.uuid, round=rnd.uuid)
    carried = new.items.count()
    messages.success(
        request,
        f"Round {new.number} drafted with the {carried} item(s) that had no consensus. "
        "Review its items, then open it.",
    )
    url = _round_detail_url(study, new)
    return redirect(url) if url else redirect("round_results", study=study.uuid, round=new.uuid)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    # Leading blanks before = + - @ too (lib/spreadsheet.py).
    return neutralise(text)


@login_required
def round_results_csv(request, study, round):
    study, rnd = _study_round(request, study, round)
    if rnd.kind == Round.Kind.RANKING:
        return ranking_results_csv(rnd)
    decisions = {
        d.item_id: d
        for d in ItemDecision.objects.filter(round=rnd).only(
            "item_id", "verdict", "carried_forward"
        )
    }
    results = (
        ItemResult.objects.filter(round=rnd)
        .select_related("item__statement", "item__scenario")
        .order_by("item__order", "item_id", "group_key")
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="round-{rnd.number}-item-results.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "round",
            "item",
            "statement",
            "group",
            *ITEM_FIELDS,
            *STABILITY_FIELDS,
            "verdict",
            "decision",
            "carried_forward",
            # What the run analysed: the same on every row, so a filtered copy keeps it.
            *INCLUDED_COLUMNS,
            # Flags the results page shows: closed below quorum (a recorded deviation), and
            # inputs changed since this analysis (a panelist moved group; re-run to update).
            "below_quorum",
            "inputs_changed_since_analysis",
        ]
    )
    run = (
        ConsensusRun.objects.filter(round=rnd, status=ConsensusRun.Status.DONE)
        .order_by("-finished_at", "-id")
        .first()
    )
    included = (run.included if run else None) or {}
    included_cells = [included.get(key) for key in INCLUDED_KEYS]
    flags = [bool(rnd.below_quorum), rnd.inputs_changed_at is not None]
    for r in results:
        decision = decisions.get(r.item_id)
        writer.writerow(
            [
                _cell(v)
                for v in (
                    rnd.number,
                    r.item.key,
                    r.item.statement.text,
                    r.group_key,
                    *(getattr(r, name) for name in ITEM_FIELDS),
                    *(getattr(r, name) for name in STABILITY_FIELDS),
                    r.verdict or None,
                    decision.verdict if decision else None,
                    decision.carried_forward if decision else None,
                    *included_cells,
                    *flags,
                )
            ]
        )
    return response
