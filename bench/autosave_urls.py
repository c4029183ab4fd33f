"""The autosave benchmark's urlconf: the real site plus two views it does not have, a bare
"ok" view and the floor (a minimal indexed SELECT + INSERT ... ON CONFLICT)."""

import json

from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


def ok(request):
    return HttpResponse("ok")


@csrf_exempt
def floor(request):
    """What an autosave cannot do with less: find the item by its indexed UUID, upsert a row."""
    from delphi.models import Rating, RoundItem

    payload = json.loads(request.body)
    item_id = RoundItem.objects.filter(uuid=payload["item"]).values_list("pk", flat=True)[0]
    Rating.objects.bulk_create(
        [Rating(response_id=payload["response"], item_id=item_id, value=int(payload["value"]))],
        update_conflicts=True,
        unique_fields=["response", "item"],
        update_fields=["value", "updated_at"],
    )
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/ok/", ok),
    path("bench/floor/", floor),
    path("", include("delphi.urls")),
]
