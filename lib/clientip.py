"""The client's address for throttling, behind a known number of reverse proxies.

Sign-in and link throttles count failures per client. Behind a proxy REMOTE_ADDR is the proxy
itself, so with TRUSTED_PROXY_COUNT = n the address is the n-th entry from the right of
X-Forwarded-For (the one the nearest trusted proxy saw). Entries further left are whatever the
client claimed and are never trusted: a client cannot escape its counter by sending the header.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    hops = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < hops:
        return remote
    return forwarded[-hops]


def axes_client_ip(request) -> str | None:
    """client_ip for django-axes, which stores it in an inet column on PostgreSQL.

    A request without an address (Django's test client logging a user in, a management command)
    has none to store: "unknown" would make PostgreSQL refuse the whole sign-in.
    """
    address = client_ip(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address
