"""Reads for the coding queue: open-ended answers and suggestions with their codes.

Each function serves a page in a fixed number of queries, however many answers there are.
"""

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from delphi.models import AnswerCode, PromptAnswer, Round, RoundPrompt, Study, Suggestion

STATUSES = (
    ("", "All"),
    ("todo", "Not coded yet"),
    ("coded", "Coded"),
    ("unusable", "Not usable"),
)


def _active_codes(field: str):
    return AnswerCode.objects.filter(**{field: OuterRef("pk")}, withdrawn_at__isnull=True)


def _annotate(qs: QuerySet, field: str) -> QuerySet:
    active = _active_codes(field)
    return qs.annotate(
        is_coded=Exists(active.filter(statement__isnull=False)),
        is_unusable=Exists(active.filter(statement__isnull=True)),
    )


def _codes_prefetch():
    return Prefetch(
        "codes",
        queryset=AnswerCode.objects.select_related("statement", "created_by", "withdrawn_by"),
        to_attr="all_codes",
    )


def _status_filter(qs: QuerySet, status: str) -> QuerySet:
    if status == "todo":
        return qs.filter(is_coded=False, is_unusable=False)
    if status == "coded":
        return qs.filter(is_coded=True)
    if status == "unusable":
        return qs.filter(is_unusable=True)
    return qs


def _counts(qs: QuerySet) -> dict:
    return qs.aggregate(
        total=Count("pk"),
        coded=Count("pk", filter=Q(is_coded=True)),
        unusable=Count("pk", filter=Q(is_unusable=True)),
    )


def generation_rounds(study: Study) -> list[Round]:
    return list(study.rounds.filter(kind=Round.Kind.GENERATION).order_by("number"))


def study_prompts(study: Study) -> list[RoundPrompt]:
    return list(
        RoundPrompt.objects.filter(round__study=study)
        .select_related("round", "scenario")
        .order_by("round__number", "order", "id")
    )


def answers_queryset(
    *,
    study: Study,
    round_id=None,
    prompt_id=None,
    scenario_id=None,
    group_id=None,
    q: str = "",
) -> QuerySet:
    """Non-empty answers of the study's generation rounds, filtered, with their coded status."""
    qs = PromptAnswer.objects.filter(response__round__study=study).exclude(text="")
    if round_id:
        qs = qs.filter(response__round_id=round_id)
    if prompt_id:
        qs = qs.filter(prompt_id=prompt_id)
    if scenario_id:
        qs = qs.filter(prompt__scenario_id=scenario_id)
    if group_id:
        qs = qs.filter(response__panelist__group_id=group_id)
    if q:
        qs = qs.filter(text__icontains=q)
    return _annotate(qs, "answer")


def answers_page_rows(qs: QuerySet, status: str = ""):
    return (
        _status_filter(qs, status)
        .select_related(
            "response__round", "response__panelist__group", "prompt__scenario", "prompt__round"
        )
        .prefetch_related(_codes_prefetch())
        .order_by("response__round__number", "prompt__order", "prompt_id", "id")
    )


def suggestions_queryset(
    *, study: Study, round_id=None, scenario_id=None, group_id=None, q: str = ""
) -> QuerySet:
    qs = Suggestion.objects.filter(round__study=study)
    if round_id:
        qs = qs.filter(round_id=round_id)
    if scenario_id:
        qs = qs.filter(scenario_id=scenario_id)
    if group_id:
        qs = qs.filter(response__panelist__group_id=group_id)
    if q:
        qs = qs.filter(Q(text__icontains=q) | Q(rationale__icontains=q))
    return _annotate(qs, "suggestion")


def suggestions_page_rows(qs: QuerySet, status: str = ""):
    return (
        _status_filter(qs, status)
        .select_related("round", "response__panelist__group", "domain", "scenario")
        .prefetch_related(_codes_prefetch())
        .order_by("round__number", "created_at", "id")
    )


