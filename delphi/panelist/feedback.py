"""Feedback from the previous round, for items carried forward.

Everything shown comes from what the consensus engine persisted for the previous round
(ItemResult histograms, medians, IQRs; ItemDecision verdicts): a page never recomputes
statistics, so the panelist sees exactly the numbers the researcher's report shows. A stakeholder
group smaller than the study's minimum size is not shown on its own (it stays in "all").
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from delphi.models import ItemDecision, ItemResult, Rating, Response, Round, Study

AGGREGATES = ("all", "balanced")


@dataclass
class Bar:
    value: int
    count: int
    pct: float
    mine: bool
    # Bar height as a share of the tallest bar, in steps of 5 (a CSS class, not inline style).
    step: int = 0


@dataclass
class Distribution:
    label: str
    n: int
    n_unable: int
    median: float | None
    q1: float | None
    q3: float | None
    iqr: float | None
    bars: list[Bar]
    # Share of the ratings in the scale's top band (whole percent), e.g. 72 for "72 % rated 7-9".
    top_pct: int | None = None


@dataclass
class Comment:
    text: str
    language: str  # the writer's language, "en" or "es"


@dataclass
class ItemFeedback:
    previous_value: int | None
    previous_unable: bool
    previous_band: int | None
    verdict: str
    verdict_label: str
    distributions: list[Distribution] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    # The scale's top band, (low, high): what "rated 7-9" names.
    top_band: tuple[int, int] | None = None

    @property
    def has_previous(self) -> bool:
        return self.previous_value is not None or self.previous_unable


def band_of(value: int | None, bands) -> int | None:
    if value is None:
        return None
    for index, (low, high) in enumerate(bands):
        if low <= value <= high:
            return index
    return None


def band_range(band) -> tuple[int, int]:
    """(low, high) of a band given as ``[low, high]`` or ``{"min": low, "max": high, ...}``."""
    if isinstance(band, dict):
        return int(band["min"]), int(band["max"])
    return int(band[0]), int(band[1])


def round_bands(rnd: Round, study: Study) -> list[list[int]]:
    snapshot = rnd.rule_snapshot or {}
    return snapshot.get("bands") or study.bands


def _pct(count: int, total: int) -> float:
    return round(100 * count / total) if total else 0.0


def _step(count: int, peak: int) -> int:
    return 5 * round(20 * count / peak)


def verdict_label(verdict: str) -> str:
    return {
        ItemDecision.Verdict.IN: _("Consensus reached: include"),
        ItemDecision.Verdict.OUT: _("Consensus reached: exclude"),
        ItemDecision.Verdict.NONE: _("No consensus yet"),
    }.get(verdict, _("Not decided yet"))


def round_feedback(*, round: Round, panelist, items, study: Study) -> dict[int, ItemFeedback]:
    """item id -> feedback, for the items of ``round`` carried from an earlier round.

    Five queries whatever the number of items.
    """
    previous_of = {item.pk: item.carried_from_id for item in items if item.carried_from_id}
    if not previous_of:
        return {}
    prev_ids = set(previous_of.values())
    scale = range(study.scale_min, study.scale_max + 1)
    bands = round_bands(round, study)

    own = {
        r.item_id: r
        for r in Rating.objects.filter(
            item_id__in=prev_ids, response__panelist=panelist, response__excluded=False
        )
    }
    results: dict[int, list[ItemResult]] = {}
    for result in (
        ItemResult.objects.filter(item_id__in=prev_ids)
        .exclude(group_key="balanced")
        .select_related("group")
        .order_by("item_id", "group__order", "group_key")
    ):
        results.setdefault(result.item_id, []).append(result)
    decisions = dict(
        ItemDecision.objects.filter(item_id__in=prev_ids).values_list("item_id", "verdict")
    )
    comments: dict[int, list[Comment]] = {}
    # Other panelists' comments, without identity, in alphabetical order (not the order they
    # were written, which could hint at who wrote them). The writer's language is shown as a
    # tag: it says nothing about who wrote it that the text does not.
    for item_id, comment, language in (
        Rating.objects.filter(
            item_id__in=prev_ids,
            response__status=Response.Status.SUBMITTED,
            response__excluded=False,
        )
        .exclude(comment="")
        .exclude(response__panelist=panelist)
        .order_by("item_id", "comment")
        .values_list("item_id", "comment", "response__panelist__language")
    ):
        comments.setdefault(item_id, []).append(Comment(comment, language or "en"))

    lang_es = getattr(panelist, "language", "en") == "es"
    # A one-band scale has no top band to report a share of.
    top = band_range(bands[-1]) if len(bands or []) >= 2 else None
    feedback: dict[int, ItemFeedback] = {}
    for item_id, prev_id in previous_of.items():
        mine = own.get(prev_id)
        my_value = mine.value if mine and not mine.unable else None
        rows = results.get(prev_id, [])
        verdict = decisions.get(prev_id) or next(
            (r.verdict for r in rows if r.group_key == "all"), ""
        )
        fb = ItemFeedback(
            previous_value=my_value,
            previous_unable=bool(mine and mine.unable),
            previous_band=band_of(my_value, bands),
            verdict=verdict,
            verdict_label=verdict_label(verdict),
            comments=comments.get(prev_id, []),
            top_band=top,
        )
        for row in rows:
            if row.group_key == "all":
                label = pgettext("feedback group", "All panelists")
            elif row.n < study.min_group_size or row.group is None:
                continue  # too few to stay anonymous on its own
            else:
                label = (row.group.name_es if lang_es else "") or row.group.name
            counts = {int(k): int(v) for k, v in (row.histogram or {}).items()}
            total = sum(counts.values())
            peak = max(counts.values(), default=0) or 1
            bars = [
                Bar(
                    value=v,
                    count=counts.get(v, 0),
                    pct=_pct(counts.get(v, 0), total),
                    mine=(v == my_value),
                    step=_step(counts.get(v, 0), peak),
                )
                for v in scale
            ]
            dist = Distribution(
                label=label,
                n=row.n,
                n_unable=row.n_unable,
                median=row.median,
                q1=row.q1,
                q3=row.q3,
                iqr=row.iqr,
                bars=bars,
                top_pct=int(_pct(sum(c for v, c in counts.items() if top[0] <= v <= top[1]), total))
                if total and top
                else None,
            )
            if row.group_key == "all":
                fb.distributions.insert(0, dist)
            else:
                fb.distributions.append(dist)
        feedback[item_id] = fb
    return feedback
