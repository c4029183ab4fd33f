"""The questionnaire card's former builder (delphi/panelist/cards.py until December 2026),
kept only so that bench/cards.py can compare the Jinja2 template with it, card by card.

The HTML of one statement card on the questionnaire page, built in Python.

Why not a template: a page of 150 statements is 150 x (10 radio buttons + labels + fields +
feedback); Django's template engine took ~640 ms for it on this machine (cProfile: all in
template nodes), far beyond what a phone user should wait. The same markup built with
format_html takes a few milliseconds. Every value goes through format_html's escaping.
Field names use the statement's position on the page (v3, c3, r3) rather than its UUID, which
keeps the page small; the card carries the UUID once, in data-item, for the autosave script.
"""

import math

from django.utils.formats import number_format
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


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
        self.language_names = {"en": _("Written in English"), "es": _("Written in Spanish")}
        self._bands = None

    def scale_html(self, scale: dict, index: int, token: str, previous) -> str:
        """The scale's buttons for one card. Labels are escaped once per page; per card only
        integers go in, so no escaping is needed here (this is the page's hot loop)."""
        if self._bands is None:
            self._bands = []
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
                    mine = f", {label}, {self.your_last_html}" if label else (
                        f", {self.your_last_html}")  # fmt: skip
                    values.append((v, shown, cls, hidden, mine))
                self._bands.append((f"{heading}: {label}" if label else heading, values))
        out = []
        for heading, values in self._bands:
            out.append(
                '<div class="scale-band"><div class="band-label" aria-hidden="true">'
                f'{heading}</div><div class="band-buttons">'
            )
            for v, shown, cls, hidden, hidden_mine in values:
                mine = previous == v
                checked = " checked" if token == str(v) else ""
                out.append(
                    f'<input type="radio" class="btn-check" name="v{index}" id="v{index}-{v}" '
                    f'value="{v}" autocomplete="off"{checked}><label class="btn '
                    f'btn-outline-primary scale-btn{cls}{" was-mine" if mine else ""}" '
                    f'for="v{index}-{v}">{shown}<span class="visually-hidden">'
                    f"{hidden_mine if mine else hidden}</span></label>"
                )
            out.append("</div></div>")
        return mark_safe("".join(out))  # noqa: S308 - escaped labels and integers only

    @property
    def your_last_html(self) -> str:
        return conditional_escape(self.your_last)


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


def _feedback(fb, s: Strings) -> str:
    if fb.previous_value is not None:
        # The translation holds the markup; the only value is an integer.
        mine = mark_safe(  # noqa: S308
            _('You rated it <strong class="mine-badge">%(v)s</strong>.')
            % {"v": int(fb.previous_value)}
        )
    elif fb.previous_unable:
        mine = s.unable_before
    else:
        mine = s.not_rated_before
    parts = [
        format_html(
            '<div class="feedback mb-3"><h3 class="fb-kicker">{}</h3><p class="mb-1">{} '
            '<span class="verdict">{}.</span></p>',
            s.last_round,
            mine,
            fb.verdict_label,
        )
    ]
    band = fb.top_band
    if not fb.distributions:
        parts.append(format_html('<p class="small mb-1">{}</p>', s.not_ready))
    else:
        # The whole panel: one compact chart and its numbers in words.
        d = fb.distributions[0]
        bars = format_html_join(
            "",
            '<div class="bar-col{}"><div class="bar-track"><div class="bar bar-h-{}"></div>'
            '</div><span class="bar-value">{}</span></div>',
            ((" mine" if b.mine else "", b.step, b.value) for b in d.bars),
        )
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}{}</th><td>{}</td><td>{}%</td></tr>',
            (
                (b.value, f" ({s.your_rating})" if b.mine else "", b.count, int(b.pct))
                for b in d.bars
            ),
        )
        parts.append(
            format_html(
                '<figure class="dist mb-1"><figcaption class="small"><strong>{} ({})</strong>: '
                '{}</figcaption><div class="bars" aria-hidden="true">{}</div>'
                # The wrapper, not the table, is hidden: a table ignores the 1 px width of
                # .visually-hidden and would widen a phone page.
                '<div class="visually-hidden"><table><caption>{}</caption><thead><tr>'
                '<th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th>'
                "</tr></thead><tbody>{}</tbody></table></div></figure>",
                d.label,
                d.n,
                _plain_summary(d, band),
                bars,
                _("Ratings last round: %(label)s") % {"label": d.label},
                s.rating,
                s.number,
                s.percent,
                rows,
            )
        )
        # The split by stakeholder group, one tap away: a compact table, exact values.
        table_rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    g.label,
                    g.n,
                    f"{g.top_pct}%" if g.top_pct is not None else "–",
                    _exact(g.median),
                    f"{_exact(g.q1)}–{_exact(g.q3)}" if g.q1 is not None else "–",
                )
                for g in fb.distributions
            ),
        )
        groups = len(fb.distributions) - 1
        summary = (
            ngettext(
                "By stakeholder group (%(counter)s group) and exact values",
                "By stakeholder group (%(counter)s groups) and exact values",
                groups,
            )
            % {"counter": groups}
            if groups
            else _("Exact values")
        )
        parts.append(
            format_html(
                '<details class="fb-groups small"><summary>{}</summary>'
                '<table class="table table-sm fb-table mt-1 mb-1"><caption class="visually-hidden">'
                "{}</caption><thead><tr>"
                '<th scope="col">{}</th><th scope="col">n</th><th scope="col">{}</th>'
                '<th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>{}</tbody>'
                "</table></details>",
                summary,
                _("Last round by stakeholder group"),
                _("Group"),
                _("Rated %(band)s") % {"band": _band_text(band)} if band else _("Top band"),
                _("Median"),
                _("Middle half"),
                table_rows,
            )
        )
    if fb.comments:
        summary = ngettext(
            "%(counter)s comment from other panelists",
            "%(counter)s comments from other panelists",
            len(fb.comments),
        ) % {"counter": len(fb.comments)}
        parts.append(
            format_html(
                '<details class="small fb-comments"><summary>{}</summary><ul class="mt-2 mb-0">{}'
                "</ul></details>",
                summary,
                format_html_join(
                    "",
                    '<li lang="{}"><span class="lang-tag"><span aria-hidden="true">{}</span>'
                    '<span class="visually-hidden">{}:</span></span> {}</li>',
                    (
                        (
                            c.language,
                            c.language.upper(),
                            s.language_names.get(c.language, ""),
                            c.text,
                        )
                        for c in fb.comments
                    ),
                ),
            )
        )
    parts.append(mark_safe("</div>"))  # noqa: S308 - a constant closing tag
    return "".join(parts)


