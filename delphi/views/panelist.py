"""Panelist pages. Shape: panelist from the session -> form -> service -> redirect/re-render.

No view takes a panelist, response or rating id from the browser: the panelist comes from the
session (see delphi.panelist.session), the round from its UUID within the panelist's own study,
and items from their UUIDs within that round.
"""

import json
import re
import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from delphi.models import Round, RoundItem, RoundPrompt
from delphi.panelist import cards
from delphi.panelist import feedback as fb
from delphi.panelist import selectors as sel
from delphi.panelist.forms import ConsentForm, ProfileForm, SuggestionForm, WithdrawForm
from delphi.panelist.scale import scale_display
from delphi.panelist.session import (
    SESSION_INVITATION,
    SESSION_PANELIST,
    link_problem,
    panelist_required,
    session_start,
)
from delphi.services import invitations as inv
from delphi.services import responses as svc
from delphi.services import throttle
from delphi.services.communications import communications_mark_visit
from delphi.views import ranking
from panels.models import Invitation, Panelist
from panels.tokens import token_verify

PLAIN_WORDING = "delphi_plain_wording"


def _lang(panelist) -> str:
    return panelist.language or "en"


def _with_language_cookie(response, language):
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.SESSION_COOKIE_AGE,
        samesite="Lax",
        secure=not settings.DEBUG,
    )
    return response


def _posted(request):
    # An empty POST is still a submission: the form must be bound so it shows its errors.
    return request.POST if request.method == "POST" else None


def _gate(panelist):
    """Where a panelist must go before the questionnaire, or None."""
    if panelist.status != Panelist.Status.ACTIVE:
        return redirect("panelist:withdrawn")
    study = panelist.study
    if panelist.consented_at is None or (panelist.consent_version or 0) < study.consent_version:
        return redirect("panelist:consent")
    if panelist.profile_confirmed_at is None:
        return redirect("panelist:profile")
    return None


def _context(panelist, **extra):
    return {"panelist": panelist, "study": panelist.study, "panelist_page": True, **extra}


# --- the link ---------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def token_exchange(request, token):
    # A client that sent too many links that do not work is refused before the lookup, even
    # with a good link: otherwise a guesser would only need to keep going. So is a link that
    # failed too often from any clients (a leaked revoked or expired link being passed around).
    if throttle.link_exchange_blocked(request, token):
        return render(
            request,
            "panelist/link_throttled.html",
            {"minutes": settings.LINK_FAILURE_WINDOW // 60},
            status=429,
        )
    invitation, reason = token_verify(token)
    if invitation is None:
        throttle.link_exchange_failed(request, token, reason)
        return link_problem(request, status=410 if reason in ("revoked", "expired") else 404)
    if request.method == "HEAD":
        # Mail scanners prefetch links with HEAD: do not spend the visit on them.
        return redirect("panelist:home")
    session_start(request, invitation)
    now = timezone.now()
    Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=now)
    communications_mark_visit(panelist_id=invitation.panelist_id, at=now)
    Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SENT).update(
        status=Invitation.Status.OPENED
    )
    # The redirect takes the token out of the address bar, the history and any Referer.
    response = redirect("panelist:home")
    response["Referrer-Policy"] = "no-referrer"
    language = Panelist.objects.filter(pk=invitation.panelist_id).values_list(
        "language", flat=True
    )[0]
    return _with_language_cookie(response, language)


@panelist_required
def home(request, panelist):
    gate = _gate(panelist)
    if gate:
        return gate
    rnd = sel.panelist_current_round(panelist=panelist)
    if rnd is None or not sel.round_is_writable(rnd):
        return render(request, "panelist/no_round.html", _context(panelist, round=rnd))
    return redirect("panelist:round", round_uuid=rnd.uuid)


@require_POST
@panelist_required
def language(request, panelist):
    choice = request.POST.get("language", "")
    try:
        svc.panelist_set_language(panelist=panelist, language=choice)
    except ValidationError:
        return redirect("panelist:home")
    target = request.POST.get("next") or reverse("panelist:home")
    if not target.startswith("/p/") or target.startswith("//"):
        target = reverse("panelist:home")
    return _with_language_cookie(redirect(target), choice)


