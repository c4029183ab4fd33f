"""Closing a round safely: the quorum, and how the drafts policy counts unfinished answers.

``round_quorum(round=...)`` is what the close confirmation shows and what ``round_close``
checks; the deadline sweep calls it too, to keep a round below quorum open a little longer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from delphi.models import Round, Study
from delphi.participation import (
    ALL,
    COMPLETE,
    NOT_STARTED,
    PARTIAL,
    SUBMITTED,
    round_answer_status,
)

DRAFTS_POLICIES = {
    "complete": "Complete drafts count as submitted; partial drafts are left out.",
    "rated": "Every rated item counts, from submitted answers and from drafts alike.",
    "submitted": "Only submitted answers count; drafts are left out.",
}
# Which answer states each drafts policy counts as a response.
COUNTED = {
    "complete": (SUBMITTED, COMPLETE),
    "rated": (SUBMITTED, COMPLETE, PARTIAL),
    "submitted": (SUBMITTED,),
}


def drafts_policy(study: Study) -> str:
    """The study's drafts policy (``Study.drafts_policy``); a round reads its snapshot's."""
    policy = getattr(study, "drafts_policy", "complete") or "complete"
    return policy if policy in COUNTED else "complete"


def quorum_min_per_group(study: Study) -> int:
    if study.quorum_min_per_group is not None:
        return study.quorum_min_per_group
    return study.min_group_size


@dataclass
class GroupQuorum:
    code: str
    name: str
    eligible: int
    counted: int
    submitted: int
    complete: int
    partial: int
    not_started: int
    needed: int
    met: bool


@dataclass
class QuorumResult:
    """The quorum of one round as it stands now, with every figure behind the verdict."""

    met: bool
    policy: str
    policy_text: str
    pct_required: int
    min_per_group: int
    eligible: int
    counted: int
    needed: int  # responses needed overall for the response-rate part
    rate: float | None  # counted / eligible, a fraction
    groups: list[GroupQuorum] = field(default_factory=list)  # "all" first
    reasons: list[str] = field(default_factory=list)  # why it is not met; empty when met
    n_items: int = 0

    @property
    def all(self) -> GroupQuorum:
        return self.groups[0]

    @property
    def stakeholder_groups(self) -> list[GroupQuorum]:
        return self.groups[1:]

    @property
    def rate_pct(self) -> float | None:
        return None if self.rate is None else 100 * self.rate

    def as_dict(self) -> dict:
        return asdict(self)


def round_quorum(*, round: Round) -> QuorumResult:
    """Is ``round`` at its quorum? Counted responses follow the study's drafts policy.

    Two conditions, both from the protocol: counted responses reach ``quorum_pct`` % of the
    eligible panelists, and every stakeholder group with eligible panelists has at least
    ``quorum_min_per_group`` counted responses (the smallest group size when unset). A group
    with fewer eligible panelists than that can never meet it; it is reported, not skipped.
    """
    from delphi.consensus.selectors import round_drafts_policy

    study = round.study
    policy = round_drafts_policy(round)
    policy = policy if policy in COUNTED else "complete"
    counted_states = COUNTED[policy]
    status = round_answer_status(round=round)
    pct = study.quorum_pct
    per_group = quorum_min_per_group(study)
    groups = []
    for g in status.groups:
        counted = sum(g.counts[s] for s in counted_states)
        is_all = g.code == ALL
        needed = math.ceil(pct * g.eligible / 100) if is_all else per_group
        groups.append(
            GroupQuorum(
                code=g.code,
                name=g.name,
                eligible=g.eligible,
                counted=counted,
                submitted=g.counts[SUBMITTED],
                complete=g.counts[COMPLETE],
                partial=g.counts[PARTIAL],
                not_started=g.counts[NOT_STARTED],
                needed=needed,
                met=counted >= needed if (is_all or g.eligible) else True,
            )
        )
    overall = groups[0]
    reasons = []
    rate = overall.counted / overall.eligible if overall.eligible else None
    if overall.eligible == 0 and pct > 0:
        reasons.append("Nobody on the panel can answer this round.")
    elif not overall.met:
        reasons.append(
            f"{overall.counted} of {overall.eligible} eligible panelists "
            f"({100 * rate:.0f} %) count as responses; the quorum is {pct} % "
            f"({overall.needed} responses)."
        )
    for g in groups[1:]:
        if not g.met:
            reasons.append(
                f"{g.name}: {g.counted} response{'s' if g.counted != 1 else ''}, {g.needed} needed."
            )
    return QuorumResult(
        met=not reasons,
        policy=policy,
        policy_text=DRAFTS_POLICIES[policy],
        pct_required=pct,
        min_per_group=per_group,
        eligible=overall.eligible,
        counted=overall.counted,
        needed=overall.needed,
        rate=rate,
        groups=groups,
        reasons=reasons,
        n_items=status.n_items,
    )


# ---------------------------------------------------------------------------------------------
# Items whose verdict rests on too few ratings


def round_low_n_items(*, round: Round) -> list[dict]:
    """Items of an analysed round whose verdict (in or out) rests on fewer valid ratings
    than the quorum's overall number: their verdict must not retire them silently.

    The number is the quorum's ``needed`` when the round closed (``quorum_at_close``), else
    the quorum computed now. Rows: item, verdict, n (valid ratings, everyone).
    """
    from delphi.models import ItemDecision, ItemResult

    needed = (round.quorum_at_close or {}).get("needed")
    if needed is None:
        needed = round_quorum(round=round).needed
    decided = {
        d.item_id: d
        for d in ItemDecision.objects.filter(round=round, carried_forward=False).select_related(
            "item__statement"
        )
    }
    if not decided:
        return []
    n_by_item = dict(
        ItemResult.objects.filter(
            round=round, group_key="all", item_id__in=list(decided)
        ).values_list("item_id", "n")
    )
    rows = []
    for item_id, decision in decided.items():
        n = n_by_item.get(item_id, 0)
        if n < needed:
            rows.append(
                {"item": decision.item, "verdict": decision.verdict, "n": n, "needed": needed}
            )
    rows.sort(key=lambda r: (r["item"].order, r["item"].pk))
    return rows


# ---------------------------------------------------------------------------------------------
# The stopping rule, evaluated


@dataclass
class Condition:
    key: str  # planned_rounds, all_verdicts, carried_stable, ranking_agreement
    label: str
    met: bool
    figures: str


@dataclass
class StoppingStatus:
    rule: str
    rule_label: str
    holds: bool
    conditions: list[Condition]
    latest: Round | None  # the last analysed rating round the verdicts come from
    summary: str
    finished: bool = False


def _rounds_done(study: Study) -> int:
    return study.rounds.filter(status__in=[Round.Status.CLOSED, Round.Status.ANALYSED]).count()


STABILITY_TEST_SHORT = {
    Study.StabilityTest.PCT_CHANGE: "under 15 % change",
    Study.StabilityTest.WILCOXON: "Wilcoxon p ≥ 0.05",
    Study.StabilityTest.BOTH: "under 15 % change and Wilcoxon p ≥ 0.05",
}
WILCOXON_ALPHA = 0.05


def item_stable(test: str, pct_stable, n_paired, wilcoxon_p) -> bool | None:
    """One item's stability under the protocol's test, from its stored result; None when it
    cannot be tested (no earlier round, or nobody rated it in both)."""
    if test == Study.StabilityTest.PCT_CHANGE:
        return pct_stable
    if not n_paired:
        wilcoxon = None
    elif wilcoxon_p is None or wilcoxon_p != wilcoxon_p:
        # Paired, but nobody changed their rating: the test has nothing to rank.
        wilcoxon = True
    else:
        wilcoxon = wilcoxon_p >= WILCOXON_ALPHA
    if test == Study.StabilityTest.WILCOXON:
        return wilcoxon
    if pct_stable is None or wilcoxon is None:
        return None
    return pct_stable and wilcoxon


def _ranking_condition(study: Study) -> Condition | None:
    """The ranking consensus rule on the latest analysed ranking round, or None without one."""
    from delphi.consensus.ranking import ranking_consensus

    latest = (
        study.rounds.filter(kind=Round.Kind.RANKING, status=Round.Status.ANALYSED)
        .order_by("-number")
        .first()
    )
    if latest is None:
        return None
    outcome = ranking_consensus(round=latest)
    label = "The panel agrees on the ranking"
    if outcome is None or outcome["kendall_w"] is None:
        return Condition("ranking_agreement", label, False, f"round {latest.number}: no W")
    return Condition(
        key="ranking_agreement",
        label=label,
        met=outcome["reached"],
        figures=(
            f"round {latest.number}: Kendall's W = {outcome['kendall_w']:.2f} "
            f"({outcome['agreement']}), the rule asks W ≥ {outcome['threshold']:.2f}"
        ),
    )


def stopping_rule_status(*, study: Study) -> StoppingStatus:
    """Does the study's stored stopping rule hold, on its persisted results?

    Three conditions, each with the figures behind it: the planned number of rounds is
    reached (closed rounds of any kind); every item of the latest analysed rating round has a
    verdict; every item that round carries forward is stable (the stability test stored on
    its results: ``ItemResult.stable`` for everyone). The rule ``fixed`` holds on the first;
    ``consensus`` on the first or the second; ``stability`` on the first or the third. A study
    with an analysed ranking round stops early only if its latest one also reached the
    protocol's ranking agreement rule (``ranking_consensus_w``).
    """
    from delphi.models import ItemDecision, ItemResult

    done = _rounds_done(study)
    planned = Condition(
        key="planned_rounds",
        label="Planned rounds reached",
        met=done >= study.planned_rounds,
        figures=f"{done} of {study.planned_rounds} planned rounds closed",
    )
    latest = (
        study.rounds.filter(kind=Round.Kind.RATING, status=Round.Status.ANALYSED)
        .order_by("-number")
        .first()
    )
    verdicts = Condition("all_verdicts", "Every item has a verdict", False, "no analysed round")
    stable = Condition("carried_stable", "Every carried item is stable", False, "no analysed round")
    if latest is not None:
        counts = {"in": 0, "out": 0, "none": 0}
        carried_ids = []
        for item_id, verdict, carried in ItemDecision.objects.filter(round=latest).values_list(
            "item_id", "verdict", "carried_forward"
        ):
            counts[verdict if verdict in counts else "none"] += 1
            if carried:
                carried_ids.append(item_id)
        total = sum(counts.values())
        verdicts.met = total > 0 and not carried_ids
        verdicts.figures = (
            f"round {latest.number}: {counts['in']} in, {counts['out']} out, "
            f"{len(carried_ids)} without consensus, of {total} items"
        )
        flags = [
            item_stable(study.stability_test, pct_stable, n_paired, p)
            for pct_stable, n_paired, p in ItemResult.objects.filter(
                round=latest, group_key="all", item_id__in=carried_ids
            ).values_list("stable", "n_paired", "wilcoxon_p")
        ]
        n_stable = sum(1 for f in flags if f is True)
        n_untested = len(carried_ids) - sum(1 for f in flags if f is not None)
        stable.met = total > 0 and n_stable == len(carried_ids)
        stable.figures = (
            f"round {latest.number}: {n_stable} of {len(carried_ids)} carried items stable"
            + (f", {n_untested} not testable (no paired earlier round)" if n_untested else "")
            + f" ({STABILITY_TEST_SHORT[study.stability_test]})"
        )
    ranking = _ranking_condition(study)
    rule = study.stopping_rule
    if rule == Study.StoppingRule.FIXED:
        conditions, holds = [planned], planned.met
    else:
        second = stable if rule == Study.StoppingRule.STABILITY else verdicts
        conditions = [planned, second]
        early = second.met
        if ranking is not None:
            # A study that ranks its items stops early only once the latest ranking round
            # reached the protocol's agreement rule (Kendall's W, Schmidt 1997) as well.
            conditions.append(ranking)
            early = early and ranking.met
        holds = planned.met or early
    met = [c.label.lower() for c in conditions if c.met]
    if holds:
        summary = f"The stopping rule holds: {' and '.join(met)}."
    else:
        summary = (
            "The stopping rule does not hold yet: " + "; ".join(c.figures for c in conditions) + "."
        )
    return StoppingStatus(
        rule=rule,
        rule_label=study.get_stopping_rule_display(),
        holds=holds,
        conditions=conditions,
        latest=latest,
        summary=summary,
        finished=study.finished_at is not None,
    )


# ---------------------------------------------------------------------------------------------
# Finishing a study, and its final list


def final_list(*, study: Study) -> list[dict]:
    """Every statement the study rated, with its final verdict and the round it reached it,
    grouped by domain order. Rows: domain (code), domain_name, code, statement, plain_text,
    verdict ("in", "out" or "none"), round (the round of that verdict).

    An item's final verdict is its decision in the last analysed rating round that asked it.
    Statements a later round reworded are followed through ``carried_from``: the reworded
    statement is listed, not its predecessor.
    """
    from delphi.models import ItemDecision

    decisions = (
        ItemDecision.objects.filter(
            round__study=study, round__status=Round.Status.ANALYSED, round__kind=Round.Kind.RATING
        )
        .select_related("item__statement__domain", "item__scenario", "round")
        .order_by("round__number")
    )
    latest: dict[tuple, dict] = {}
    superseded: set[int] = set()
    for d in decisions:
        item = d.item
        if item.carried_from_id:
            superseded.add(item.carried_from_id)
        key = (item.statement_id, item.scenario_id)
        latest[key] = {
            "item_id": item.pk,
            "domain": item.statement.domain.code,
            "domain_name": item.statement.domain.name,
            "domain_order": item.statement.domain.order,
            "code": item.key,
            "statement": item.statement.text,
            "plain_text": item.statement.plain_text,
            "verdict": d.verdict,
            "round": d.round.number,
        }
    rows = [r for r in latest.values() if r["item_id"] not in superseded]
    # A reworded statement's predecessor (a different statement) is superseded by lineage.
    rows.sort(key=lambda r: (r["domain_order"], r["domain"], r["code"]))
    return rows


def study_finish(*, study: Study, by, reason: str = "") -> Study:
    """Finish the study: no further rounds, no reminders, the protocol frozen for good.

    The stopping rule must hold; finishing before it does needs a reason (a deviation).
    Open rounds must be closed first.
    """
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django.utils import timezone

    from delphi.models import Deviation
    from delphi.services.audit import audit_record

    reason = (reason or "").strip()
    if study.rounds.filter(status=Round.Status.OPEN).exists():
        raise ValidationError("Close the open round before finishing the study.")
    status = stopping_rule_status(study=study)
    if not status.holds and not reason:
        raise ValidationError(
            {
                "reason": "The stopping rule does not hold yet ("
                + "; ".join(c.figures for c in status.conditions)
                + "). Write why you finish the study now; it will be recorded as a deviation."
            }
        )
    now = timezone.now()
    with transaction.atomic():
        n = Study.objects.filter(pk=study.pk, finished_at__isnull=True).update(finished_at=now)
        if n != 1:
            raise ValidationError("This study is already finished.")
        if not status.holds:
            Deviation.objects.create(
                study=study,
                field="study_finish_early",
                old_value={"stopping_rule": study.stopping_rule},
                new_value={"conditions": [c.figures for c in status.conditions]},
                reason=reason,
                by=by if getattr(by, "is_authenticated", False) else None,
            )
        audit_record(
            study=study,
            verb="study_finish",
            actor=by,
            stopping_rule_held=status.holds,
            final_items=len(final_list(study=study)),
        )
    study.finished_at = now
    return study


def round_next_start(*, round: Round, by, carry_also=(), reason: str = "") -> Round:
    """Start the round after ``round`` through its confirmation: the researcher has seen
    which items carry forward and which verdicts rest on too few ratings (``carry_also``
    keeps those in play). When the stopping rule already holds, a further round is a
    deviation and needs a reason."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from delphi.consensus.services import round_create_next
    from delphi.models import Deviation

    study = round.study
    if study.finished_at:
        raise ValidationError("The study is finished: no further rounds.")
    reason = (reason or "").strip()
    status = stopping_rule_status(study=study)
    if status.holds and not reason:
        raise ValidationError(
            {
                "reason": "The stopping rule holds, so a further round is a deviation from "
                "the protocol. Write why you need it, or finish the study instead."
            }
        )
    low = {r["item"].pk for r in round_low_n_items(round=round)}
    chosen = {int(pk) for pk in carry_also} & low
    with transaction.atomic():
        new = round_create_next(round=round, by=by, carry_also=chosen)
        if status.holds:
            Deviation.objects.create(
                study=study,
                field="round_beyond_stopping_rule",
                old_value={"stopping_rule": study.stopping_rule, "round": round.number},
                new_value={
                    "round": new.number,
                    "conditions": [c.figures for c in status.conditions],
                },
                reason=reason,
                by=by if getattr(by, "is_authenticated", False) else None,
            )
    return new


