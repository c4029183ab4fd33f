"""The round lifecycle: draft -> open -> closed (-> analysed by the consensus engine)."""

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from competencies.models import Scenario, Statement
from delphi.consensus.services import consensus_run_start
from delphi.models import Deviation, Round, RoundItem, RoundPrompt, Study
from delphi.services.audit import audit_record
from delphi.services.lifecycle import round_quorum
from delphi.services.protocol import protocol_errors

logger = logging.getLogger(__name__)

ROUND_FIELDS = ("title", "instructions", "instructions_es", "opens_at", "closes_at")
# While a round is open panelists are answering it: only the wording around it and the
# deadline may still move.
OPEN_ROUND_FIELDS = ("title", "instructions", "instructions_es", "closes_at")

DEFAULT_PROMPT = "For scenario {code} ({title}): what must the responder be able to do?"
DEFAULT_PROMPT_ES = "Para el escenario {code} ({title}): ¿qué debe saber hacer quien responde?"
GENERAL_PROMPT = "What must a community crisis responder be able to do?"
GENERAL_PROMPT_ES = "¿Qué debe saber hacer quien responde a una crisis en la comunidad?"


def _check_dates(opens_at, closes_at) -> None:
    if opens_at and closes_at and closes_at <= opens_at:
        raise ValidationError({"closes_at": "The deadline must come after the opening time."})


def round_create(*, study: Study, kind: str, by, **fields) -> Round:
    """A draft round numbered after the study's last one."""
    unknown = set(fields) - set(ROUND_FIELDS)
    if unknown:
        raise TypeError(f"round_create does not set {sorted(unknown)}")
    if kind not in Round.Kind.values:
        raise ValidationError({"kind": "Choose item generation, rating or ranking."})
    if study.finished_at:
        raise ValidationError("The study is finished: no further rounds.")
    _check_dates(fields.get("opens_at"), fields.get("closes_at"))
    try:
        with transaction.atomic():
            number = (study.rounds.aggregate(n=Max("number"))["n"] or 0) + 1
            rnd = Round.objects.create(study=study, number=number, kind=kind, **fields)
            if kind == Round.Kind.GENERATION:
                _default_prompts(rnd)
            audit_record(study=study, verb="round_create", actor=by, round=number, kind=kind)
    except IntegrityError:
        # Two researchers creating a round at the same moment drew the same number.
        raise ValidationError("Another round was created at the same moment; please try again.")
    return rnd


def _default_prompts(rnd: Round) -> None:
    scenarios = list(Scenario.objects.filter(framework_id=rnd.study.framework_id))
    prompts = [
        RoundPrompt(
            round=rnd,
            scenario=sc,
            text=DEFAULT_PROMPT.format(code=sc.code, title=sc.title),
            text_es=DEFAULT_PROMPT_ES.format(code=sc.code, title=sc.title_es or sc.title),
            order=i,
        )
        for i, sc in enumerate(scenarios)
    ] or [RoundPrompt(round=rnd, text=GENERAL_PROMPT, text_es=GENERAL_PROMPT_ES, order=0)]
    RoundPrompt.objects.bulk_create(prompts)


def _same(old, new) -> bool:
    # The browser's date-time input has minute precision; a deadline saved unchanged from the
    # form must not count as moved. Text compares without CRLF and trailing-space noise.
    if isinstance(old, datetime) and isinstance(new, datetime):
        return old.replace(second=0, microsecond=0) == new.replace(second=0, microsecond=0)
    if isinstance(old, str) and isinstance(new, str):
        return old.replace("\r\n", "\n").strip() == new.replace("\r\n", "\n").strip()
    return old == new


def round_update(*, round: Round, by, **fields) -> Round:
    unknown = set(fields) - set(ROUND_FIELDS)
    if unknown:
        raise TypeError(f"round_update does not set {sorted(unknown)}")
    current = Round.objects.get(pk=round.pk)
    if current.status == Round.Status.DRAFT:
        allowed = ROUND_FIELDS
    elif current.status == Round.Status.OPEN:
        allowed = OPEN_ROUND_FIELDS
    else:
        raise ValidationError("This round is closed; its details can no longer change.")
    changed = {k: v for k, v in fields.items() if not _same(getattr(current, k), v)}
    refused = set(changed) - set(allowed)
    if refused:
        raise ValidationError(
            f"While the round is open only the title, instructions and deadline can change "
            f"(not {', '.join(sorted(refused))})."
        )
    _check_dates(
        changed.get("opens_at", current.opens_at), changed.get("closes_at", current.closes_at)
    )
    if not changed:
        return current
    with transaction.atomic():
        # Compare-and-set on status: a round closed between the read above and now stays put.
        n = Round.objects.filter(pk=current.pk, status=current.status).update(**changed)
        if n != 1:
            raise ValidationError("The round changed status while you were editing; reload it.")
        audit_record(
            study=current.study,
            verb="round_update",
            actor=by,
            obj=current,
            object_label=f"Round {current.number}",
            old={k: getattr(current, k) for k in changed},
            new=changed,
            round=current.number,
            fields=sorted(changed),
        )
    for k, v in changed.items():
        setattr(round, k, v)
    return round


