"""Consensus runs: claim, compute, persist; and the next round drawn from the verdicts.

A run is a ``ConsensusRun`` row. Whoever executes it first claims it by compare-and-set
(queued -> running, attempts + 1); a duplicate delivery finds nothing to claim and stops. A
running row whose heartbeat is older than ``STALE_AFTER`` seconds belonged to a worker that died:
a redelivered task re-claims it. Results are replaced in one transaction, and only by the attempt
that still owns the run, so a killed-and-redelivered run ends with exactly one set of rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from delphi.consensus import selectors
from delphi.consensus.rows import build_rows, rows_insert
from delphi.models import (
    ConsensusRun,
    GroupConcordance,
    ItemChange,
    ItemDecision,
    ItemResult,
    Round,
    RoundItem,
    Study,
)
from delphi.services.audit import audit_record
from delphi.taskqueue import task_enqueue

logger = logging.getLogger(__name__)

# Bump when the persisted output of the same input changes (new columns, a corrected formula):
# it is part of the fingerprint, so the next run recomputes instead of skipping.
ENGINE_VERSION = "1"
# A running run whose heartbeat is older than this is taken to be dead. A run beats between
# stages; the longest stage of a full-size run takes ~2 s (bench/consensus.py), so 30 s is
# fifteen times that, and short enough that a redelivered run re-claims within the 2-minute
# recovery budget (settings: CELERY_VISIBILITY_TIMEOUT).
STALE_AFTER = int(os.environ.get("CONSENSUS_RUN_STALE_SECONDS", "30"))
# A queued run not picked up within this many seconds is taken to have lost its message.
QUEUED_PATIENCE = int(os.environ.get("CONSENSUS_RUN_QUEUED_PATIENCE", "900"))
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


class RunBusy(Exception):
    """Another live attempt owns the run; try again once its heartbeat may have gone stale."""


class RunLost(Exception):
    """This attempt no longer owns the run (a redelivered copy re-claimed it)."""


@dataclass(frozen=True)
class Protocol:
    scale_min: int
    scale_max: int
    bands: list
    definition: dict
    quantile_type: int
    source: str  # "snapshot" or "study"
    drafts_policy: str = "complete"

    def as_dict(self) -> dict:
        return {
            "scale_min": self.scale_min,
            "scale_max": self.scale_max,
            "bands": [list(b) for b in self.bands],
            "definition": self.definition,
            "quantile_type": self.quantile_type,
            "drafts_policy": self.drafts_policy,
        }


def round_protocol(*, round: Round) -> Protocol:
    """The rules a round is analysed under: its snapshot from when it opened, else the study's.

    The snapshot is written by ``round_open``; a round opened before snapshots existed (or
    built by hand) falls back, key by key, to the study's current protocol.
    """
    snap = round.rule_snapshot or {}
    study = round.study

    def pick(*names, default):
        for name in names:
            if snap.get(name) not in (None, "", []):
                return snap[name]
        return default

    scale = snap.get("scale")
    scale_min, scale_max = study.scale_min, study.scale_max
    if isinstance(scale, dict):
        scale_min, scale_max = scale.get("min", scale_min), scale.get("max", scale_max)
    scale_min = int(pick("scale_min", default=scale_min))
    scale_max = int(pick("scale_max", default=scale_max))
    return Protocol(
        scale_min=scale_min,
        scale_max=scale_max,
        bands=[list(b) for b in pick("bands", default=study.bands)],
        definition=dict(
            pick("consensus_definition", "definition", default=study.consensus_definition)
        ),
        quantile_type=int(pick("quantile_method", "quantile_type", default=study.quantile_method)),
        source="snapshot" if snap else "study",
        drafts_policy=snap.get("drafts_policy") or study.drafts_policy,
    )


def _scale(protocol: Protocol):
    from delphi.consensus.stats import Scale

    bands = tuple(tuple(int(v) for v in band) for band in protocol.bands)
    return Scale(min=protocol.scale_min, max=protocol.scale_max, bands=bands)


# ---------------------------------------------------------------------------------------------
# Starting and claiming runs


def run_is_live(run: ConsensusRun) -> bool:
    """Queued and plausibly still waiting for a worker, or running with a fresh heartbeat.

    A queued run whose message was lost (the broker was flushed or replaced) would otherwise
    block "run again" for ever; after ``QUEUED_PATIENCE`` it no longer counts.
    """
    now = timezone.now()
    if run.status == ConsensusRun.Status.QUEUED:
        return run.queued_at >= now - timedelta(seconds=QUEUED_PATIENCE)
    if run.status == ConsensusRun.Status.RUNNING:
        return run.heartbeat_at is not None and run.heartbeat_at >= now - timedelta(
            seconds=STALE_AFTER
        )
    return False


def consensus_run_start(*, round: Round, by=None) -> ConsensusRun:
    """Queue a consensus run for a closed round; the worker picks it up after commit.

    A queued or live running run for the round is returned instead of a second one. With no
    broker configured (no REDIS_URL) the task runs in-process when the transaction commits.
    """
    active = next((r for r in ConsensusRun.objects.filter(round=round) if run_is_live(r)), None)
    if active is not None:
        return active
    run = ConsensusRun.objects.create(round=round, stage="Waiting for the worker")
    audit_record(
        study=round.study,
        actor=by if getattr(by, "pk", None) else None,
        verb="consensus_run_start",
        obj=round,
        object_label=f"Round {round.number}",
        round=round.number,
        run=str(run.uuid),
    )
    task_enqueue("delphi.tasks.consensus_run", run.pk)
    return run


def _claim(run_id: int) -> int | None:
    """Compare-and-set the run to running; return this attempt's number, or None."""
    now = timezone.now()
    claimed = ConsensusRun.objects.filter(pk=run_id, status=ConsensusRun.Status.QUEUED).update(
        status=ConsensusRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        progress=5,
        stage="Starting",
        error="",
    )
    if not claimed:
        # A worker that died mid-run leaves its row running with an old heartbeat.
        claimed = ConsensusRun.objects.filter(
            pk=run_id,
            status=ConsensusRun.Status.RUNNING,
            heartbeat_at__lt=now - timedelta(seconds=STALE_AFTER),
        ).update(
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            progress=5,
            stage="Restarting after an interrupted attempt",
        )
    if not claimed:
        return None
    return ConsensusRun.objects.values_list("attempts", flat=True).get(pk=run_id)


