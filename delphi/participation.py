"""Who took part, round by round and stakeholder group by group.

Two reads, both a fixed number of queries however large the panel:

- ``participation_flow(study=...)``: per round × group (and ``all``) the funnel invited →
  opened → consented → started → submitted, the response rate and the attrition from the
  previous round. The participation page, the report's participant flow and the attrition
  check read it.
- ``round_answer_status(round=...)``: per panelist who could answer the round, whether they
  submitted, hold a complete draft, a partial draft, or have not started. The close
  confirmation and the quorum read it.

Invitations are per panelist (one live link), not per round, so an invitation belongs to the
round whose window — from its opening to the next round's opening — it was created in. A link
opened during that window counts as "opened" for the round whichever round it was sent for
(a round-1 link still leads to round 2), and anybody who has an answer in the round counts as
invited and opened: they reached it somehow (a link, a session, an imported paper form).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db.models import Case, Count, IntegerField, Max, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from delphi.models import (
    AuditEvent,
    ConsensusRun,
    PromptAnswer,
    Rating,
    Response,
    Round,
    RoundItem,
    RoundPrompt,
    Study,
)
from panels.models import Invitation, Panelist

ALL = "all"


def _window(rounds: list[Round], now: datetime) -> dict[int, tuple[datetime, datetime]]:
    """Round id -> (start, end): from its opening to the next round's opening (or now)."""
    spans = {}
    for i, rnd in enumerate(rounds):
        start = rnd.opened_at
        later = [r.opened_at for r in rounds[i + 1 :] if r.opened_at]
        end = later[0] if later else now
        spans[rnd.pk] = (start, max(end, start))
    return spans


def _in(moment, span) -> bool:
    return moment is not None and span[0] <= moment < span[1]


def _answered_counts(round_ids) -> dict[tuple[int, int], tuple[str, bool, int | None]]:
    """(round id, panelist id) -> (status, excluded, items answered). One query.

    Answers are counted for drafts only (None for a submitted response): a submitted response
    counts as submitted whatever it holds, and counting every answer of every closed round
    read the whole study (3.6 s for 2,000 panelists x 300 items x 4 rounds, bench/pages.py).
    PostgreSQL runs a CASE branch's subquery only for the rows whose condition holds.
    """

    def counted(answers):
        return Case(
            When(
                status=Response.Status.DRAFT,
                then=Coalesce(
                    Subquery(
                        answers.filter(response_id=OuterRef("pk"))
                        .order_by()
                        .values("response_id")
                        .annotate(n=Count("*"))
                        .values("n"),
                        output_field=IntegerField(),
                    ),
                    0,
                ),
            ),
            default=None,
            output_field=IntegerField(),
        )

    rows = (
        Response.objects.filter(round_id__in=round_ids)
        .order_by()
        .values_list("round_id", "panelist_id", "status", "excluded")
        .annotate(
            rated=counted(Rating.objects.filter(Q(value__isnull=False) | Q(unable=True))),
            written=counted(PromptAnswer.objects.exclude(text="")),
        )
    )
    return {
        (r, p): (status, excluded, None if rated is None else rated + written)
        for r, p, status, excluded, rated, written in rows
    }


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def participation_flow(*, study: Study) -> list[dict]:
    """Rows per opened round × stakeholder group, plus a group ``all`` row per round.

    Keys: round, round_uuid, round_kind, round_status, group (code or "all"), group_name,
    invited, opened, consented, started, submitted, response_rate (submitted / invited, a
    fraction, None when nobody was invited), previous_submitted (who submitted the previous
    round, in this group), dropped (of those, who did not submit this one), attrition
    (dropped / previous_submitted, None for the first round).

    "Started" means at least one answer saved; "submitted" leaves out answers excluded from
    analysis (a withdrawn panelist who asked for their answers to be dropped). Counts use each
    panelist's current stakeholder group.
    """
    now = timezone.now()
    rounds = list(
        Round.objects.filter(study=study).exclude(status=Round.Status.DRAFT).order_by("number")
    )
    if not rounds:
        return []
    spans = _window(rounds, now)
    panelists = list(
        Panelist.objects.filter(panel_id=study.panel_id).values_list(
            "pk", "group_id", "consented_at"
        )
    )
    group_of = {pk: g for pk, g, _ in panelists}
    consented_at = {pk: c for pk, _, c in panelists}
    groups = list(study.panel.groups.order_by("order", "name").values_list("pk", "code", "name"))
    invitations = list(
        Invitation.objects.filter(panelist__panel_id=study.panel_id).values_list(
            "panelist_id", "created_at", "sent_at", "opened_at"
        )
    )
    answers = _answered_counts([r.pk for r in rounds])

    rows: list[dict] = []
    previous_submitted: set[int] | None = None
    for rnd in rounds:
        span = spans[rnd.pk]
        end = rnd.closed_at or now
        sent = {p for p, created, sent_at, _ in invitations if sent_at and _in(created, span)}
        opened = {p for p, _, _, opened_at in invitations if _in(opened_at, span)}
        responded = {p for (r, p) in answers if r == rnd.pk}
        started = {p for (r, p), (_, _, n) in answers.items() if r == rnd.pk and n}
        submitted = {
            p
            for (r, p), (status, excluded, _) in answers.items()
            if r == rnd.pk and status == Response.Status.SUBMITTED and not excluded
        }
        started |= submitted
        invited = sent | opened | responded
        opened |= responded
        consented = {p for p in opened if consented_at.get(p) and consented_at[p] < end}
        sets = {
            "invited": invited,
            "opened": opened,
            "consented": consented,
            "started": started,
            "submitted": submitted,
        }
        for key, code, name in [(None, ALL, "All panelists"), *groups]:

            def only(s, key=key):
                return s if key is None else {p for p in s if group_of.get(p) == key}

            row = {
                "round": rnd.number,
                "round_uuid": str(rnd.uuid),
                "round_kind": rnd.kind,
                "round_status": rnd.status,
                "group": code,
                "group_name": name,
                **{k: len(only(v)) for k, v in sets.items()},
            }
            row["response_rate"] = _rate(row["submitted"], row["invited"])
            if previous_submitted is None:
                row.update(previous_submitted=None, dropped=None, attrition=None)
            else:
                before = only(previous_submitted)
                dropped = before - submitted
                row.update(
                    previous_submitted=len(before),
                    dropped=len(dropped),
                    attrition=_rate(len(dropped), len(before)),
                )
            rows.append(row)
        previous_submitted = submitted
    return rows


