"""Who may see and change a study. A non-member gets 404; a read-only member 403 on writes."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from delphi.models import Membership, Study


def get_study_for_user(request, study_uuid, *, write: bool = False) -> Study:
    user = request.user
    if not user.is_authenticated:
        raise Http404
    study = Study.objects.select_related("panel", "framework").filter(uuid=study_uuid).first()
    if study is None:
        raise Http404
    if user.is_superuser:
        study.user_role = Membership.Role.RESEARCHER
        return study
    role = Membership.objects.filter(study=study, user=user).values_list("role", flat=True).first()
    if role is None:
        raise Http404
    if write and role != Membership.Role.RESEARCHER:
        raise PermissionDenied("Analysts can read this study but not change it.")
    study.user_role = role
    return study
