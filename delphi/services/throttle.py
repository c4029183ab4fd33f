"""Throttling failed panelist-link exchanges, per client and per link (cache counters), with a
record in the database (``LinkFailure``, listed in the admin).

A link token has 256 bits, so guessing one is hopeless; the per-client throttle is there so
that a scanner walking `/p/t/…` is slowed to a trickle. The per-link throttle is for a link
that leaked (a forwarded e-mail, a log): a revoked or expired link tried from many clients is
refused before the lookup once it has failed ``LINK_TOKEN_FAILURE_LIMIT`` times in the window,
whatever the client. Every failure is recorded (at most ``LINK_FAILURE_LIMIT`` rows per client
per window, plus one row when a limit is reached: refused requests beyond it write nothing, so
a scanner cannot fill the table). Failed sign-ins are django-axes' job (settings.AXES_*); this
covers the one page that is not a sign-in form.
"""

import logging

from django.conf import settings
from django.core.cache import cache

from delphi.models import LinkFailure
from lib.clientip import client_ip
from panels.models import Invitation
from panels.tokens import token_hash

log = logging.getLogger("delphi.security")


def _client_key(request) -> str:
    return f"link-failures:{client_ip(request)}"


def _link_key(token: str) -> str:
    return f"link-failures:token:{token_hash(token)[:32]}"


def token_prefix(token: str) -> str:
    """What the record and the log say about a token: 12 hex digits of its SHA-256."""
    return token_hash(token)[:12]


def _count(key: str) -> int:
    # add() starts the window; incr() keeps its expiry (both backends we use do).
    if cache.add(key, 1, timeout=settings.LINK_FAILURE_WINDOW):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=settings.LINK_FAILURE_WINDOW)
        return 1


def link_exchange_blocked(request, token: str = "") -> bool:
    """Whether this client, or this link from any client, has failed too often lately."""
    counts = cache.get_many([_client_key(request), *([_link_key(token)] if token else [])])
    if (counts.get(_client_key(request)) or 0) >= settings.LINK_FAILURE_LIMIT:
        return True
    return bool(token) and (counts.get(_link_key(token)) or 0) >= settings.LINK_TOKEN_FAILURE_LIMIT


def _record(request, kind: str, token: str, panelist_id=None) -> None:
    LinkFailure.objects.create(
        kind=kind,
        client=client_ip(request)[:45],
        token_prefix=token_prefix(token) if token else "",
        panelist_id=panelist_id,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
    )


def link_exchange_failed(request, token: str = "", reason: str = "unknown") -> int:
    """Count one failed exchange for this client and this link, and record it. Returns the
    client's count in the current window."""
    count = _count(_client_key(request))
    per_link = _count(_link_key(token)) if token else 0
    if count <= settings.LINK_FAILURE_LIMIT:
        panelist_id = None
        if reason in ("revoked", "expired"):
            panelist_id = (
                Invitation.objects.filter(token_hash=token_hash(token))
                .values_list("panelist_id", flat=True)
                .first()
            )
        _record(request, reason, token, panelist_id)
    if count == settings.LINK_FAILURE_LIMIT:
        _record(request, LinkFailure.Kind.CLIENT_LIMIT, token)
        log.warning(
            "Panelist links: %s failed link exchanges from %s; further links from this "
            "client are refused for %s s",
            count,
            client_ip(request),
            settings.LINK_FAILURE_WINDOW,
        )
    if per_link == settings.LINK_TOKEN_FAILURE_LIMIT:
        _record(request, LinkFailure.Kind.LINK_LIMIT, token)
        log.warning(
            "Panelist links: link %s… failed %s times (last from %s); it is refused from any "
            "client for %s s",
            token_prefix(token),
            per_link,
            client_ip(request),
            settings.LINK_FAILURE_WINDOW,
        )
    return count
