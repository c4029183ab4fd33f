"""Panelist link tokens: a capability, not a login.

The raw token goes into one e-mail and nowhere else; the database keeps only its SHA-256, so a
leaked database (or backup) cannot be turned into working links. A token is looked up by its hash
(unique index), so there is no secret comparison in Python to time.
"""

import hashlib
import secrets

from django.utils import timezone

from panels.models import Invitation

TOKEN_BYTES = 32  # token_urlsafe(32): 256 bits, 43 characters


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_mint() -> tuple[str, str]:
    """A new (raw token, hash) pair. Store the hash; mail the raw token; forget it."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    return raw, token_hash(raw)


def token_unusable_hash() -> str:
    """A hash nobody holds the token for: a placeholder until the link is actually minted."""
    return token_hash("unusable:" + secrets.token_urlsafe(TOKEN_BYTES))


def token_verify(raw: str) -> tuple[Invitation | None, str]:
    """Find the live invitation for a raw token.

    Returns (invitation, "") when the link works, else (None, reason) with reason one of
    "unknown", "revoked", "expired". Callers show the same page for all of them. A withdrawn
    panelist's link still works: it leads to the page that confirms their withdrawal.
    """
    if not raw or len(raw) > 100:
        return None, "unknown"
    invitation = Invitation.objects.filter(token_hash=token_hash(raw)).first()
    if invitation is None:
        return None, "unknown"
    if invitation.status == Invitation.Status.REVOKED:
        return None, "revoked"
    if invitation.expires_at <= timezone.now():
        return None, "expired"
    return invitation, ""
