"""Ranking rounds in the consensus engine: load the rankings, compute, persist, and read back.

`ranking_run_execute` is called by the engine's `_execute` for a ranking round, after the run has
been claimed (same claim / heartbeat / fingerprint pattern as rating runs). The statistics are
`delphi.consensus.stats.ranking`, the same code as `manage.py analyze --kind ranking`.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction

from delphi.consensus import selectors
from delphi.consensus.rows import _value
from delphi.consensus.stats.ranking import (
    ALL,
    DEFAULT_CONSENSUS_W,
    RankingResult,
    agreement_label,
    check_ranking,
    compute_ranking_round,
)
from delphi.models import (
    Ranking,
    RankingConcordance,
    RankingItemResult,
    Response,
    Round,
)

RANK_COLUMNS = ["panelist", "group", "item", "rank"]


@dataclass(frozen=True)
class RankingProtocol:
    top_k: int | None
    allow_ties: bool
    consensus_w: float

    def as_dict(self) -> dict:
        return {"top_k": self.top_k, "allow_ties": self.allow_ties, "consensus_w": self.consensus_w}


def ranking_protocol(*, round: Round) -> RankingProtocol:
    """The ranking rules the round opened under (its snapshot), else the study's current ones."""
    snap = round.rule_snapshot or {}
    study = round.study
    top_k = snap.get("ranking_top_k", study.ranking_top_k)
    ties = snap.get("ranking_allow_ties", study.ranking_allow_ties)
    w = snap.get("ranking_consensus_w") or study.ranking_consensus_w or DEFAULT_CONSENSUS_W
    return RankingProtocol(top_k=top_k or None, allow_ties=bool(ties), consensus_w=float(w))


def round_rankings_frame(
    *, round: Round, keys: dict[int, str] | None = None, protocol: RankingProtocol | None = None
) -> tuple[pd.DataFrame, int]:
    """The long table panelist, group, item (stable key), rank of the round's analysable
    rankings, and how many submitted rankings were left out as incomplete or invalid.

    Analysable: a not excluded response whose ranking passes `check_ranking` under the round's
    protocol, and which is submitted, or a draft when the round's drafts policy counts complete
    drafts (`complete`; `rated` too, since a partial ranking cannot be analysed). Only submitted
    rankings that fail the check count as left out. One query.
    """
    keys = selectors.round_item_keys(round=round) if keys is None else keys
    protocol = protocol or ranking_protocol(round=round)
    policy = selectors.round_drafts_policy(round)
    statuses = [Response.Status.SUBMITTED]
    if policy in ("complete", "rated"):
        statuses.append(Response.Status.DRAFT)
    rows = (
        Ranking.objects.filter(
            response__round=round,
            response__status__in=statuses,
            response__excluded=False,
            item__round=round,
        )
        .order_by()
        .values_list(
            "response__panelist__public_id",
            "response__panelist__group__code",
            "response__status",
            "item_id",
            "rank",
        )
    )
    by_panelist: dict[str, tuple[str, str, dict[str, int]]] = {}
    for public_id, group, status, item_id, rank in rows:
        key = keys.get(item_id)
        if key is None:
            continue
        entry = by_panelist.setdefault(public_id, (group or selectors.UNGROUPED, status, {}))
        entry[2][key] = rank
    items = list(keys.values())
    out, dropped = [], 0
    for public_id, (group, status, ranks) in by_panelist.items():
        if check_ranking(ranks, items=items, top_k=protocol.top_k, allow_ties=protocol.allow_ties):
            dropped += status == Response.Status.SUBMITTED
            continue
        out.extend((public_id, group, item, rank) for item, rank in ranks.items())
    # One fixed row order, whatever order the database returned them in: the statistics then
    # agree to the last bit on an imported copy of the study (other ids, another order).
    out.sort()
    frame = pd.DataFrame(out, columns=RANK_COLUMNS)
    frame["rank"] = frame["rank"].astype(float)
    return frame, dropped


def previous_ranking_round(*, round: Round) -> Round | None:
    return selectors.round_previous(round=round)


