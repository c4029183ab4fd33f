"""The study archive as a download (docs/archive.md).

Analysts read everything, so they may download the archive without contact details; only a
researcher may ask for it with them (``?contacts=1``; an analyst gets 403). Generated in the
request: the demo study takes well under a second.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseNotAllowed
from django.utils import timezone

from delphi.access import get_study_for_user
from delphi.archive.export import study_archive_export
from delphi.models import AuditEvent
from delphi.services.audit import audit_record


@login_required
def study_archive(request, study):
    with_contacts = request.GET.get("contacts") == "1"
    reading = request.method in ("GET", "HEAD")
    # Access first: an outsider gets 404 whatever the method.
    study = get_study_for_user(request, study, write=with_contacts or not reading)
    if not reading:
        return HttpResponseNotAllowed(["GET"])
    data = study_archive_export(study=study, with_contacts=with_contacts)
    # Who took a copy of the whole study, and whether it named the panelists.
    audit_record(
        study=study,
        actor=request.user,
        verb="study_archive_download",
        source=AuditEvent.Source.RESEARCHER,
        obj=study,
        with_contacts=with_contacts,
        bytes=len(data),
    )
    name = f"study-{study.uuid}-{timezone.now():%Y%m%d}{'-contacts' if with_contacts else ''}"
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}.zip"'
    response["Cache-Control"] = "no-store"
    return response
