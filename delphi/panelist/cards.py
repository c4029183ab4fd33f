"""One statement card of the questionnaire page: its texts and values, rendered by the Jinja2
template ``templates/jinja2/panelist/card.jinja``.

Why Jinja2: a page of 150 statements is 150 x (10 radio buttons + labels + fields + feedback).
Django's template engine took ~640 ms for it on this machine (cProfile: all in template
nodes); a hand-written format_html builder took a fraction of that, and Jinja2 renders the
same markup in 0.7-0.9x the builder's time (``bench/cards.py`` checks the two give the same
HTML card by card and times both). The template keeps the markup readable; Python keeps what
is computed: texts translated once per page (``Strings``), the scale's buttons escaped once
per page, and the plain-language summary of the last round.
Field names use the statement's position on the page (v3, c3, r3) rather than its UUID, which
keeps the page small; the card carries the UUID once, in data-item, for the autosave script.
"""

import math
from functools import cache

from django.template import engines
from django.utils.formats import number_format
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


@cache
def _template(name: str = "panelist/card.jinja"):
    return engines["jinja2"].env.get_template(name)


class Strings:
    """Translated once per page, not once per card."""

    def __init__(self):
        self.unable = _("Unable to rate")
        self.your_last = _("your rating last round")
        self.reason = _(
            "You moved this statement to a different band than last round. "
            "Would you like to say why? (optional)"
        )
        self.add_comment = _("Add a comment (optional)")
        self.comment = _("Your comment on this statement")
        self.last_round = _("Last round")
        self.unable_before = _("You chose “unable to rate”.")
        self.not_rated_before = _("You did not rate it last round.")
        self.no_ratings = _("no ratings")
        self.not_ready = _("The results of the last round are not ready yet.")
        self.you = _("you")
        self.your_rating = _("your rating")
        self.rating = _("Rating")
        self.number = _("Number of panelists")
        self.percent = _("Percent")
        self.groups_caption = _("Last round by stakeholder group")
        self.group = _("Group")
        self.median = _("Median")
        self.middle_half = _("Middle half")
        self.top_band = _("Top band")
        self.exact_values = _("Exact values")
        self.language_names = {"en": _("Written in English"), "es": _("Written in Spanish")}
        self._bands = None

    def scale_bands(self, scale: dict) -> list:
        """The scale's bands for every card of the page: (heading, buttons), each button
        (value, shown, css class, hidden text, hidden text when it was the panelist's last
        rating). Labels are escaped here, once per page."""
        if self._bands is None:
            self._bands = []
            your_last = conditional_escape(self.your_last)
            for band in scale["bands"]:
                label = conditional_escape(band["label"])
                low, high = band["low"], band["high"]
                heading = f"{low}–{high}" if high != low else str(low)
                points = band.get("points") or {}
                values = []
                for v in band["values"]:
                    # A point's label is shown on its button; the band's label is read out
                    # after it (the band heading above the buttons is hidden from readers).
                    text = conditional_escape(points[v]) if v in points else ""
                    shown = f'{v}<span class="point-label"> {text}</span>' if text else str(v)
                    cls = " has-point-label" if text else ""
                    hidden = f", {label}" if label else ""
                    mine = f", {label}, {your_last}" if label else f", {your_last}"
                    # Escaped labels and integers only.
                    values.append((v, mark_safe(shown), cls, mark_safe(hidden), mark_safe(mine)))  # noqa: S308
                heading = f"{heading}: {label}" if label else heading
                self._bands.append((mark_safe(heading), values))  # noqa: S308 - escaped above
        return self._bands


def _num(value) -> str:
    """Like the floatformat:"-1" filter: 7 -> "7", 7.25 -> "7.3" ("7,3" in Spanish)."""
    if value is None:
        return "–"
    value = round(float(value), 1)
    return number_format(value, decimal_pos=0 if value.is_integer() else 1)


def _exact(value) -> str:
    """Exact quartiles for the detail table: 6.25 stays 6.25 ("6,25" in Spanish)."""
    if value is None:
        return "–"
    value = round(float(value), 2)
    if value.is_integer():
        return number_format(value, decimal_pos=0)
    return number_format(value, decimal_pos=1 if round(value, 1) == value else 2)


def _band_text(band) -> str:
    low, high = band
    return f"{low}–{high}" if high != low else str(low)


def _plain_summary(d, band) -> str:
    """The sentence a lay reader gets: "72 % rated 7–9; median 8; the middle half rated
    between 6 and 8." Medians as they are; the middle half rounded outward to whole points."""
    if d.median is None:
        return _("no ratings")
    parts = []
    if d.top_pct is not None and band is not None:
        parts.append(_("%(pct)s%% rated %(band)s") % {"pct": d.top_pct, "band": _band_text(band)})
    parts.append(_("median %(m)s") % {"m": _num(d.median)})
    text = "; ".join(parts)
    if d.q1 is not None and d.q3 is not None:
        low, high = math.floor(d.q1 + 1e-9), math.ceil(d.q3 - 1e-9)
        if low == high:
            middle = _("the middle half all rated %(v)s") % {"v": low}
        else:
            middle = _("the middle half rated between %(a)s and %(b)s") % {"a": low, "b": high}
        text = f"{text}; {middle}"
    return text + "."


def _texts(fb, s: Strings) -> dict:
    """The feedback's sentences for one card (numbers in words, counts in the plural)."""
    band = fb.top_band
    groups = len(fb.distributions) - 1
    texts = {
        # The translation holds the markup; the only value is an integer.
        "mine": mark_safe(  # noqa: S308
            _('You rated it <strong class="mine-badge">%(v)s</strong>.')
            % {"v": int(fb.previous_value)}
        )
        if fb.previous_value is not None
        else "",
        "top_heading": _("Rated %(band)s") % {"band": _band_text(band)} if band else s.top_band,
        "groups_summary": ngettext(
            "By stakeholder group (%(counter)s group) and exact values",
            "By stakeholder group (%(counter)s groups) and exact values",
            groups,
        )
        % {"counter": groups}
        if groups
        else s.exact_values,
    }
    if fb.distributions:
        d = fb.distributions[0]
        texts["plain_summary"] = _plain_summary(d, band)
        texts["dist_caption"] = _("Ratings last round: %(label)s") % {"label": d.label}
    if fb.comments:
        texts["comments_summary"] = ngettext(
            "%(counter)s comment from other panelists",
            "%(counter)s comments from other panelists",
            len(fb.comments),
        ) % {"counter": len(fb.comments)}
    return texts


def scale_html(scale: dict, index: int, *, s: Strings, token: str = "", previous=None) -> str:
    """The scale's buttons alone, as in a card (the protocol page's preview)."""
    html = _template("panelist/scale.jinja").render(
        {"i": index, "bands": s.scale_bands(scale), "token": token, "previous": previous}
    )
    return mark_safe(html)  # noqa: S308 - rendered with autoescape on


def card_html(view, index: int, *, scale: dict, writable: bool, s: Strings) -> str:
    fb = view.feedback
    html = _template().render(
        {
            "view": view,
            "uid": str(view.item.uuid),
            "fb": fb,
            "t": _texts(fb, s) if fb else {},
            "i": index,
            "s": s,
            "token": view.value_token,
            "disabled": "" if writable else " disabled",
            "previous": fb.previous_value if fb else None,
            "bands": s.scale_bands(scale),
            "exact": _exact,
        }
    )
    return mark_safe(html)  # noqa: S308 - rendered with autoescape on