# ---------------------------------------------------------------------------------------------
# One round's answers, panelist by panelist


SUBMITTED = "submitted"
COMPLETE = "complete"
PARTIAL = "partial"
NOT_STARTED = "not_started"
STATES = (SUBMITTED, COMPLETE, PARTIAL, NOT_STARTED)
STATE_LABELS = {
    SUBMITTED: "Submitted",
    COMPLETE: "Complete drafts",
    PARTIAL: "Partial drafts",
    NOT_STARTED: "Not started",
}


@dataclass
class GroupStatus:
    code: str
    name: str
    counts: dict = field(default_factory=lambda: dict.fromkeys(STATES, 0))

    @property
    def eligible(self) -> int:
        return sum(self.counts.values())


@dataclass
class RoundAnswerStatus:
    n_items: int
    groups: list[GroupStatus]  # "all" first, then the stakeholder groups in panel order
    states: dict[int, str]  # panelist id -> state

    @property
    def all(self) -> GroupStatus:
        return self.groups[0]


def round_answer_status(*, round: Round) -> RoundAnswerStatus:
    """Everyone who could answer ``round`` and how far they got. Four queries.

    Eligible: every active panelist on the panel, plus anybody whose answers to this round
    still count (a panelist who withdrew but kept their answers). A draft is complete when
    every item (or, in an item-generation round, every question) has an answer — a rating or
    "unable to rate"; partial when it has some; a draft with none is "not started".
    """
    study = round.study
    if round.kind == Round.Kind.GENERATION:
        n_items = RoundPrompt.objects.filter(round=round).count()
    else:
        n_items = RoundItem.objects.filter(round=round).count()
    answers = {p: v for (_, p), v in _answered_counts([round.pk]).items()}
    panelists = Panelist.objects.filter(panel_id=study.panel_id).values_list(
        "pk", "group_id", "status"
    )
    groups = [GroupStatus(code=ALL, name="All panelists")]
    by_pk = {}
    for pk, code, name in study.panel.groups.order_by("order", "name").values_list(
        "pk", "code", "name"
    ):
        by_pk[pk] = GroupStatus(code=code, name=name)
        groups.append(by_pk[pk])
    states: dict[int, str] = {}
    for pk, group_id, status in panelists:
        state_row = answers.get(pk)
        if state_row is not None and state_row[1]:
            continue  # answers excluded from analysis: not part of this round any more
        if status != Panelist.Status.ACTIVE and state_row is None:
            continue
        if state_row is None or (state_row[0] != Response.Status.SUBMITTED and state_row[2] == 0):
            state = NOT_STARTED
        elif state_row[0] == Response.Status.SUBMITTED:
            state = SUBMITTED
        elif n_items and state_row[2] >= n_items:
            state = COMPLETE
        else:
            state = PARTIAL
        states[pk] = state
        groups[0].counts[state] += 1
        if group_id in by_pk:
            by_pk[group_id].counts[state] += 1
    return RoundAnswerStatus(n_items=n_items, groups=groups, states=states)


