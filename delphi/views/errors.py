"""Error pages that say what happened and what to do."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.shortcuts import render
from django.views.defaults import bad_request as django_bad_request


def bad_request(request, exception, template_name="400.html"):
    # A paste far past the import limit never reaches the form (Django refuses to read it):
    # the same advice as the form gives, not a bare "Bad Request (400)".
    if isinstance(exception, RequestDataTooBig):
        return render(
            request,
            "errors/too_large.html",
            {"limit_mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)},
            status=413,
        )
    return django_bad_request(request, exception, template_name)
