"""Studies: creation, the protocol and its lock, members."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from competencies.models import Framework
from delphi.models import Deviation, Membership, Study
from delphi.services.audit import audit_record
from delphi.services.protocol import protocol_errors
from panels.models import Panel

# Fields a researcher may set through study_update; everything else is managed by services.
EDITABLE_FIELDS = (
    "title",
    "short_title",
    "aims",
    "title_es",
    "short_title_es",
    "aims_es",
    "contact_note",
    "contact_note_es",
    "consent_text",
    "consent_text_es",
    "contact_email",
    "ends_at",
    *Study.LOCKED_FIELDS,
)


def study_create(*, by, title: str, **fields) -> Study:
    """A study with its own empty panel and framework; the creator becomes its researcher."""
    unknown = set(fields) - set(EDITABLE_FIELDS) - {"is_demo"}
    if unknown:
        raise TypeError(f"study_create does not set {sorted(unknown)}")
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Give the study a title."})
    with transaction.atomic():
        panel = Panel.objects.create(name=f"{title} panel")
        framework = Framework.objects.create(name=f"{title} framework")
        study = Study(title=title, panel=panel, framework=framework, created_by=by, **fields)
        errors = protocol_errors(_protocol_of(study))
        if errors:
            raise ValidationError(errors)
        study.save()
        if by is not None:
            Membership.objects.create(study=study, user=by, role=Membership.Role.RESEARCHER)
        audit_record(study=study, verb="study_create", actor=by, title=title)
    return study


def _same(old, new) -> bool:
    # Browsers send textarea line breaks as CRLF and forms strip the ends: saving a page
    # unchanged must not look like a change (a spurious deviation or consent version).
    if isinstance(old, str) and isinstance(new, str):
        return old.replace("\r\n", "\n").strip() == new.replace("\r\n", "\n").strip()
    return old == new


def _protocol_of(study: Study) -> dict:
    return {name: getattr(study, name) for name in Study.LOCKED_FIELDS}


def study_update(*, study: Study, by, data: dict, reason: str = "") -> list[Deviation]:
    """Apply `data` (field -> new value). Returns the Deviation rows it recorded.

    Once the protocol is locked, a change to a locked field needs a written reason and is
    logged as one Deviation per field; without a reason nothing at all is saved.
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"study_update does not set {sorted(unknown)}")
    reason = (reason or "").strip()
    with transaction.atomic():
        # Lock the row: two researchers saving at once must not both log the same deviation
        # against a stale "old value".
        current = Study.objects.select_for_update().get(pk=study.pk)
        changed = {k: v for k, v in data.items() if not _same(getattr(current, k), v)}
        if not changed:
            return []
        if "title" in changed and not (changed["title"] or "").strip():
            raise ValidationError({"title": "Give the study a title."})
        proposed = _protocol_of(current) | {
            k: v for k, v in changed.items() if k in Study.LOCKED_FIELDS
        }
        errors = protocol_errors(proposed)
        if errors:
            raise ValidationError(errors)
        locked_changes = [k for k in Study.LOCKED_FIELDS if k in changed]
        if current.is_locked and locked_changes and not reason:
            raise ValidationError(
                {
                    "reason": (
                        "The protocol is locked because round 1 has opened. Write why you are "
                        "changing it; the change will be recorded as a deviation. "
                        "Nothing was saved."
                    )
                }
            )
        deviations = []
        if current.is_locked:
            for name in locked_changes:
                deviations.append(
                    Deviation(
                        study=current,
                        field=name,
                        old_value=getattr(current, name),
                        new_value=changed[name],
                        reason=reason,
                        by=by,
                    )
                )
        old_values = {name: getattr(current, name) for name in [*changed, "consent_version"]}
        if "consent_text" in changed or "consent_text_es" in changed:
            # Panelists consent to a version; new text means earlier consents were to other words.
            current.consent_version += 1
            changed["consent_version"] = current.consent_version
        for name, value in changed.items():
            setattr(current, name, value)
        current.save(update_fields=[*changed, "updated_at"])
        Deviation.objects.bulk_create(deviations)
        audit_record(
            study=current,
            verb="study_update",
            actor=by,
            obj=current,
            object_label=current.short_title or current.title,
            old={name: old_values[name] for name in changed},
            new={name: getattr(current, name) for name in changed},
            fields=sorted(changed),
            deviations=len(deviations),
            protocol_locked=current.is_locked,
            reason=reason,
        )
    for name, value in changed.items():
        setattr(study, name, value)
    return deviations


def study_member_add(*, study: Study, by, username: str, role: str) -> Membership:
    username = (username or "").strip()
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose researcher or analyst."})
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError(
            {
                "username": f"No account is called “{username}”. Check the spelling, or ask an "
                "administrator to create the account first."
            }
        )
    try:
        with transaction.atomic():
            membership = Membership.objects.create(study=study, user=user, role=role)
            audit_record(study=study, verb="member_add", actor=by, username=username, role=role)
    except IntegrityError:
        raise ValidationError({"username": f"{username} is already a member of this study."})
    return membership


def study_member_remove(*, study: Study, by, membership: Membership) -> None:
    with transaction.atomic():
        researchers = Membership.objects.select_for_update().filter(
            study=study, role=Membership.Role.RESEARCHER
        )
        if membership.role == Membership.Role.RESEARCHER and researchers.count() <= 1:
            raise ValidationError("A study needs at least one researcher; add another first.")
        Membership.objects.filter(pk=membership.pk, study=study).delete()
        audit_record(
            study=study,
            verb="member_remove",
            actor=by,
            username=membership.user.get_username(),
            role=membership.role,
        )