def _beat(run_id: int, attempt: int, *, stage: str, progress: int) -> None:
    alive = ConsensusRun.objects.filter(
        pk=run_id, status=ConsensusRun.Status.RUNNING, attempts=attempt
    ).update(stage=stage, progress=progress, heartbeat_at=timezone.now())
    if not alive:
        raise RunLost(f"run {run_id} attempt {attempt} was re-claimed")


def _slow_for_tests(run_id: int, attempt: int) -> None:
    # Only the worker integration test sets this, to have time to kill the worker mid-run.
    seconds = float(os.environ.get("DELPHI_TEST_SLOW_SECONDS") or 0)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        _beat(run_id, attempt, stage="Computing statistics", progress=40)


# ---------------------------------------------------------------------------------------------
# Executing a run


# The digest of a ratings frame, order-independent (kept here for callers and tests).
frame_digest = selectors.frame_digest


def _fingerprint(protocol: Protocol, keys: dict, current: str, previous: str) -> str:
    payload = json.dumps(
        {
            "engine": ENGINE_VERSION,
            "protocol": protocol.as_dict(),
            # The item keys, not their database ids: an imported study (new ids) has the
            # same fingerprint as the one it was exported from (docs/archive.md).
            "items": sorted(keys.values()),
            "ratings": current,
            "previous": previous,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def consensus_run_execute(*, run_id: int) -> ConsensusRun | None:
    """Claim and execute one run. Returns the run, or None when there was nothing to claim.

    Raises ``RunBusy`` when another attempt is alive (the task retries later), and re-raises
    transient database errors after putting the run back in the queue (the task retries with
    backoff). Any other error marks the run failed with its reason, visible on the results page.
    """
    attempt = _claim(run_id)
    if attempt is None:
        status = ConsensusRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
        if status == ConsensusRun.Status.RUNNING:
            raise RunBusy(f"run {run_id} is being computed by another attempt")
        return None
    run = ConsensusRun.objects.select_related("round__study").get(pk=run_id)
    try:
        _execute(run, attempt)
    except RunLost:
        logger.warning("Consensus run %s: attempt %s lost its claim; stopping", run_id, attempt)
    except TRANSIENT_ERRORS:
        # If even this fails, the stale-heartbeat re-claim recovers the run.
        with contextlib.suppress(*TRANSIENT_ERRORS):
            ConsensusRun.objects.filter(pk=run_id, attempts=attempt).update(
                status=ConsensusRun.Status.QUEUED, stage="Retrying after a database error"
            )
        raise
    except Exception as exc:
        logger.exception("Consensus run %s failed", run_id)
        consensus_run_fail(run_id=run_id, error=_describe_error(exc), attempt=attempt)
    run.refresh_from_db()
    return run


def _describe_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return f"{type(exc).__name__}: {exc}"[:2000]


def consensus_run_fail(*, run_id: int, error: str, attempt: int | None = None) -> None:
    qs = ConsensusRun.objects.filter(
        pk=run_id, status__in=[ConsensusRun.Status.QUEUED, ConsensusRun.Status.RUNNING]
    )
    if attempt is not None:
        qs = qs.filter(attempts=attempt)
    qs.update(
        status=ConsensusRun.Status.FAILED,
        error=error,
        stage="Failed",
        finished_at=timezone.now(),
    )


def _execute(run: ConsensusRun, attempt: int) -> None:
    from delphi.consensus.stats import compute_round

    rnd = run.round
    t0 = time.perf_counter()
    if rnd.status not in (Round.Status.CLOSED, Round.Status.ANALYSED):
        raise ValidationError(
            f"Round {rnd.number} is {rnd.get_status_display().lower()}: close it before "
            "computing consensus."
        )
    if rnd.kind == Round.Kind.RANKING:
        from delphi.consensus.ranking import ranking_run_execute

        ranking_run_execute(
            run,
            attempt,
            engine=ENGINE_VERSION,
            beat=_beat,
            own=_own,
            mark_analysed=_mark_analysed,
            finish=_finish,
        )
        return
    protocol = round_protocol(round=rnd)
    _beat(run.pk, attempt, stage="Loading ratings", progress=10)
    included = selectors.round_response_counts(round=rnd, policy=protocol.drafts_policy)
    prev_round = selectors.round_previous(round=rnd)
    # Both rounds in one pass; the digests come from the same arrays, not a second pass.
    loaded, loaded_prev = selectors.rounds_ratings(
        round=rnd, previous=prev_round, policy=protocol.drafts_policy
    )
    keys, current = loaded.keys, loaded.frame
    previous = loaded_prev.frame if loaded_prev is not None else None
    if previous is not None and previous.empty:
        previous = None
    t_load = time.perf_counter()

    fingerprint = _fingerprint(
        protocol, keys, loaded.digest, loaded_prev.digest if previous is not None else "none"
    )
    unchanged = (
        rnd.status == Round.Status.ANALYSED
        and ConsensusRun.objects.filter(
            round=rnd, status=ConsensusRun.Status.DONE, fingerprint=fingerprint
        ).exists()
    )
    if unchanged:
        _finish(
            run.pk,
            attempt,
            fingerprint,
            {"load_s": round(t_load - t0, 3)},
            unchanged=True,
            included=included,
        )
        return

    if rnd.kind != Round.Kind.RATING:
        with transaction.atomic():
            _own(run.pk, attempt)
            _mark_analysed(rnd)
            _finish(
                run.pk,
                attempt,
                fingerprint,
                {},
                note="Nothing to compute: not a rating or ranking round",
                included=included,
            )
        return
    if current.empty:
        raise ValidationError(
            f"Round {rnd.number} has no ratings to analyse under the drafts policy "
            f"“{Study.DraftsPolicy(protocol.drafts_policy).label}”: {_counts_text(included)}. "
            "Check that panelists have answered, or change the policy (a deviation once the "
            "protocol is locked)."
        )

    _beat(run.pk, attempt, stage="Computing statistics", progress=40)
    _slow_for_tests(run.pk, attempt)
    t_compute0 = time.perf_counter()
    result = compute_round(
        current,
        previous,
        scale=_scale(protocol),
        definition=protocol.definition,
        quantile_type=protocol.quantile_type,
    )
    t_compute = time.perf_counter()

    _beat(run.pk, attempt, stage="Saving results", progress=80)
    item_ids = {key: item_id for item_id, key in keys.items()}
    results, decisions, concordance = build_rows(rnd, result, item_ids, protocol.scale_min)
    t_build = time.perf_counter()
    with transaction.atomic():
        _own(run.pk, attempt)
        # Replace, not add: the round's previous results go in the same transaction, so a
        # rerun (or a redelivered run) never leaves two sets of rows, and readers see either
        # the old set or the new one.
        ItemResult.objects.filter(round=rnd).delete()
        ItemDecision.objects.filter(round=rnd).delete()
        GroupConcordance.objects.filter(round=rnd).delete()
        rows_insert(ItemResult, results)
        rows_insert(ItemDecision, decisions)
        rows_insert(GroupConcordance, concordance)
        _mark_analysed(rnd)
        t_persist = time.perf_counter()
        timings = {
            "load_s": round(t_load - t0, 3),
            "fingerprint_s": round(t_compute0 - t_load, 3),
            "compute_s": round(t_compute - t_compute0, 3),
            "persist_s": round(t_persist - t_compute, 3),
            "build_rows_s": round(t_build - t_compute, 3),
            "total_s": round(t_persist - t0, 3),
            "ratings": len(current),
            "result_rows": len(results),
        }
        _finish(run.pk, attempt, fingerprint, timings, included=included)


def _counts_text(included: dict) -> str:
    return (
        f"{included.get('submitted', 0)} submitted, "
        f"{included.get('complete_drafts', 0)} complete drafts and "
        f"{included.get('partial_drafts', 0)} partial drafts included; "
        f"{included.get('left_out_complete_drafts', 0)} complete and "
        f"{included.get('left_out_partial_drafts', 0)} partial drafts left out"
    )


def _own(run_id: int, attempt: int) -> None:
    """Inside a transaction: lock the run row and make sure this attempt still owns it."""
    owned = (
        ConsensusRun.objects.select_for_update()
        .filter(pk=run_id, status=ConsensusRun.Status.RUNNING, attempts=attempt)
        .exists()
    )
    if not owned:
        raise RunLost(f"run {run_id} attempt {attempt} was re-claimed")


def _mark_analysed(rnd: Round) -> None:
    changed = Round.objects.filter(
        pk=rnd.pk, status__in=[Round.Status.CLOSED, Round.Status.ANALYSED]
    ).update(status=Round.Status.ANALYSED, analysed_at=timezone.now(), inputs_changed_at=None)
    if changed != 1:
        raise ValidationError(f"Round {rnd.number} changed status while it was being analysed.")


def _finish(
    run_id, attempt, fingerprint, timings, *, unchanged=False, note="", included=None
) -> None:
    stage = note or ("Done: ratings unchanged since the last run" if unchanged else "Done")
    changed = ConsensusRun.objects.filter(
        pk=run_id, status=ConsensusRun.Status.RUNNING, attempts=attempt
    ).update(
        status=ConsensusRun.Status.DONE,
        fingerprint=fingerprint,
        progress=100,
        stage=stage,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        timings=timings,
        included=included or {},
    )
    if changed != 1:
        raise RunLost(f"run {run_id} attempt {attempt} was re-claimed")
    run = ConsensusRun.objects.select_related("round__study").get(pk=run_id)
    rnd = run.round
    audit_record(
        study=rnd.study,
        verb="consensus_run_done",
        obj=rnd,
        object_label=f"Round {rnd.number}",
        new={"fingerprint": fingerprint, "engine_version": ENGINE_VERSION},
        round=rnd.number,
        run=str(run.uuid),
        unchanged=unchanged,
        included=included or {},
    )


def consensus_compute_now(*, round: Round, by=None) -> ConsensusRun:
    """Create a run and execute it here and now (management command, demo, tests).

    Returns the finished run: ``status`` is done, or failed with ``error`` saying why.
    """
    run = ConsensusRun.objects.create(round=round, stage="Computing in-process")
    run = consensus_run_execute(run_id=run.pk)
    round.refresh_from_db()
    return run


# ---------------------------------------------------------------------------------------------
# The next round


def round_create_next(*, round: Round, by=None, carry_also=()) -> Round:
    """Draft round N+1 holding the items that round N's verdicts carry forward, in order.

    Each new item points at its predecessor (``carried_from``) so stability pairs them and
    panelists see their earlier rating. Items that reached a verdict are recorded as retired.
    ``carry_also``: item ids the researcher carries although they reached a verdict (a verdict
    resting on fewer valid ratings than the quorum), recorded as carried with that reason.
    """
    carry_also = {int(pk) for pk in carry_also}
    if round.status != Round.Status.ANALYSED:
        raise ValidationError(
            f"Round {round.number} has not been analysed yet: close it and wait for the "
            "consensus run to finish before starting the next round."
        )
    # The next rating round follows whatever came after this one (a ranking round of the
    # consensus items, say); it is refused only if a later rating round already exists.
    later = Round.objects.filter(
        study_id=round.study_id, number__gt=round.number, kind=Round.Kind.RATING
    ).first()
    if later is not None:
        raise ValidationError(
            f"Round {later.number} already exists; open it from the study page instead."
        )
    number = (
        Round.objects.filter(study_id=round.study_id)
        .order_by("-number")
        .values_list("number", flat=True)[0]
        + 1
    )
    decisions = {
        d.item_id: d
        for d in ItemDecision.objects.filter(round=round).only(
            "item_id", "verdict", "carried_forward"
        )
    }
    items = list(round.items.select_related("statement").order_by("order", "id"))
    carried = (
        [
            i
            for i in items
            if i.pk in decisions and (decisions[i.pk].carried_forward or i.pk in carry_also)
        ]
        if round.kind == Round.Kind.RATING
        else []
    )
    user = by if getattr(by, "pk", None) else None
    try:
        with transaction.atomic():
            new = Round.objects.create(
                study_id=round.study_id,
                number=number,
                kind=Round.Kind.RATING,
                title=f"Round {number}",
                instructions=round.instructions,
                instructions_es=round.instructions_es,
            )
            RoundItem.objects.bulk_create(
                RoundItem(
                    round=new,
                    statement_id=item.statement_id,
                    scenario_id=item.scenario_id,
                    order=position,
                    carried_from=item,
                )
                for position, item in enumerate(carried)
            )
            changes = []
            for item in items:
                decision = decisions.get(item.pk)
                if decision is None:
                    continue
                if decision.carried_forward:
                    action = ItemChange.Action.CARRIED
                    reason = f"No consensus in round {round.number}."
                elif item.pk in carry_also and round.kind == Round.Kind.RATING:
                    action = ItemChange.Action.CARRIED
                    reason = (
                        f"{decision.get_verdict_display()} in round {round.number} rested on "
                        "fewer valid ratings than the quorum; carried forward by the researcher."
                    )
                else:
                    action = ItemChange.Action.RETIRED
                    reason = f"{decision.get_verdict_display()} in round {round.number}."
                changes.append(
                    ItemChange(
                        study_id=round.study_id,
                        round=new,
                        statement_id=item.statement_id,
                        action=action,
                        reason=reason,
                        by=user,
                    )
                )
            ItemChange.objects.bulk_create(changes)
            audit_record(
                study=round.study,
                actor=user,
                verb="round_create_next",
                obj=new,
                object_label=f"Round {new.number}",
                new={"items": [i.statement.code for i in carried]},
                from_round=round.number,
                round=new.number,
                items=len(carried),
            )
    except IntegrityError:
        raise ValidationError(
            f"Round {number} already exists; open it from the study page instead."
        )
    return new
