"""Between rounds: deciding on panelist suggestions and rewording or dropping items.

Every decision carries a reason and leaves an ItemChange row, so an item's lineage can be
reported (CREDES asks how items were added, modified or removed, and why).
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from competencies.models import Domain, Provenance, Statement
from delphi.models import AnswerCode, ItemChange, Round, RoundItem, Suggestion
from delphi.services.audit import audit_record


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Write the reason; it goes into the item's lineage."})
    return reason


def _decide(suggestion: Suggestion, status: str, by, reason: str, statement=None) -> None:
    # Compare-and-set: two researchers deciding the same suggestion cannot both win.
    n = Suggestion.objects.filter(pk=suggestion.pk, status=Suggestion.Status.NEW).update(
        status=status,
        statement=statement,
        decided_by=by,
        decided_at=timezone.now(),
        decision_reason=reason,
    )
    if n != 1:
        raise ValidationError("This suggestion has already been decided.")


def _code(suggestion: Suggestion, by, *, statement=None, unusable_reason: str = "") -> None:
    # The same link the coding queue makes, so the statement lists the suggestion as a source.
    AnswerCode.objects.create(
        study_id=suggestion.round.study_id,
        round=suggestion.round,
        suggestion=suggestion,
        statement=statement,
        unusable_reason=unusable_reason,
        created_by=by if getattr(by, "pk", None) else None,
    )


def _next_draft_round(rnd: Round) -> Round | None:
    return (
        rnd.study.rounds.filter(status=Round.Status.DRAFT, number__gt=rnd.number)
        .order_by("number")
        .first()
    )


def suggestion_adopt(
    *,
    suggestion: Suggestion,
    by,
    code: str,
    domain: Domain,
    text: str,
    reason: str,
    plain_text: str = "",
) -> Statement:
    """A new statement (provenance: panelist suggestion), added to the next draft round if any."""
    reason = _reason(reason)
    study = suggestion.round.study
    code, text = (code or "").strip(), (text or "").strip()
    if not code:
        raise ValidationError({"code": "Give the new statement a code."})
    if not text:
        raise ValidationError({"text": "The statement needs its wording."})
    if domain.framework_id != study.framework_id:
        raise ValidationError({"domain": "That domain is not in this study's framework."})
    try:
        with transaction.atomic():
            statement = Statement.objects.create(
                framework_id=study.framework_id,
                domain=domain,
                code=code,
                text=text,
                plain_text=(plain_text or "").strip(),
                provenance=Provenance.PANELIST,
                source_note=f"Suggestion in round {suggestion.round.number}",
            )
            _decide(suggestion, Suggestion.Status.ADOPTED, by, reason, statement)
            _code(suggestion, by, statement=statement)
            draft = _next_draft_round(suggestion.round)
            if draft is not None:
                order = (draft.items.aggregate(n=Max("order"))["n"] or 0) + 1
                RoundItem.objects.create(round=draft, statement=statement, order=order)
            ItemChange.objects.create(
                study=study,
                round=draft,
                statement=statement,
                action=ItemChange.Action.ADDED,
                reason=reason,
                by=by,
            )
            audit_record(study=study, verb="suggestion_adopt", actor=by, code=code)
    except IntegrityError:
        raise ValidationError({"code": f"A statement with code {code} already exists."})
    return statement


def suggestion_merge(*, suggestion: Suggestion, by, statement: Statement, reason: str) -> None:
    reason = _reason(reason)
    study = suggestion.round.study
    if statement.framework_id != study.framework_id:
        raise ValidationError({"statement": "That statement is not in this study's framework."})
    with transaction.atomic():
        _decide(suggestion, Suggestion.Status.MERGED, by, reason, statement)
        _code(suggestion, by, statement=statement)
        ItemChange.objects.create(
            study=study,
            round=suggestion.round,
            statement=statement,
            action=ItemChange.Action.MERGED,
            reason=reason,
            by=by,
        )
        audit_record(study=study, verb="suggestion_merge", actor=by, code=statement.code)


def suggestion_decline(*, suggestion: Suggestion, by, reason: str) -> None:
    reason = _reason(reason)
    with transaction.atomic():
        _decide(suggestion, Suggestion.Status.DECLINED, by, reason)
        _code(suggestion, by, unusable_reason=reason)
        audit_record(study=suggestion.round.study, verb="suggestion_decline", actor=by)


def _draft_item(item: RoundItem) -> Round:
    rnd = item.round
    if rnd.status != Round.Status.DRAFT:
        raise ValidationError("Items can be reworded or dropped only while their round is a draft.")
    return rnd


def item_reword(
    *, item: RoundItem, by, code: str, text: str, reason: str, plain_text: str = ""
) -> Statement:
    """Replace a draft round's item by a revised statement that remembers its predecessor."""
    reason = _reason(reason)
    rnd = _draft_item(item)
    old = item.statement
    code, text = (code or "").strip(), (text or "").strip()
    if not text:
        raise ValidationError({"text": "The reworded statement needs its wording."})
    if not code or code == old.code:
        raise ValidationError(
            {"code": "Give the revised statement a new code, e.g. " + old.code + "r"}
        )
    try:
        with transaction.atomic():
            new = Statement.objects.create(
                framework_id=old.framework_id,
                domain_id=old.domain_id,
                code=code,
                text=text,
                plain_text=(plain_text or "").strip(),
                provenance=old.provenance,
                source_note=old.source_note,
                revision_of=old,
                order=old.order,
            )
            RoundItem.objects.filter(pk=item.pk, round__status=Round.Status.DRAFT).update(
                statement=new
            )
            ItemChange.objects.create(
                study=rnd.study,
                round=rnd,
                statement=new,
                previous=old,
                action=ItemChange.Action.REWORDED,
                reason=reason,
                by=by,
            )
            audit_record(study=rnd.study, verb="item_reword", actor=by, old=old.code, new=code)
    except IntegrityError:
        raise ValidationError({"code": f"A statement with code {code} already exists."})
    item.statement = new
    return new


def item_drop(*, item: RoundItem, by, reason: str) -> None:
    reason = _reason(reason)
    rnd = _draft_item(item)
    with transaction.atomic():
        deleted, _ = RoundItem.objects.filter(pk=item.pk, round__status=Round.Status.DRAFT).delete()
        if not deleted:
            raise ValidationError("That item is no longer in a draft round.")
        ItemChange.objects.create(
            study=rnd.study,
            round=rnd,
            statement_id=item.statement_id,
            action=ItemChange.Action.DROPPED,
            reason=reason,
            by=by,
        )
        audit_record(study=rnd.study, verb="item_drop", actor=by, code=item.statement.code)
