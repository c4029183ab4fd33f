"""Researcher-side reads. Each returns what a page needs in a fixed number of queries,
however many studies, items or panelists there are."""

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from competencies.models import Statement
from delphi.models import (
    AuditEvent,
    ConsensusRun,
    Deviation,
    ItemChange,
    Membership,
    Response,
    Round,
    RoundItem,
    Study,
    Suggestion,
)
from panels.models import Contact, Panelist, StakeholderGroup


def _count(qs, outer_field: str, ref: str):
    """A correlated COUNT(*) subquery, so one query serves a whole list."""
    sub = (
        qs.filter(**{outer_field: OuterRef(ref)})
        .order_by()
        .values(outer_field)
        .annotate(c=Count("pk"))
        .values("c")
    )
    return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))


def studies_for_user(user):
    """The studies a user belongs to, with their role, latest round and counts, in one query."""
    last_round = Round.objects.filter(study=OuterRef("pk")).order_by("-number")
    qs = Study.objects.all() if user.is_superuser else Study.objects.filter(memberships__user=user)
    role = Membership.objects.filter(study=OuterRef("pk"), user=user).values("role")[:1]
    return qs.annotate(
        role=Subquery(role),
        n_panelists=_count(Panelist.objects.filter(status="active"), "panel", "panel"),
        n_groups=_count(StakeholderGroup.objects.all(), "panel", "panel"),
        n_statements=_count(Statement.objects.filter(is_active=True), "framework", "framework"),
        n_rounds=_count(Round.objects.all(), "study", "pk"),
        last_round_number=Subquery(last_round.values("number")[:1]),
        last_round_status=Subquery(last_round.values("status")[:1]),
        last_round_submitted=Subquery(
            Response.objects.filter(
                round=Subquery(last_round.values("pk")[:1]), status=Response.Status.SUBMITTED
            )
            .order_by()
            .values("round")
            .annotate(c=Count("pk"))
            .values("c"),
            output_field=IntegerField(),
        ),
    ).order_by("-created_at")


def rounds_with_counts(study):
    return study.rounds.annotate(
        n_items=_count(RoundItem.objects.all(), "round", "pk"),
        n_in_progress=_count(Response.objects.filter(status=Response.Status.DRAFT), "round", "pk"),
        n_submitted=_count(
            Response.objects.filter(status=Response.Status.SUBMITTED), "round", "pk"
        ),
        n_suggestions=_count(Suggestion.objects.all(), "round", "pk"),
    ).order_by("number")


def study_overview(study) -> dict:
    panel_counts = Panelist.objects.filter(panel_id=study.panel_id).aggregate(
        active=Count("pk", filter=Q(status="active")),
        withdrawn=Count("pk", filter=Q(status="withdrawn")),
    )
    return {
        "rounds": list(rounds_with_counts(study)),
        "deviations": list(Deviation.objects.filter(study=study).select_related("by")),
        "members": list(
            Membership.objects.filter(study=study).select_related("user").order_by("role")
        ),
        "events": list(AuditEvent.objects.filter(study=study).select_related("actor")[:15]),
        "n_panelists": panel_counts["active"],
        "n_withdrawn": panel_counts["withdrawn"],
        "n_statements": Statement.objects.filter(framework_id=study.framework_id).count(),
    }


def groups_with_sizes(panel):
    return panel.groups.annotate(
        actual=Count("panelists", filter=Q(panelists__status="active"))
    ).order_by("order", "name")


def panelists_for_panel(panel):
    return (
        Panelist.objects.filter(panel=panel)
        .select_related("group", "contact")
        .order_by("group__order", "contact__name", "public_id")
    )


def panel_emails(panel):
    return Contact.objects.filter(panel=panel).values_list("email", flat=True)


def framework_statements(framework):
    return Statement.objects.filter(framework=framework).select_related("domain", "revision_of")


def round_items(rnd):
    return rnd.items.select_related("statement__domain", "scenario", "carried_from__round")


def round_detail_data(rnd) -> dict:
    counts = Response.objects.filter(round=rnd).aggregate(
        in_progress=Count("pk", filter=Q(status=Response.Status.DRAFT)),
        submitted=Count("pk", filter=Q(status=Response.Status.SUBMITTED)),
    )
    return {
        "items": list(round_items(rnd)),
        "prompts": list(rnd.prompts.select_related("scenario")),
        "n_in_progress": counts["in_progress"],
        "n_submitted": counts["submitted"],
        "n_invited": Panelist.objects.filter(panel_id=rnd.study.panel_id, status="active").count(),
        "suggestions_new": Suggestion.objects.filter(round=rnd, status="new").count(),
        "run": ConsensusRun.objects.filter(round=rnd).order_by("-queued_at").first(),
        "changes": list(
            ItemChange.objects.filter(round=rnd).select_related("statement", "previous", "by")
        ),
    }


def round_suggestions(rnd):
    return (
        Suggestion.objects.filter(round=rnd)
        .select_related(
            "domain", "scenario", "statement", "decided_by", "response__panelist__group"
        )
        .order_by("status", "created_at")
    )
