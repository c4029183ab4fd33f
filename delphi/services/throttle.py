"""Throttling failed panelist-link exchanges per client (a cache counter).

A link token has 256 bits, so guessing one is hopeless; the throttle is there so that a scanner
walking `/p/t/…` is slowed to a trickle and shows up in the log. Failed sign-ins are django-axes'
job (settings.AXES_*); this covers the one page that is not a sign-in form.
"""

import logging

from django.conf import settings
from django.core.cache import cache

from lib.clientip import client_ip

log = logging.getLogger("delphi.security")


def _key(request) -> str:
    return f"link-failures:{client_ip(request)}"


def link_exchange_blocked(request) -> bool:
    return (cache.get(_key(request)) or 0) >= settings.LINK_FAILURE_LIMIT


def link_exchange_failed(request) -> int:
    """Count one failed exchange for this client; returns the count in the current window."""
    key = _key(request)
    # add() starts the window; incr() keeps its expiry (both backends we use do).
    if cache.add(key, 1, timeout=settings.LINK_FAILURE_WINDOW):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, timeout=settings.LINK_FAILURE_WINDOW)
            count = 1
    if count == settings.LINK_FAILURE_LIMIT:
        log.warning(
            "Panelist links: %s failed link exchanges from %s; further links from this "
            "client are refused for %s s",
            count,
            client_ip(request),
            settings.LINK_FAILURE_WINDOW,
        )
    return count
