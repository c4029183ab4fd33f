"""One way to write dates, p-values and audit rows on the researcher pages.

``{{ value|when }}``: "17 Nov 2026, 14:05" (``|day``: "17 Nov 2026"); ``{{ p|p_value }}``:
"< 0.001" below that, else three decimals; ``{{ event|in_words }}``: "Round 2 opened by rita".
"""

from django import template
from django.template.defaultfilters import date as date_filter

from delphi.audit_words import event_sentence

register = template.Library()

WHEN = "j M Y, H:i"
DAY = "j M Y"


@register.filter
def when(value, seconds: bool = False) -> str:
    if not value:
        return ""
    return date_filter(value, WHEN + (":s" if seconds else ""))


@register.filter
def day(value) -> str:
    return date_filter(value, DAY) if value else ""


@register.filter
def p_value(value) -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"


@register.filter
def in_words(event) -> str:
    return event_sentence(event)
