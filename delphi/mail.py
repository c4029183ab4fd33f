"""The console e-mail backend `make run` uses, with one summary line per message.

Django's console backend prints whole messages; sending a round's invitations prints dozens of
them. Before each message this one prints a single line naming the panelist (their pseudonymous
id, looked up from the recipient address) and the personal link in the message, so a newcomer
can find one panelist's link with ``grep``.
"""

import re

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

# A personal link: the panelist pages are mounted at /p/ and links carry the token at /p/t/.
LINK = re.compile(r"https?://\S+/p/t/[^\s<>\"']+")


def message_summary(message) -> str:
    """``[mail] P-XXXX <to> | subject | link`` for one message (one line)."""
    from panels.models import Contact

    recipients = list(message.to) + list(message.cc) + list(message.bcc)
    # The delivery code knows whom it is writing to and says so (no query per message);
    # anything else is looked up by address.
    ids = getattr(message, "panelist_public_ids", None)
    if ids is None:
        ids = Contact.objects.filter(email__in=recipients).values_list(
            "panelist__public_id", flat=True
        )
    ids = sorted(ids)
    link = LINK.search(message.body or "")
    parts = [
        f"[mail] {', '.join(ids) or 'no panelist'} <{', '.join(recipients)}>",
        " ".join(str(message.subject).split()),
    ]
    if link:
        parts.append(link.group(0))
    return " | ".join(parts)


class ConsoleBackend(DjangoConsoleBackend):
    def write_message(self, message):
        self.stream.write(message_summary(message) + "\n")
        super().write_message(message)