def card_html(view, index: int, *, scale: dict, writable: bool, s: Strings) -> str:
    uid = str(view.item.uuid)
    fb = view.feedback
    token = view.value_token
    disabled = "" if writable else " disabled"
    previous = fb.previous_value if fb else None

    bands = s.scale_html(scale, index, token, previous)
    errors = ""
    if view.errors:
        errors = format_html(
            '<div class="text-danger fw-semibold mb-2" id="err{}">{}</div>',
            index,
            " ".join(str(e) for e in view.errors),
        )
    reason = ""
    if fb:
        reason = format_html(
            '<div class="change-reason mt-3" data-change-reason><label class="form-label" '
            'for="r{i}">{label}</label><textarea class="form-control" name="r{i}" id="r{i}" '
            'rows="2" maxlength="4000"{dis}>{text}</textarea></div>',
            i=index,
            label=s.reason,
            dis=disabled,
            text=view.change_reason,
        )
    return format_html(
        '<div class="card item mb-3{err_cls}" id="item-{uid}" data-item="{uid}" tabindex="-1"'
        "{prev}>"
        '<div class="card-body"><fieldset class="scale"{dis}{described}>'
        '<legend class="statement">{text}</legend>{errors}{feedback}'
        '<div class="scale-bands bands-{n_bands}">{bands}</div>'
        '<input type="radio" class="btn-check" name="v{i}" id="v{i}-unable" value="unable" '
        'autocomplete="off"{unable_checked}><label class="btn btn-outline-secondary unable-btn '
        'mt-2" for="v{i}-unable">{unable}</label></fieldset>'
        '<p class="item-saved small" aria-hidden="true"></p>{reason}'
        '<details class="mt-3 comment"{open}><summary>{add_comment}</summary>'
        '<label class="form-label mt-2" for="c{i}">{comment_label}</label>'
        '<textarea class="form-control" name="c{i}" id="c{i}" rows="2" maxlength="4000"{dis}>'
        "{comment}</textarea></details></div></div>",
        err_cls=" border-danger" if view.errors else "",
        uid=uid,
        prev=format_html(' data-prev-band="{}"', fb.previous_band)
        if fb and fb.previous_band is not None
        else "",
        dis=disabled,
        described=format_html(' aria-describedby="err{}"', index) if view.errors else "",
        text=view.shown,
        errors=errors,
        feedback=mark_safe(_feedback(fb, s)) if fb else "",  # noqa: S308 - built escaped
        bands=bands,
        n_bands=len(scale["bands"]),
        i=index,
        unable_checked=mark_safe(" checked") if token == "unable" else "",  # noqa: S308
        unable=s.unable,
        reason=reason,
        open=mark_safe(" open") if view.comment else "",  # noqa: S308
        add_comment=s.add_comment,
        comment_label=s.comment,
        comment=view.comment,
    )
