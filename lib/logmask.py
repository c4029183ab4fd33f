"""Keeping panelist link tokens out of logs and error reports.

A panelist's link (`/p/t/<token>/`, `/p/unsubscribe/<token>/`) is a capability: whoever holds it
can act as that panelist until it expires. Web servers and Django write request paths into logs
(access lines, "Not Found: /p/t/…" warnings, error e-mails), so every place that writes a path
passes it through `mask()` first. The mask keeps a short SHA-256 prefix of the token so a support
person can still match a log line to a complaint ("the link ending …") without being able to use
it: six hex digits of the hash of a 256-bit secret give nothing back.
"""

import hashlib
import logging
import re

from django.views.debug import ExceptionReporter

# The token is whatever follows the prefix up to the next path separator, query or whitespace;
# quoted forms (%2F) are left inside the token and masked with it.
TOKEN_PATH = re.compile(r"(/p/(?:t|unsubscribe)/)([^/?#\s\"'<>]+)")


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:6]


def tokens_in(path: str) -> list[str]:
    """The raw tokens inside a request path (usually none, at most one)."""
    return [m.group(2) for m in TOKEN_PATH.finditer(path or "")]


def mask(text: str, tokens=()) -> str:
    """`text` with every panelist token in a link path replaced by `[masked-abc123]`.

    `tokens` are raw tokens known from the request: they are masked wherever they appear, even
    outside a path (an exception message, a view's local variable in an error report).
    """
    for token in tokens:
        if len(token) >= 8:  # never blank out short common words
            text = text.replace(token, f"[masked-{_fingerprint(token)}]")
    if "/p/" not in text:
        return text
    return TOKEN_PATH.sub(lambda m: f"{m.group(1)}[masked-{_fingerprint(m.group(2))}]", text)


def _request_tokens(request) -> list[str]:
    if request is None:
        return []
    return tokens_in(getattr(request, "path", "")) + tokens_in(
        getattr(request, "META", {}).get("HTTP_REFERER", "")
    )


class MaskTokensFilter(logging.Filter):
    """A handler filter: formats the record's message once, masked, and masks its traceback.

    Attached to handlers (not loggers) so records propagated from any logger pass through it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave the record as it is
            return True
        tokens = _request_tokens(getattr(record, "request", None))
        masked = mask(message, tokens)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text, tokens)
        return True


class MaskingExceptionReporter(ExceptionReporter):
    """Django's error report (e-mail to ADMINS, DEBUG page) with tokens masked everywhere:
    the request line, META (PATH_INFO, REQUEST_URI, HTTP_REFERER), frame locals (a view's
    `token` argument) and exception messages."""

    def get_traceback_text(self):
        return mask(super().get_traceback_text(), _request_tokens(self.request))

    def get_traceback_html(self):
        return mask(super().get_traceback_html(), _request_tokens(self.request))
