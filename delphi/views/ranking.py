"""The panelist's ranking page, its autosave and its review.

Without script the page is one form: a rank selector per item, and move-up / move-down buttons
that post the form with the move to apply (delphi.panelist.ranking.apply_move). With
static/js/ranking.js the same moves happen in the page and each change autosaves the whole
ranking in one request.
"""

import json
import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from delphi.models import Round
from delphi.panelist import selectors as sel
from delphi.panelist.ranking import apply_move, ranking_page
from delphi.panelist.session import panelist_required
from delphi.services import rankings as svc
from delphi.services.responses import RoundClosed, response_set_last_page


def _context(panelist, **extra):
    return {"panelist": panelist, "study": panelist.study, "panelist_page": True, **extra}


def _posted_ranks(post, page) -> dict[str, int | None]:
    ranks = {}
    for row in page.rows:
        raw = post.get(f"rank-{row.item.uuid}", "")
        ranks[str(row.item.uuid)] = int(raw) if raw.isascii() and raw.isdigit() else None
    stray = [
        k for k in post if k.startswith("rank-") and k[5:] not in ranks and post.get(k, "") != ""
    ]
    if stray:
        raise ValidationError(_("This form ranked an item that is not part of this round."))
    return ranks


def ranking_view(request, panelist, rnd, lang):
    """GET: the ranking page; POST: save the posted ranks, applying a move button if pressed."""
    response = sel.panelist_response(panelist=panelist, round=rnd)
    page = ranking_page(round=rnd, panelist=panelist, response=response, lang=lang)
    if not page.rows:
        return render(request, "panelist/no_round.html", _context(panelist, round=rnd))
    writable = sel.round_is_writable(rnd)
    errors, status = [], 200
    if request.method == "POST":
        try:
            ranks = _posted_ranks(request.POST, page)
            move = request.POST.get("move", "")
            action, _sep, target = move.partition(":")
            if action in ("up", "down") and target in ranks:
                ranks = apply_move(
                    ranks, target, action, limit=page.limit, allow_ties=page.allow_ties
                )
            response, _saved = svc.ranking_save(panelist=panelist, round=rnd, ranks=ranks)
        except RoundClosed as exc:
            messages.error(request, exc.messages[0])
            return redirect("panelist:page", round_uuid=rnd.uuid, page=1)
        except ValidationError as exc:
            errors, status = exc.messages, 400
            posted = locals().get("ranks") or {}
            for row in page.rows:
                if str(row.item.uuid) in posted:
                    row.rank = posted[str(row.item.uuid)]
        else:
            response_set_last_page(response=response, page=1)
            if request.POST.get("action") == "review":
                return redirect("panelist:review", round_uuid=rnd.uuid)
            if not move:
                messages.success(request, _("Your ranking is saved."))
            target_anchor = f"#row-{target}" if move else ""
            return redirect(request.path + target_anchor)
    return render(
        request,
        "panelist/ranking.html",
        _context(
            panelist,
            round=rnd,
            response=response,
            page=page,
            writable=writable,
            errors=errors,
        ),
        status=status,
    )


def _json_error(message, status):
    return JsonResponse({"ok": False, "error": message}, status=status)


@require_POST
@panelist_required
def ranking_autosave(request, panelist, round_uuid):
    """Save the whole ranking from the page's script: {"seq": n, "ranks": {uuid: rank|null}}."""
    rnd = sel.panelist_round(panelist=panelist, round_uuid=round_uuid)
    if rnd.kind != Round.Kind.RANKING:
        raise Http404
    try:
        payload = json.loads(request.body or b"{}")
        seq = int(payload.get("seq"))
        raw = payload.get("ranks")
        if not isinstance(raw, dict):
            raise ValueError
        ranks = {}
        for key, value in raw.items():
            uuid.UUID(str(key))
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError
            ranks[str(key)] = value
    except (ValueError, TypeError, AttributeError):
        return _json_error(_("This ranking could not be read; please use Save ranking."), 400)
    try:
        _response, saved = svc.ranking_save(panelist=panelist, round=rnd, ranks=ranks, seq=seq)
    except RoundClosed as exc:
        return _json_error(exc.messages[0], 409)
    except ValidationError as exc:
        return _json_error(" ".join(exc.messages), 400)
    return JsonResponse({"ok": True, "stale": not saved})


def ranking_review(request, panelist, rnd, lang):
    response = sel.panelist_response(panelist=panelist, round=rnd)
    page = ranking_page(round=rnd, panelist=panelist, response=response, lang=lang)
    writable = sel.round_is_writable(rnd)
    if request.method == "POST":
        try:
            svc.ranking_submit(panelist=panelist, round=rnd)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("panelist:review", round_uuid=rnd.uuid)
        return redirect("panelist:done", round_uuid=rnd.uuid)
    return render(
        request,
        "panelist/ranking_review.html",
        _context(panelist, round=rnd, response=response, page=page, writable=writable),
    )
