"""Edits of the leaf apps' objects (statements, scenarios, panelists) as a study sees them: the
study's rules checked, the change applied by the leaf's own service, one audit row with the old
and new values.

``competencies`` and ``panels`` know nothing of studies, so the rules that depend on rounds live
here: a statement or scenario asked in a round that has opened keeps its wording and code (a
revision replaces it in the next round), and moving a panelist who has rated to another
stakeholder group needs a reason and marks the analysed rounds it changes.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from competencies.models import Scenario, Statement
from competencies.services import scenario_update, statement_update
from delphi.models import Round, RoundItem, Study
from delphi.services.audit import audit_record
from delphi.services.responses import panelist_group_locked
from panels.models import Contact, Panelist
from panels.services import panelist_update

# A statement in a round that has opened keeps these as they were asked.
STATEMENT_LOCKED = ("code", "text", "text_es", "plain_text", "plain_text_es")
# A scenario in a round that has opened keeps these as they were asked.
SCENARIO_LOCKED = ("code", "title", "title_es", "vignette", "vignette_es")
OPENED = (Round.Status.OPEN, Round.Status.CLOSED, Round.Status.ANALYSED)


def _plain(value):
    if isinstance(value, Model):
        return getattr(value, "code", None) or str(value.pk)
    return value


def _snapshot(obj, names) -> dict:
    return {name: _plain(getattr(obj, name, None)) for name in names}


def _diff(before: dict, after: dict) -> tuple[dict, dict]:
    changed = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def statement_update_audited(*, study: Study, statement: Statement, by, data: dict) -> Statement:
    current = Statement.objects.get(pk=statement.pk)  # a ModelForm has already set the new values
    before = _snapshot(current, data)
    asked = (
        RoundItem.objects.filter(statement=current, round__status__in=OPENED)
        .select_related("round")
        .order_by("round__number")
        .first()
    )
    proposed = {k: _plain(v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    locked = [k for k in STATEMENT_LOCKED if k in proposed and proposed[k] != before.get(k)]
    if asked is not None and locked:
        raise ValidationError(
            {
                name: (
                    f"Statement {current.code} was asked in round {asked.round.number}, which "
                    "has opened: its wording and code cannot change in place, or the answers "
                    "already given would seem to be about the new words. Create a revision "
                    "instead (a new statement whose “revision of” is this one, or Reword on the "
                    "next draft round's item): it becomes a new item, with its lineage kept. "
                    "Nothing was saved."
                )
                for name in locked
            }
        )
    with transaction.atomic():
        saved = statement_update(statement=statement, **data)
        old, new = _diff(before, _snapshot(saved, data))
        if new:
            audit_record(study=study, verb="statement_update", actor=by, obj=saved,
                         object_label=saved.code, old=old, new=new)  # fmt: skip
    return saved


def scenario_update_audited(*, study: Study, scenario: Scenario, by, data: dict) -> Scenario:
    current = Scenario.objects.get(pk=scenario.pk)
    before = _snapshot(current, data)
    asked = (
        RoundItem.objects.filter(scenario=current, round__status__in=OPENED)
        .select_related("round")
        .order_by("round__number")
        .first()
    )
    proposed = {k: _plain(v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    locked = [k for k in SCENARIO_LOCKED if k in proposed and proposed[k] != before.get(k)]
    if asked is not None and locked:
        raise ValidationError(
            {
                name: (
                    f"Scenario {current.code} was asked in round {asked.round.number}, which "
                    "has opened: its wording and code cannot change in place, or the answers "
                    "already given would seem to be about the new words. Add a new scenario "
                    "with the new wording (a new code) and use it in the next round; the "
                    "answers given stay with this one. Nothing was saved."
                )
                for name in locked
            }
        )
    with transaction.atomic():
        saved = scenario_update(scenario=scenario, **data)
        old, new = _diff(before, _snapshot(saved, data))
        if new:
            audit_record(study=study, verb="scenario_update", actor=by, obj=saved,
                         object_label=saved.code, old=old, new=new)  # fmt: skip
    return saved


def panelist_has_rated(panelist: Panelist) -> bool:
    """Rated or ranked anything: the same test that locks the panelist's own group change."""
    return panelist_group_locked(panelist)