# --- consent and profile -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@panelist_required
def consent(request, panelist):
    if panelist.status != Panelist.Status.ACTIVE:
        return redirect("panelist:withdrawn")
    study = panelist.study
    form = ConsentForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        svc.panelist_consent(panelist=panelist, study=study)
        return redirect("panelist:home")
    text = sel.text_in(study, "consent_text", _lang(panelist))
    already = panelist.consented_at and (panelist.consent_version or 0) >= study.consent_version
    aims_summary, aims_more = _aims_parts(study.in_language("aims", _lang(panelist)))
    return render(
        request,
        "panelist/consent.html",
        _context(
            panelist,
            form=form,
            consent_text=text,
            already=already,
            aims_summary=aims_summary,
            aims_more=aims_more,
        ),
    )


def _aims_parts(aims: str) -> tuple[str, str]:
    """The aims as a short summary (the first paragraph, or its first sentences when it is
    long) and the rest, which the consent page folds behind "read more"."""
    paragraphs = [p.strip() for p in aims.replace("\r\n", "\n").split("\n\n") if p.strip()]
    if not paragraphs:
        return "", ""
    first, rest = paragraphs[0], paragraphs[1:]
    if len(first) > 320:
        cut = first.find(". ", 160)
        if 0 < cut < 320:
            first, rest = first[: cut + 1], [first[cut + 2 :], *rest]
    return first, "\n\n".join(rest)


