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