def queue_counts(qs: QuerySet) -> dict:
    c = _counts(qs)
    c["todo"] = c["total"] - c["coded"] - c["unusable"]
    return c


def statement_sources(statement) -> list[AnswerCode]:
    """Every code that ever pointed at the statement (withdrawn ones too, marked as such)."""
    return list(
        AnswerCode.objects.filter(statement=statement)
        .select_related(
            "round",
            "answer__prompt__scenario",
            "answer__response__panelist__group",
            "suggestion__response__panelist__group",
            "created_by",
            "withdrawn_by",
        )
        .order_by("round__number", "created_at", "id")
    )


def recent_codes(study: Study, limit: int = 8) -> list[AnswerCode]:
    """The latest coding decisions, so researchers coding together see each other's work."""
    return list(
        AnswerCode.objects.filter(study=study)
        .select_related("statement", "created_by", "round")
        .order_by("-created_at", "-id")[:limit]
    )


def export_rows(study: Study):
    """One row per answer or suggestion × code (an uncoded entry gives one row with no code)."""
    answers = (
        PromptAnswer.objects.filter(response__round__study=study)
        .exclude(text="")
        .select_related("response__round", "response__panelist__group", "prompt__scenario")
        .prefetch_related(_codes_prefetch())
        .order_by("response__round__number", "prompt__order", "prompt_id", "id")
    )
    for a in answers:
        base = {
            "round": a.response.round.number,
            "source": "answer",
            "prompt": a.prompt.text,
            "scenario": a.prompt.scenario.code if a.prompt.scenario_id else "",
            "panelist": a.response.panelist.public_id,
            "group": a.response.panelist.group.code if a.response.panelist.group_id else "",
            "text": a.text,
        }
        yield from _with_codes(base, a.all_codes)
    suggestions = (
        Suggestion.objects.filter(round__study=study)
        .select_related("round", "response__panelist__group", "scenario")
        .prefetch_related(_codes_prefetch())
        .order_by("round__number", "created_at", "id")
    )
    for s in suggestions:
        base = {
            "round": s.round.number,
            "source": "suggestion",
            "prompt": "",
            "scenario": s.scenario.code if s.scenario_id else "",
            "panelist": s.response.panelist.public_id,
            "group": s.response.panelist.group.code if s.response.panelist.group_id else "",
            "text": s.text,
        }
        yield from _with_codes(base, s.all_codes)


EXPORT_FIELDS = (
    "round",
    "source",
    "prompt",
    "scenario",
    "panelist",
    "group",
    "text",
    "fragment",
    "statement",
    "not_usable_reason",
    "coded_by",
    "coded_at",
    "withdrawn_at",
    "withdraw_reason",
)


def _with_codes(base: dict, codes):
    if not codes:
        yield {**base, **dict.fromkeys(EXPORT_FIELDS[7:], "")}
        return
    for c in codes:
        yield {
            **base,
            "fragment": c.fragment,
            "statement": c.statement.code if c.statement_id else "",
            "not_usable_reason": c.unusable_reason,
            "coded_by": c.created_by.get_username() if c.created_by_id else "",
            "coded_at": c.created_at.isoformat(timespec="seconds"),
            "withdrawn_at": c.withdrawn_at.isoformat(timespec="seconds") if c.withdrawn_at else "",
            "withdraw_reason": c.withdraw_reason,
        }


def round_coding_summary(rnd: Round) -> dict:
    """For a generation round's page: answer counts and whether a rating round can follow."""
    counts = queue_counts(answers_queryset(study=rnd.study, round_id=rnd.pk))
    counts["statements"] = (
        AnswerCode.objects.filter(round=rnd, withdrawn_at__isnull=True, statement__isnull=False)
        .values("statement_id")
        .distinct()
        .count()
    )
    counts["can_start_rating"] = (
        rnd.status in (Round.Status.CLOSED, Round.Status.ANALYSED)
        and not rnd.study.rounds.filter(number__gt=rnd.number).exists()
    )
    return counts