VERDICT_WORDS = {
    "en": {"in": "agreed as essential", "out": "agreed as not essential", "none": "no agreement"},
    "es": {"in": "acordados como esenciales", "out": "acordados como no esenciales",
           "none": "sin acuerdo"},
}  # fmt: skip


def final_list_summary(*, study: Study, language: str = "en") -> str:
    """A plain-language summary of the final list, for the panel's thank-you."""
    rows = final_list(study=study)
    words = VERDICT_WORDS["es" if language == "es" else "en"]
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ("in", "out", "none")}
    domains: dict[str, list] = {}
    for r in rows:
        if r["verdict"] == "in":
            domains.setdefault(r["domain_name"], []).append(r["plain_text"] or r["statement"])
    if language == "es":
        head = (
            f"El panel calificó {len(rows)} enunciados: {counts['in']} {words['in']}, "
            f"{counts['out']} {words['out']} y {counts['none']} {words['none']}."
        )
        intro = "Lo que el panel consideró esencial, por dominio:"
    else:
        head = (
            f"The panel rated {len(rows)} statements: {counts['in']} {words['in']}, "
            f"{counts['out']} {words['out']}, and {counts['none']} with {words['none']}."
        )
        intro = "What the panel agreed is essential, by domain:"
    lines = [head]
    if domains:
        lines += ["", intro]
        for name, texts in domains.items():
            lines.append(f"\n{name}")
            lines += [f"  - {t}" for t in texts]
    return "\n".join(lines)


