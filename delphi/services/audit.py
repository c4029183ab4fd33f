"""The audit trail: who did what to a study, and when."""

from delphi.models import AuditEvent, Study


def audit_record(*, study: Study, verb: str, actor=None, panelist=None, **detail) -> AuditEvent:
    # AnonymousUser is not a row; system actions (beat closing a round) have no actor.
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        study=study, actor=actor, panelist=panelist, verb=verb, detail=detail
    )