# ---------------------------------------------------------------------------------------------
# Attrition bias: did those who left rate differently?


def _top_band(bands) -> tuple[int, int]:
    last = list(bands)[-1]
    if isinstance(last, dict):
        return int(last["min"]), int(last["max"])
    return int(last[0]), int(last[1])


@dataclass
class AttritionCheck:
    round: Round
    previous: Round
    result: object  # delphi.consensus.stats.attrition.AttritionResult
    provisional: bool  # the round is still open: "dropouts" may yet submit
    rows: list[dict]  # the result's items with the statement beside them, differing first


ATTRITION_CACHE_SECONDS = 7 * 24 * 3600


def _round_source(rnd: Round) -> str | None:
    """What names a round's counted answers: its latest finished run, or its close (answers
    are read-only from then on); None while it is open."""
    run = (
        ConsensusRun.objects.filter(round=rnd, status=ConsensusRun.Status.DONE)
        .order_by("-finished_at", "-pk")
        .values_list("uuid", "fingerprint")
        .first()
    )
    if run is not None:
        return f"run:{run[0]}:{run[1]}"
    if rnd.status != Round.Status.OPEN and rnd.closed_at is not None:
        return f"closed:{rnd.closed_at.isoformat()}"
    return None


def _attrition_cache_key(previous: Round, current: Round) -> str | None:
    """The check's inputs, named without reading them: the previous round's run (or close),
    and this round's run (or close) — or, while it is open, the study's latest audit time
    (every answer writes an audit row). None when the previous round is still open."""
    before = _round_source(previous)
    if before is None:
        return None
    now = _round_source(current)
    if now is None:
        latest = AuditEvent.objects.filter(study_id=current.study_id).aggregate(m=Max("at"))["m"]
        now = f"open:{latest.isoformat() if latest else ''}"
    return f"attrition:v2:{previous.pk}:{before}:{current.pk}:{now}"


def round_attrition_check(*, round: Round) -> AttritionCheck | None:
    """Compare, on the previous rating round's analysed ratings, those whose answers to
    ``round`` count with those whose do not. None when there is no previous rating round."""
    from delphi.consensus.selectors import (
        round_analysed_ratings,
        round_item_keys,
        round_previous,
        round_ratings_frame,
    )
    from delphi.consensus.services import round_protocol
    from delphi.consensus.stats.attrition import attrition_bias

    if round.kind != Round.Kind.RATING or round.status == Round.Status.DRAFT:
        return None
    previous = round_previous(round=round)
    if previous is None:
        return None
    previous.study = round.study
    # The check reads the previous round's every rating (600 k at 2,000 x 300), and who stayed
    # reads this round's: computed once per state of both rounds and kept in the cache, so the
    # page pays it only when either changes.
    key = _attrition_cache_key(previous, round)
    cached = cache.get(key) if key else None
    if cached is None:
        # "Stayed": their answers to this round count, under its drafts policy, as the
        # analysis reads them; the previous round's panel is everyone its analysis read.
        stayed = set(
            round_analysed_ratings(round=round)
            .order_by()
            .values_list("response__panelist__public_id", flat=True)
            .distinct()
        )
        keys = round_item_keys(round=previous)
        frame = round_ratings_frame(round=previous, keys=keys)
        protocol = round_protocol(round=previous)
        result = attrition_bias(
            frame,
            stayed,
            scale_min=protocol.scale_min,
            scale_max=protocol.scale_max,
            top_band=_top_band(protocol.bands),
        )
        texts = {
            keys[pk]: text
            for pk, text in RoundItem.objects.filter(round=previous).values_list(
                "pk", "statement__text"
            )
            if pk in keys
        }
        rows = [dict(r, text=texts.get(r["item"], "")) for r in result.items.to_dict("records")]
        rows.sort(key=lambda r: (not r["differs"], r["p_holm"] if r["p_holm"] is not None else 2))
        if key:
            cache.set(key, (result, rows), ATTRITION_CACHE_SECONDS)
    else:
        result, rows = cached
    return AttritionCheck(
        round=round,
        previous=previous,
        result=result,
        provisional=round.status == Round.Status.OPEN,
        rows=rows,
    )