def _require_draft(rnd: Round, what: str) -> None:
    if not Round.objects.filter(pk=rnd.pk, status=Round.Status.DRAFT).exists():
        raise ValidationError(f"Only a draft round's {what} can change; this round has opened.")


def round_set_items(*, round: Round, statement_ids, by, scenario_ids=()) -> list[RoundItem]:
    """Make the round's items exactly these statements, in this order.

    With scenario_ids, every statement is asked once per scenario (scenario by scenario), so
    panelists rate what a responder must do in each situation.
    """
    _require_draft(round, "items")
    statement_ids = [int(s) for s in statement_ids]
    scenario_ids = [int(s) for s in scenario_ids or ()]
    if len(set(statement_ids)) != len(statement_ids):
        raise ValidationError("A statement is listed twice; each may appear once.")
    framework_id = round.study.framework_id
    known = set(
        Statement.objects.filter(framework_id=framework_id, pk__in=statement_ids).values_list(
            "pk", flat=True
        )
    )
    if missing := [s for s in statement_ids if s not in known]:
        raise ValidationError(f"{len(missing)} chosen statement(s) are not in this framework.")
    if scenario_ids:
        found = Scenario.objects.filter(framework_id=framework_id, pk__in=scenario_ids).count()
        if found != len(set(scenario_ids)):
            raise ValidationError("A chosen scenario is not in this framework.")
    wanted = (
        [(st, sc) for sc in scenario_ids for st in statement_ids]
        if scenario_ids
        else [(st, None) for st in statement_ids]
    )
    with transaction.atomic():
        existing = {(i.statement_id, i.scenario_id): i for i in round.items.all()}
        before = _item_labels(round)
        keep, create = [], []
        for order, key in enumerate(wanted):
            item = existing.pop(key, None)
            if item is None:
                create.append(
                    RoundItem(round=round, statement_id=key[0], scenario_id=key[1], order=order)
                )
            else:
                item.order = order
                keep.append(item)
        if existing:
            RoundItem.objects.filter(pk__in=[i.pk for i in existing.values()]).delete()
        RoundItem.objects.bulk_update(keep, ["order"])
        RoundItem.objects.bulk_create(create)
        audit_record(
            study=round.study,
            verb="round_set_items",
            actor=by,
            obj=round,
            object_label=f"Round {round.number}",
            old={"items": before},
            new={"items": _item_labels(round)},
            round=round.number,
            items=len(wanted),
            scenarios=len(scenario_ids),
        )
    return list(round.items.all())


def _item_labels(rnd: Round) -> list[str]:
    """The round's items in order, as statement code (and @scenario code)."""
    return [
        code + (f"@{scenario}" if scenario else "")
        for code, scenario in rnd.items.order_by("order", "id").values_list(
            "statement__code", "scenario__code"
        )
    ]


def round_prompt_add(
    *, round: Round, by, text: str, text_es: str = "", scenario=None
) -> RoundPrompt:
    _require_draft(round, "questions")
    if round.kind != Round.Kind.GENERATION:
        raise ValidationError("Open-ended questions belong to item-generation rounds.")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the question panelists will answer."})
    if scenario is not None and scenario.framework_id != round.study.framework_id:
        raise ValidationError({"scenario": "That scenario is not in this study's framework."})
    order = (round.prompts.aggregate(n=Max("order"))["n"] or 0) + 1
    return RoundPrompt.objects.create(
        round=round, text=text, text_es=(text_es or "").strip(), scenario=scenario, order=order
    )


def round_prompt_delete(*, round: Round, by, prompt_id: int) -> None:
    _require_draft(round, "questions")
    RoundPrompt.objects.filter(round=round, pk=prompt_id).delete()


def rule_snapshot(study: Study) -> dict:
    return {
        "scale_min": study.scale_min,
        "scale_max": study.scale_max,
        "scale_anchors": study.scale_anchors,
        "scale_labels": study.scale_labels,
        "bands": study.bands,
        "consensus_definition": study.consensus_definition,
        "quantile_method": study.quantile_method,
        "min_group_size": study.min_group_size,
        "planned_rounds": study.planned_rounds,
        "stopping_rule": study.stopping_rule,
        "consent_version": study.consent_version,
        "drafts_policy": study.drafts_policy,
        "ranking_top_k": study.ranking_top_k,
        "ranking_allow_ties": study.ranking_allow_ties,
        "ranking_consensus_w": study.ranking_consensus_w,
    }


