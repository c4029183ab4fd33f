"""The questionnaire's statement cards: today's Python builder against a Jinja2 template.

    .venv/bin/python bench/cards.py [--cards 150] [--repeat 15]

Issue 11 asked whether Django's Jinja2 backend renders the card markup within 1.5x of the
builder in ``delphi/panelist/cards.py`` (Django's own template engine took ~640 ms for 150
cards). ``bench/cards/card.jinja`` is a faithful port of ``card_html``: this script first checks
that both give the same HTML for every card, then times both on the demo study's open rating
round (round-1 feedback under every card: a chart, a group table and comments), the round's
cards repeated up to ``--cards``. Runs on a throwaway SQLite database; prints the median and
best time per page and the ratio.
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='bench-cards-')}/db.sqlite3"
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "delphi.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.template.backends.jinja2 import Jinja2  # noqa: E402
from django.utils.safestring import mark_safe  # noqa: E402
from django.utils.translation import gettext as _  # noqa: E402
from django.utils.translation import ngettext  # noqa: E402

from delphi.models import Round  # noqa: E402
from delphi.panelist import cards, feedback, selectors  # noqa: E402
from delphi.views.panelist import _scale  # noqa: E402


def jinja_context(view, index, *, scale, writable, s):
    """What the template needs beyond the card's own objects: the same translated texts and
    helper results the builder computes (a template port keeps them in Python too)."""
    fb = view.feedback
    s.scale_html(scale, index, view.value_token, None)  # fills s._bands once per page
    context = {
        "view": view,
        "uid": str(view.item.uuid),
        "fb": fb,
        "i": index,
        "s": s,
        "token": view.value_token,
        "disabled": "" if writable else " disabled",
        "previous": fb.previous_value if fb else None,
        "bands": [(mark_safe(h), v) for h, v in s._bands],  # noqa: S308 - escaped by Strings
        "exact": cards._exact,
    }
    if fb:
        band = fb.top_band
        groups = len(fb.distributions) - 1
        context.update(
            mine_html=mark_safe(  # noqa: S308 - the translation holds the markup
                _('You rated it <strong class="mine-badge">%(v)s</strong>.')
                % {"v": int(fb.previous_value)}
            )
            if fb.previous_value is not None
            else "",
            plain_summary=cards._plain_summary(fb.distributions[0], band)
            if fb.distributions
            else "",
            dist_caption=_("Ratings last round: %(label)s") % {"label": fb.distributions[0].label}
            if fb.distributions
            else "",
            groups_summary=ngettext(
                "By stakeholder group (%(counter)s group) and exact values",
                "By stakeholder group (%(counter)s groups) and exact values",
                groups,
            )
            % {"counter": groups}
            if groups
            else _("Exact values"),
            groups_caption=_("Last round by stakeholder group"),
            group_heading=_("Group"),
            top_heading=_("Rated %(band)s") % {"band": cards._band_text(band)}
            if band
            else _("Top band"),
            median_heading=_("Median"),
            middle_heading=_("Middle half"),
            comments_summary=ngettext(
                "%(counter)s comment from other panelists",
                "%(counter)s comments from other panelists",
                len(fb.comments),
            )
            % {"counter": len(fb.comments)},
        )
    return context


def squeeze(html: str) -> str:
    # Django escapes an apostrophe as &#x27;, Jinja2 (markupsafe) as &#39;: the same character.
    return re.sub(r">\s+<", "><", str(html)).replace("&#39;", "&#x27;").strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)
    rnd = Round.objects.filter(kind=Round.Kind.RATING, status=Round.Status.OPEN).get()
    study = rnd.study
    panelist = next(
        p
        for p in study.panel.panelists.filter(status="active").order_by("pk")
        if p.responses.filter(round__number__lt=rnd.number).exists()
    )
    items = selectors.round_items(round=rnd)
    pages = selectors.rating_pages(items=items, ratings={}, lang="en")
    views = [v for page in pages for v in page.items]
    fbs = feedback.round_feedback(round=rnd, panelist=panelist, items=items, study=study)
    for v in views:
        v.feedback = fbs.get(v.item.pk)
        v.plain = False
    views = (views * (args.cards // len(views) + 1))[: args.cards]
    scale = _scale(study, rnd)
    with_feedback = sum(1 for v in views if v.feedback and v.feedback.distributions)

    engine = Jinja2(
        {
            "NAME": "bench",
            "DIRS": [str(HERE / "cards")],
            "APP_DIRS": False,
            "OPTIONS": {"autoescape": True},
        }
    )
    template = engine.env.get_template("card.jinja")

    def builder():
        s = cards.Strings()
        return [cards.card_html(v, i, scale=scale, writable=True, s=s) for i, v in enumerate(views)]

    def jinja():
        s = cards.Strings()
        return [
            template.render(jinja_context(v, i, scale=scale, writable=True, s=s))
            for i, v in enumerate(views)
        ]

    built, rendered = builder(), jinja()
    pairs = enumerate(zip(built, rendered, strict=True))
    different = [i for i, (a, b) in pairs if squeeze(a) != squeeze(b)]
    if different:
        i = different[0]
        a, b = squeeze(built[i]), squeeze(rendered[i])
        chars = enumerate(zip(a, b, strict=False))
        at = next((k for k, (x, y) in chars if x != y), min(len(a), len(b)))
        print("The port differs from the builder on card", i, "at character", at)
        print("builder:", a[max(0, at - 200) : at + 200])
        print("Jinja2: ", b[max(0, at - 200) : at + 200])
        raise SystemExit(1)
    print(
        f"{len(views)} cards ({with_feedback} with a chart, a group table and comments): "
        "the Jinja2 port gives the same HTML as the builder for every card"
    )

    def timed(fn):
        out = []
        for _repeat in range(args.repeat):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
        return statistics.median(out), min(out)

    b_med, b_min = timed(builder)
    j_med, j_min = timed(jinja)
    print(f"builder (format_html): median {b_med * 1000:6.1f} ms, best {b_min * 1000:6.1f} ms")
    print(f"Jinja2 template:       median {j_med * 1000:6.1f} ms, best {j_min * 1000:6.1f} ms")
    ratio = j_med / b_med
    verdict = "within" if ratio <= 1.5 else "beyond"
    print(f"Jinja2 / builder: {ratio:.2f}x ({verdict} the 1.5x the issue allows)")
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