def move_reason_required(panelist: Panelist) -> str:
    return (
        f"{panelist.public_id} has already rated, so moving them to another "
        "stakeholder group changes the per-group results of the rounds they "
        "answered. Write why; the move is recorded and those rounds are marked "
        "for re-analysis. Nothing was saved."
    )


def _mark_inputs_changed(*, study: Study, panelist: Panelist) -> list[int]:
    """Mark the analysed rounds the panelist answered "inputs changed since analysis" (until
    re-run); returns their numbers."""
    rounds = Round.objects.filter(
        study=study, status=Round.Status.ANALYSED, responses__panelist=panelist
    ).distinct()
    marked = sorted(rounds.values_list("number", flat=True))
    Round.objects.filter(pk__in=rounds.values("pk")).update(inputs_changed_at=timezone.now())
    return marked


def panelist_group_move(
    *, study: Study, panelist: Panelist, group, by, reason: str = "", source: str | None = None
) -> list[int]:
    """Move a panelist to another stakeholder group and nothing else (the admin's path; the
    researcher's panelist form goes through ``panelist_update_audited``, with the same rules).
    A panelist who has rated needs ``reason``; the analysed rounds they answered are marked.
    Returns the numbers of the rounds marked."""
    current = Panelist.objects.select_related("group").get(pk=panelist.pk)
    if (group.pk if group else None) == current.group_id:
        return []
    if group is not None and group.panel_id != current.panel_id:
        raise ValidationError({"group": "That group belongs to another panel."})
    reason = (reason or "").strip()
    rated = panelist_has_rated(current)
    if rated and not reason:
        raise ValidationError({"reason": move_reason_required(current)})
    with transaction.atomic():
        Panelist.objects.filter(pk=current.pk).update(group=group)
        panelist.group = group
        marked = _mark_inputs_changed(study=study, panelist=current) if rated else []
        audit_record(
            study=study,
            verb="panelist_update",
            actor=by,
            source=source,
            panelist=current,
            obj=current,
            object_label=current.public_id,
            old={"group": current.group.code if current.group_id else None},
            new={"group": group.code if group else None},
            reason=reason,
            rounds_marked=marked,
        )
    return marked


def panelist_update_audited(
    *, study: Study, panelist: Panelist, by, data: dict, reason: str = ""
) -> Panelist:
    """Edit a panelist. A group move of a panelist who has rated needs ``reason``; it marks
    every analysed round the panelist answered "inputs changed since analysis" until re-run."""
    current = Panelist.objects.select_related("group").get(pk=panelist.pk)
    contact = Contact.objects.filter(panelist=current).first()
    before = {
        "group": current.group.code if current.group_id else None,
        "language": current.language,
    }
    contact_before = {
        "email": contact.email if contact else "",
        "name": contact.name if contact else "",
        "organisation": contact.organisation if contact else "",
    }
    group = data.get("group")
    moving = (group.pk if group else None) != current.group_id
    reason = (reason or "").strip()
    rated = moving and panelist_has_rated(current)
    if rated and not reason:
        raise ValidationError({"reason": move_reason_required(current)})
    with transaction.atomic():
        saved = panelist_update(panelist=panelist, **data)
        after = {"group": saved.group.code if saved.group_id else None, "language": saved.language}
        old, new = _diff(before, after)
        # Contact details are kept apart from ratings: the row says that they changed, and
        # which fields, but holds no e-mail address or name.
        contact_changed = sorted(k for k, v in contact_before.items() if (data.get(k) or "") != v)
        marked = _mark_inputs_changed(study=study, panelist=saved) if rated else []
        if new or contact_changed:
            audit_record(
                study=study,
                verb="panelist_update",
                actor=by,
                panelist=saved,
                obj=saved,
                object_label=saved.public_id,
                old=old,
                new=new,
                reason=reason,
                contact_fields_changed=contact_changed,
                rounds_marked=marked,
            )
    return saved