def round_open(*, round: Round, by) -> Round:
    """Open a draft round: snapshot the protocol into it and, on the first round, lock it."""
    study = Study.objects.get(pk=round.study_id)
    if study.finished_at:
        raise ValidationError("The study is finished: no round can open.")
    if round.kind == Round.Kind.GENERATION:
        if not round.prompts.exists():
            raise ValidationError("Add at least one open-ended question before opening.")
    elif not round.items.exists():
        raise ValidationError("Choose the round's items before opening it.")
    earlier = study.rounds.filter(number__lt=round.number)
    if earlier.filter(status__in=[Round.Status.DRAFT, Round.Status.OPEN]).exists():
        raise ValidationError("Close the earlier rounds before opening this one.")
    if errors := protocol_errors({k: getattr(study, k) for k in Study.LOCKED_FIELDS}):
        raise ValidationError(
            "The protocol has a problem; fix it before opening: "
            + " ".join(m for msgs in errors.values() for m in msgs)
        )
    now = timezone.now()
    with transaction.atomic():
        n = Round.objects.filter(pk=round.pk, status=Round.Status.DRAFT).update(
            status=Round.Status.OPEN, opened_at=now, rule_snapshot=rule_snapshot(study)
        )
        if n != 1:
            raise ValidationError("This round is no longer a draft; someone opened it already.")
        # Opening the first round freezes the protocol; later edits become Deviations.
        locked = Study.objects.filter(pk=study.pk, protocol_locked_at__isnull=True).update(
            protocol_locked_at=now
        )
        audit_record(
            study=study,
            verb="round_open",
            actor=by,
            round=round.number,
            protocol_locked=bool(locked),
        )
    round.refresh_from_db()
    if locked and round.study_id == study.pk:
        round.study.protocol_locked_at = now
    return round


AUTOMATIC_BELOW_QUORUM_REASON = (
    "Closed at its deadline by the scheduled sweep although the quorum was not met."
)


def round_close(*, round: Round, by=None, reason: str = "") -> Round:
    """Close an open round by hand or at its deadline, then queue the consensus computation.

    Below the quorum (``round_quorum``) a researcher must give a written reason: the close is
    then recorded as a deviation and the round is flagged "below quorum" in its results and
    exports. A close by the system (``by=None``, the deadline sweep) below quorum is recorded
    the same way with a reason saying so. The quorum figures at closing are kept on the round.
    """
    reason = (reason or "").strip()
    if not Round.objects.filter(pk=round.pk, status=Round.Status.OPEN).exists():
        raise ValidationError("This round is not open, so it cannot be closed.")
    quorum = round_quorum(round=round)
    by_person = by is not None and getattr(by, "is_authenticated", False)
    if not quorum.met and by_person and not reason:
        raise ValidationError(
            {
                "reason": "This round is below its quorum ("
                + " ".join(quorum.reasons)
                + ") Write why you are closing it now: the close will be recorded as a "
                "deviation and the results flagged “below quorum”. The round is still open."
            }
        )
    if not quorum.met and not reason:
        reason = AUTOMATIC_BELOW_QUORUM_REASON
    now = timezone.now()
    with transaction.atomic():
        n = Round.objects.filter(pk=round.pk, status=Round.Status.OPEN).update(
            status=Round.Status.CLOSED,
            closed_at=now,
            below_quorum=not quorum.met,
            quorum_at_close=quorum.as_dict(),
        )
        if n != 1:
            raise ValidationError("This round is not open, so it cannot be closed.")
        round.refresh_from_db()
        if not quorum.met:
            Deviation.objects.create(
                study=round.study,
                field="round_close_below_quorum",
                old_value={
                    "round": round.number,
                    "quorum_pct": quorum.pct_required,
                    "min_per_group": quorum.min_per_group,
                },
                new_value={
                    "round": round.number,
                    "counted": quorum.counted,
                    "eligible": quorum.eligible,
                    "shortfalls": quorum.reasons,
                },
                reason=reason,
                by=by if by_person else None,
            )
        audit_record(
            study=round.study,
            verb="round_close",
            actor=by,
            round=round.number,
            below_quorum=not quorum.met,
            counted=quorum.counted,
            eligible=quorum.eligible,
        )
        # Generation rounds collect free text: there is nothing to compute.
        if round.kind in (Round.Kind.RATING, Round.Kind.RANKING):
            consensus_run_start(round=round, by=by)
    return round