@require_http_methods(["GET", "POST"])
@panelist_required
def profile(request, panelist):
    if panelist.status != Panelist.Status.ACTIVE:
        return redirect("panelist:withdrawn")
    if panelist.consented_at is None:
        return redirect("panelist:consent")
    form = ProfileForm(
        _posted(request), panelist=panelist, group_locked=svc.panelist_group_locked(panelist)
    )
    if request.method == "POST" and form.is_valid():
        try:
            svc.panelist_profile_update(
                panelist=panelist, study=panelist.study, data=form.cleaned_data
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return _with_language_cookie(redirect("panelist:home"), panelist.language)
    return render(request, "panelist/profile.html", _context(panelist, form=form))


# --- the questionnaire ---------------------------------------------------------------------


@panelist_required
def round_resume(request, panelist, round_uuid):
    gate = _gate(panelist)
    if gate:
        return gate
    rnd = sel.panelist_round(panelist=panelist, round_uuid=round_uuid)
    response = sel.panelist_response(panelist=panelist, round=rnd)
    page = max(1, response.last_page) if response else 1
    return redirect("panelist:page", round_uuid=rnd.uuid, page=page)


FIELD = re.compile(r"^([vcr])(\d{1,4})$")
FIELD_NAMES = {"v": "value", "c": "comment", "r": "change_reason"}


def _parse_page_post(post, views):
    """The page's answers from a form post, keyed by item. Fields are named by the statement's
    position on the page (v3, c3, r3). Raises ValidationError for a field that names no
    statement on this page (a tampered or stale form): nothing is saved then."""
    answers: dict[RoundItem, dict] = {}
    posted: dict[int, dict] = {}
    for key in post:
        match = FIELD.match(key)
        if not match:
            continue
        kind, index = match.group(1), int(match.group(2))
        if index >= len(views):
            raise ValidationError(
                _("This form contained an answer to a statement that is not on this page.")
            )
        view = views[index]
        given = answers.setdefault(view.item, {"existing": view.rating is not None})
        given[FIELD_NAMES[kind]] = post.get(key, "")
        posted.setdefault(index, {})[FIELD_NAMES[kind]] = post.get(key, "")
    return answers, posted


def _page_target(rnd, pages, number, action):
    if action == "review" or (action == "next" and number >= len(pages)):
        return reverse("panelist:review", args=[rnd.uuid])
    if action == "next":
        return reverse("panelist:page", args=[rnd.uuid, number + 1])
    if action == "previous" and number > 1:
        return reverse("panelist:page", args=[rnd.uuid, number - 1])
    return reverse("panelist:page", args=[rnd.uuid, number])


def _scale(study, rnd, lang=None):
    """The scale's bands and labels in ``lang`` (default: the active language)."""
    return scale_display(
        scale_min=study.scale_min,
        scale_max=study.scale_max,
        bands=fb.round_bands(rnd, study),
        anchors=study.scale_anchors,
        labels=study.scale_labels,
        lang=lang or translation.get_language(),
    )


@require_http_methods(["GET", "POST"])
@panelist_required
def round_page(request, panelist, round_uuid, page):
    gate = _gate(panelist)
    if gate:
        return gate
    study = panelist.study
    rnd = sel.panelist_round(panelist=panelist, round_uuid=round_uuid)
    if rnd.kind == Round.Kind.GENERATION:
        return _prompt_page(request, panelist, rnd, page)
    if rnd.kind == Round.Kind.RANKING:
        if page != 1:
            raise Http404
        return ranking.ranking_view(request, panelist, rnd, _lang(panelist))
    lang = _lang(panelist)
    response = sel.panelist_response(panelist=panelist, round=rnd)
    items = sel.round_items(round=rnd)
    pages = sel.rating_pages(items=items, ratings=sel.ratings_by_item(response=response), lang=lang)
    if not pages:
        return render(request, "panelist/no_round.html", _context(panelist, round=rnd))
    if not 1 <= page <= len(pages):
        raise Http404
    current = pages[page - 1]
    if "wording" in request.GET:
        request.session[PLAIN_WORDING] = request.GET["wording"] == "plain"
    plain = bool(request.session.get(PLAIN_WORDING))
    for view in current.items:
        view.plain = plain
    writable = sel.round_is_writable(rnd)
    status = 200
    if request.method == "POST":
        try:
            answers, posted = _parse_page_post(request.POST, current.items)
            response = svc.ratings_save_page(
                panelist=panelist, round=rnd, study=study, answers=answers
            )
        except svc.RoundClosed as exc:
            # Too late to store: show exactly what was typed, read-only, with the reason.
            status, writable, page_errors = 409, False, []
            unsaved = _unsaved_ratings(request.POST, current.items, study)
            unsaved_reason = exc.messages[0]
            for index, view in enumerate(current.items):
                view.posted = locals().get("posted", {}).get(index, {})
        except ValidationError as exc:
            status = 400
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            posted = locals().get("posted", {})
            for index, view in enumerate(current.items):
                view.posted = posted.get(index, {})
                view.errors = errors.get(str(view.item.uuid), [])
            page_errors = errors.get("", [])
        else:
            action = request.POST.get("action")
            # Resume where the panelist was going, not where they were.
            step = {"next": 1, "previous": -1}.get(action, 0)
            svc.response_set_last_page(response=response, page=min(max(page + step, 1), len(pages)))
            messages.success(request, _("Your answers on this page are saved."))
            return redirect(_page_target(rnd, pages, page, action))
    else:
        page_errors = []
        svc.response_set_last_page(response=response, page=page)
    if status != 409:
        unsaved, unsaved_reason = [], ""
    feedback = fb.round_feedback(round=rnd, panelist=panelist, items=items, study=study)
    strings = cards.Strings()
    scale = _scale(study, rnd, lang)
    for index, view in enumerate(current.items):
        view.feedback = feedback.get(view.item.pk)
        view.card = cards.card_html(view, index, scale=scale, writable=writable, s=strings)
    rated, total = sel.progress(pages)
    bands = fb.round_bands(rnd, study)
    # The skip link's target: the first statement of the round still without an answer.
    first_unanswered = next(
        ((p.number, v.item.uuid) for p in pages for v in p.items if not v.value_token), None
    )
    return render(
        request,
        "panelist/page.html",
        _context(
            panelist,
            round=rnd,
            response=response,
            pages=pages,
            page=current,
            rated=rated,
            total=total,
            writable=writable,
            bands_json=json.dumps(bands),
            seqs_json=json.dumps(
                {str(v.item.uuid): v.rating.seq for v in current.items if v.rating and v.rating.seq}
            ),
            page_errors=page_errors,
            has_plain=any(v.plain_text for v in current.items),
            plain=plain,
            first_unanswered=first_unanswered,
            unsaved=unsaved,
            unsaved_reason=unsaved_reason,
        ),
        status=status,
    )


def _unsaved_ratings(post, views, study) -> list[dict]:
    """What a refused page post held, per statement, as the panelist typed it."""
    rows = []
    for index, view in enumerate(views):
        value = (post.get(f"v{index}") or "").strip()
        comment = (post.get(f"c{index}") or "").strip()
        reason = (post.get(f"r{index}") or "").strip()
        if not (value or comment or reason):
            continue
        if value == svc.UNABLE:
            value = _("Unable to rate")
        rows.append({"text": view.shown, "value": value, "comment": comment, "reason": reason})
    return rows


def _prompt_page(request, panelist, rnd, page):
    response = sel.panelist_response(panelist=panelist, round=rnd)
    pages = sel.prompt_pages(round=rnd, response=response, lang=_lang(panelist))
    if not pages:
        return redirect("panelist:suggest", round_uuid=rnd.uuid)
    if not 1 <= page <= len(pages):
        raise Http404
    current = pages[page - 1]
    writable = sel.round_is_writable(rnd)
    page_errors, unsaved, unsaved_reason = [], [], ""
    status = 200
    if request.method == "POST":
        by_id = {str(v.prompt.pk): v.prompt for v in current.items}
        answers: dict[RoundPrompt, str] = {}
        try:
            for key in request.POST:
                if key.startswith("a-"):
                    prompt = by_id.get(key[2:])
                    if prompt is None:
                        raise ValidationError(
                            _("This form contained an answer to a question not on this page.")
                        )
                    answers[prompt] = request.POST[key]
            response = svc.prompt_answers_save(panelist=panelist, round=rnd, answers=answers)
        except svc.RoundClosed as exc:
            status, writable, unsaved_reason = 409, False, exc.messages[0]
            for view in current.items:
                text = (request.POST.get(f"a-{view.prompt.pk}") or "").strip()
                if text:
                    unsaved.append({"text": view.text, "answer": text})
                    view.answer = text
        except ValidationError as exc:
            page_errors, status = exc.messages, 400
            for view in current.items:
                view.answer = request.POST.get(f"a-{view.prompt.pk}", view.answer)
        else:
            svc.response_set_last_page(response=response, page=page)
            messages.success(request, _("Your answers on this page are saved."))
            return redirect(_page_target(rnd, pages, page, request.POST.get("action")))
    else:
        svc.response_set_last_page(response=response, page=page)
    return render(
        request,
        "panelist/prompts.html",
        _context(
            panelist,
            round=rnd,
            pages=pages,
            page=current,
            writable=writable,
            page_errors=page_errors,
            response=response,
            unsaved=unsaved,
            unsaved_reason=unsaved_reason,
        ),
        status=status,
    )


def _json_error(message, status):
    return JsonResponse({"ok": False, "error": message}, status=status)


@require_POST
def autosave(request, round_uuid):
    """Save one answer from the page's script.

    The hot path of the whole site (every tap on a phone), so it is built to the floor: after
    Django's session read, one indexed SELECT checks the link, the panelist, the round and the
    item and brings the response along; then one upsert. It resolves the panelist from the
    session like every panelist view, with the same checks as ``panelist_required``.
    """
    invitation_id = request.session.get(SESSION_INVITATION)
    panelist_id = request.session.get(SESSION_PANELIST)
    if not invitation_id or not panelist_id:
        return _json_error(_("Your session has ended: open your study link again."), 403)
    try:
        payload = json.loads(request.body or b"{}")
        item_uuid = uuid.UUID(str(payload.get("item", "")))
    except (ValueError, TypeError, AttributeError):
        return _json_error(_("This answer could not be read; please use Save and continue."), 400)
    target = sel.autosave_target(
        invitation_id=invitation_id,
        panelist_id=panelist_id,
        round_uuid=round_uuid,
        item_uuid=item_uuid,
    )
    if target is None:
        if not sel.session_link_alive(invitation_id=invitation_id, panelist_id=panelist_id):
            return _json_error(_("Your session has ended: open your study link again."), 403)
        return _json_error(_("This statement is not part of this round."), 404)
    translation.activate(target.language or "en")
    fields = {k: payload[k] for k in ("value", "comment", "change_reason") if k in payload}
    if any(not isinstance(v, str | int) or isinstance(v, bool) for v in fields.values()):
        return _json_error(_("This answer could not be read; please use Save and continue."), 400)
    seq = payload.get("seq")
    try:
        applied = svc.rating_save(target=target, seq=seq, **fields)
    except svc.RoundClosed as exc:
        return _json_error(exc.messages[0], 409)
    except ValidationError as exc:
        return _json_error(" ".join(exc.messages), 400)
    # applied is False when a later action on the item reached the server first: the
    # later one stands, which is what the panelist did last.
    return JsonResponse({"ok": True, "applied": applied, "seq": seq})


@require_http_methods(["GET", "POST"])
@panelist_required
def review(request, panelist, round_uuid):
    gate = _gate(panelist)
    if gate:
        return gate
    rnd = sel.panelist_round(panelist=panelist, round_uuid=round_uuid)
    if rnd.kind == Round.Kind.RANKING:
        return ranking.ranking_review(request, panelist, rnd, _lang(panelist))
    response = sel.panelist_response(panelist=panelist, round=rnd)
    lang = _lang(panelist)
    if rnd.kind == Round.Kind.GENERATION:
        pages = sel.prompt_pages(round=rnd, response=response, lang=lang)
        missing = [(p, v) for p in pages for v in p.items if not v.answer.strip()]
        total = sum(len(p.items) for p in pages)
        rated = total - len(missing)
    else:
        items = sel.round_items(round=rnd)
        pages = sel.rating_pages(
            items=items, ratings=sel.ratings_by_item(response=response), lang=lang
        )
        missing = sel.unanswered(pages)
        rated, total = sel.progress(pages)
    writable = sel.round_is_writable(rnd)
    if request.method == "POST":
        if missing and not request.POST.get("confirm_incomplete"):
            messages.warning(
                request,
                _("Some statements are not answered yet. Answer them, or confirm below that "
                  "you want to submit anyway."),
            )  # fmt: skip
            return redirect("panelist:review", round_uuid=rnd.uuid)
        try:
            svc.response_submit(panelist=panelist, round=rnd)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect("panelist:review", round_uuid=rnd.uuid)
        return redirect("panelist:done", round_uuid=rnd.uuid)
    return render(
        request,
        "panelist/review.html",
        _context(
            panelist,
            round=rnd,
            response=response,
            missing=missing,
            rated=rated,
            total=total,
            writable=writable,
            pages=pages,
        ),
    )


@panelist_required
def done(request, panelist, round_uuid):
    rnd = sel.panelist_round(panelist=panelist, round_uuid=round_uuid)
    response = sel.panelist_response(panelist=panelist, round=rnd)
    return render(
        request,
        "panelist/done.html",
        _context(panelist, round=rnd, response=response, writable=sel.round_is_writable(rnd)),
    )


@require_http_methods(["GET", "POST"])
@panelist_required
def suggest(request, panelist, round_uuid):
    gate = _gate(panelist)
    if gate:
        return gate
    rnd = sel.panelist_round(panelist=panelist, round_uuid=round_uuid)
    study = panelist.study
    form = SuggestionForm(_posted(request), study=study, lang=_lang(panelist))
    writable = sel.round_is_writable(rnd)
    if request.method == "POST" and form.is_valid():
        try:
            svc.suggestion_create(
                panelist=panelist,
                round=rnd,
                text=form.cleaned_data["text"],
                rationale=form.cleaned_data["rationale"],
                domain=form.cleaned_data["domain"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Thank you: your statement was sent to the study team."))
            return redirect("panelist:suggest", round_uuid=rnd.uuid)
    response = sel.panelist_response(panelist=panelist, round=rnd)
    return render(
        request,
        "panelist/suggest.html",
        _context(
            panelist,
            round=rnd,
            form=form,
            writable=writable,
            suggestions=sel.panelist_suggestions(response=response),
        ),
    )


# --- leaving ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@panelist_required
def withdraw(request, panelist):
    if panelist.status != Panelist.Status.ACTIVE:
        return redirect("panelist:withdrawn")
    form = WithdrawForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        svc.panelist_withdraw(
            panelist=panelist, study=panelist.study, keep_answers=form.cleaned_data["keep_answers"]
        )
        return redirect("panelist:withdrawn")
    return render(request, "panelist/withdraw.html", _context(panelist, form=form))


@panelist_required
def withdrawn(request, panelist):
    if panelist.status == Panelist.Status.ACTIVE:
        return redirect("panelist:home")
    return render(request, "panelist/withdrawn.html", _context(panelist))


# RFC 8058: mail clients POST without a page or a cookie, so no CSRF token; the signed
# token in the URL is the check, and the action is idempotent.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    if inv.unsubscribe_panelist_uuid(token) is None:
        return link_problem(request, status=404)
    if request.method == "POST":
        inv.panelist_unsubscribe(token=token)
        return render(request, "panelist/unsubscribed.html")
    return render(request, "panelist/unsubscribe.html", {"token": token})