def ranking_fingerprint(
    engine: str, protocol: RankingProtocol, keys: dict, current: pd.DataFrame, previous
) -> str:
    def digest(frame):
        if frame is None:
            return "none"
        rows = sorted(map(tuple, frame[RANK_COLUMNS].astype(str).to_numpy().tolist()))
        return hashlib.sha256(json.dumps(rows).encode()).hexdigest()

    payload = json.dumps(
        {
            "engine": engine,
            "kind": "ranking",
            "protocol": protocol.as_dict(),
            # The item keys, not their database ids: an imported study (new ids) has the
            # same fingerprint as the one it was exported from (docs/archive.md).
            "items": sorted(keys.values()),
            "rankings": digest(current),
            "previous": digest(previous),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def compute_for_round(*, round: Round):
    """(keys, protocol, current frame, dropped, previous frame or None, previous keys)."""
    protocol = ranking_protocol(round=round)
    keys = selectors.round_item_keys(round=round)
    current, dropped = round_rankings_frame(round=round, keys=keys, protocol=protocol)
    prev_round = previous_ranking_round(round=round)
    previous, prev_keys = None, None
    if prev_round is not None:
        prev_keys = selectors.round_item_keys(round=prev_round)
        previous, _ = round_rankings_frame(round=prev_round, keys=prev_keys)
        if previous.empty:
            previous = None
    return keys, protocol, current, dropped, previous, prev_keys


def ranking_result(current, previous, keys, prev_keys, protocol) -> RankingResult:
    prev_result = None
    if previous is not None:
        prev_result = compute_ranking_round(
            previous, items=list(prev_keys.values()), threshold=protocol.consensus_w
        )
    return compute_ranking_round(
        current, prev_result, items=list(keys.values()), threshold=protocol.consensus_w
    )


def ranking_rows(rnd: Round, result: RankingResult, item_ids: dict[str, int]):
    groups = {g.code: g.pk for g in rnd.study.panel.groups.all()}
    items = []
    for rec in result.items.to_dict("records"):
        item_id = item_ids.get(rec["item"])
        if item_id is None:
            continue
        items.append(
            RankingItemResult(
                round_id=rnd.pk,
                item_id=item_id,
                group_key=rec["group_key"],
                group_id=groups.get(rec["group_key"]),
                n=int(rec["n"]),
                n_ranked=int(rec["n_ranked"]),
                distribution=rec["distribution"],
                **{
                    name: _value(rec[name])
                    for name in (
                        "mean_rank",
                        "median_rank",
                        "sd_rank",
                        "prev_mean_rank",
                        "mean_rank_change",
                    )
                },
            )
        )
    concordance = []
    for rec in result.concordance.to_dict("records"):
        is_all = rec["group_key"] == ALL
        concordance.append(
            RankingConcordance(
                round_id=rnd.pk,
                group_key=rec["group_key"],
                n_panelists=int(rec["n_panelists"]),
                n_items=int(rec["n_items"]),
                # A column with an undefined df (a one-panelist group) turns into floats + NaN.
                df=int(rec["df"]) if _value(rec["df"]) is not None else None,
                consensus_threshold=result.consensus["threshold"] if is_all else None,
                consensus_reached=result.consensus["reached"] if is_all else None,
                **{
                    name: _value(rec[name])
                    for name in ("kendall_w", "chi2", "p", "prev_kendall_w", "w_change")
                },
            )
        )
    return items, concordance


def ranking_run_execute(run, attempt, *, engine, beat, own, mark_analysed, finish) -> None:
    """The ranking half of the engine's `_execute`; the callables are the engine's own
    claim-keeping steps, so ownership and heartbeat work exactly as for rating runs."""
    rnd = run.round
    t0 = time.perf_counter()
    beat(run.pk, attempt, stage="Loading rankings", progress=10)
    keys, protocol, current, dropped, previous, prev_keys = compute_for_round(round=rnd)
    t_load = time.perf_counter()
    fingerprint = ranking_fingerprint(engine, protocol, keys, current, previous)
    from delphi.models import ConsensusRun

    if (
        rnd.status == Round.Status.ANALYSED
        and ConsensusRun.objects.filter(
            round=rnd, status=ConsensusRun.Status.DONE, fingerprint=fingerprint
        ).exists()
    ):
        finish(run.pk, attempt, fingerprint, {"load_s": round(t_load - t0, 3)}, unchanged=True)
        return
    if current.empty:
        extra = f" ({dropped} submitted ranking(s) were incomplete)" if dropped else ""
        raise ValidationError(
            f"Round {rnd.number} has no complete submitted rankings to analyse{extra}. "
            "Only complete rankings are analysed; check that panelists have submitted."
        )
    beat(run.pk, attempt, stage="Computing ranking statistics", progress=40)
    result = ranking_result(current, previous, keys, prev_keys, protocol)
    t_compute = time.perf_counter()
    beat(run.pk, attempt, stage="Saving results", progress=80)
    item_ids = {key: item_id for item_id, key in keys.items()}
    items, concordance = ranking_rows(rnd, result, item_ids)
    with transaction.atomic():
        own(run.pk, attempt)
        # Replace in one transaction: readers see the old set or the new one, never both.
        RankingItemResult.objects.filter(round=rnd).delete()
        RankingConcordance.objects.filter(round=rnd).delete()
        RankingItemResult.objects.bulk_create(items, batch_size=1000)
        RankingConcordance.objects.bulk_create(concordance)
        mark_analysed(rnd)
        t_persist = time.perf_counter()
        timings = {
            "load_s": round(t_load - t0, 3),
            "compute_s": round(t_compute - t_load, 3),
            "persist_s": round(t_persist - t_compute, 3),
            "total_s": round(t_persist - t0, 3),
            "rankings": int(current["panelist"].nunique()),
            "incomplete_rankings": dropped,
            "result_rows": len(items),
        }
        finish(run.pk, attempt, fingerprint, timings)


# --- reads ---------------------------------------------------------------------------------


def ranking_consensus(*, round: Round) -> dict | None:
    """The ranking consensus rule's outcome for an analysed ranking round, or None.

    For the stopping rule: {"kendall_w", "threshold", "reached", "agreement", "p",
    "n_panelists", "w_change"}.
    """
    row = RankingConcordance.objects.filter(round=round, group_key=ALL).first()
    if row is None:
        return None
    w = row.kendall_w
    return {
        "kendall_w": w,
        "threshold": row.consensus_threshold,
        "reached": bool(row.consensus_reached),
        "agreement": agreement_label(w if w is not None else math.nan),
        "p": row.p,
        "n_panelists": row.n_panelists,
        "w_change": row.w_change,
    }


def ranking_results(*, round: Round) -> dict:
    """What the results page and the CSV export show for a ranking round, from persisted rows.

    items: one entry per item sorted by the whole panel's mean rank, with the `all` row and the
    rows of each group; concordance: one row per group, `all` first; consensus: the rule's
    outcome. Three queries.
    """
    groups = list(round.study.panel.groups.order_by("order", "code"))
    results = (
        RankingItemResult.objects.filter(round=round)
        .select_related("item__statement", "item__scenario")
        .order_by("item__order", "item_id", "group_key")
    )
    by_item: dict[int, dict] = {}
    for res in results:
        entry = by_item.setdefault(res.item_id, {"item": res.item, "all": None, "groups": {}})
        if res.group_key == ALL:
            entry["all"] = res
        else:
            entry["groups"][res.group_key] = res
    items = []
    for entry in by_item.values():
        entry["by_group"] = [entry["groups"].get(g.code) for g in groups]
        items.append(entry)
    items.sort(
        key=lambda e: (
            e["all"] is None or e["all"].mean_rank is None,
            e["all"].mean_rank if e["all"] and e["all"].mean_rank is not None else 0,
            e["item"].order,
        )
    )
    concordance = sorted(
        RankingConcordance.objects.filter(round=round),
        key=lambda c: (c.group_key != ALL, c.group_key),
    )
    for c in concordance:
        c.agreement = agreement_label(c.kendall_w if c.kendall_w is not None else math.nan)
    overall = next((c for c in concordance if c.group_key == ALL), None)
    return {
        "groups": groups,
        "items": items,
        "concordance": concordance,
        "overall": overall,
        "has_previous": any(c.prev_kendall_w is not None for c in concordance),
    }