def study_thank_panel(*, study: Study, by, subject: str, body: str, subject_es="", body_es=""):
    """Send the thank-you (with the summary the researcher checked) to every active panelist
    who submitted at least one round. Through the communications log: one row each."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from delphi.models import Communication, CustomMessage, Response
    from delphi.services.communications import communication_send
    from panels.models import Panelist

    if not study.finished_at:
        raise ValidationError("Finish the study before thanking the panel with its results.")
    subject, body = (subject or "").strip(), (body or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = "Write a subject."
    if not body:
        errors["body"] = "Write the message."
    if errors:
        raise ValidationError(errors)
    ids = Response.objects.filter(round__study=study, status=Response.Status.SUBMITTED).values_list(
        "panelist_id", flat=True
    )
    panelists = list(Panelist.objects.filter(pk__in=ids))
    if not panelists:
        raise ValidationError("Nobody submitted a round: there is nobody to thank.")
    with transaction.atomic():
        message = CustomMessage.objects.create(
            study=study,
            round=None,
            audience=CustomMessage.Audience.EVERYONE,
            subject=subject,
            body=body,
            subject_es=(subject_es or "").strip(),
            body_es=(body_es or "").strip(),
            with_link=False,
            created_by=by,
        )
        return communication_send(
            study=study,
            panelists=panelists,
            kind=Communication.Kind.THANKYOU,
            message=message,
            by=by,
        )
