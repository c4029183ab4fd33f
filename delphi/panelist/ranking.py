"""The ranking page: the panelist's current order, the moves the page offers, and feedback from
the previous ranking round.

`apply_move` is the one definition of what "move up", "move down" and "choose rank r" do; the
page's script (static/js/ranking.js) mirrors it so the order is the same with or without script.
Rules, with `limit` = k for a top-k ranking, else the number of items:
- choose rank r: if nobody holds r, the item takes it. If another item holds it and the moved item
  had a rank, the two swap. If the moved item had no rank, it is inserted at r and the items
  below move down one place until a free place (the last one drops out when none is free).
- move up: to rank r - 1 (swapping with its holder); an unranked item joins just below the last
  ranked one.
- move down: to rank r + 1 (swapping); past the last place of a top-k ranking it leaves the
  ranking; in a complete ranking the last place stays.
With ties allowed, ranks are set directly: choose sets, up/down add or subtract one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import pgettext

from delphi.consensus.ranking import ranking_protocol
from delphi.consensus.selectors import round_item_keys, round_previous
from delphi.consensus.stats.ranking import check_ranking
from delphi.models import Ranking, RankingItemResult, Response, Round, RoundItem, Study
from delphi.panelist.selectors import text_in


def apply_move(
    ranks: dict[str, int | None],
    item: str,
    action: str,
    *,
    limit: int,
    allow_ties: bool = False,
    value: int | None = None,
) -> dict[str, int | None]:
    """A new item -> rank mapping after one move ("up", "down" or "set" with value)."""
    new = dict(ranks)
    old = new.get(item)
    holder = {r: k for k, r in new.items() if r is not None and k != item}
    if allow_ties:
        if action == "set":
            new[item] = value if value and 1 <= value <= limit else None
        elif action == "up":
            new[item] = limit if old is None else max(1, old - 1)
        elif action == "down" and old is not None:
            new[item] = None if old >= limit and limit < len(new) else min(limit, old + 1)
        return new
    if action == "up":
        if old is None:
            used = [r for r in new.values() if r is not None]
            target = max(used, default=0) + 1
            if target > limit:
                free = [r for r in range(limit, 0, -1) if r not in holder]
                target = free[0] if free else limit
            return apply_move(new, item, "set", limit=limit, value=target)
        return apply_move(new, item, "set", limit=limit, value=old - 1) if old > 1 else new
    if action == "down":
        if old is None:
            return new
        if old >= limit:
            if limit < len(new):
                new[item] = None
            return new
        return apply_move(new, item, "set", limit=limit, value=old + 1)
    # set
    if value is None or not 1 <= value <= limit:
        new[item] = None
        return new
    other = holder.get(value)
    new[item] = value
    if other is None:
        return new
    if old is not None:
        new[other] = old
        return new
    # Insert: push the run below down one place until a free place.
    r, moving = value, other
    while moving is not None:
        r += 1
        nxt = holder.get(r)
        new[moving] = r if r <= limit else None
        if r > limit:
            break
        moving = nxt
    return new


@dataclass
class GroupRank:
    label: str
    n: int
    mean_rank: float | None
    median_rank: float | None


@dataclass
class RankFeedback:
    previous_rank: int | None
    groups: list[GroupRank] = field(default_factory=list)


@dataclass
class RankRow:
    item: RoundItem
    key: str
    text: str
    rank: int | None
    feedback: RankFeedback | None = None
    scenario_title: str = ""


@dataclass
class RankingPage:
    rows: list[RankRow]
    limit: int
    top_k: int | None
    allow_ties: bool
    seq: int
    problems: list[str]

    @property
    def ranked(self) -> int:
        return sum(1 for r in self.rows if r.rank is not None)

    @property
    def complete(self) -> bool:
        return not self.problems

    @property
    def choices(self) -> range:
        return range(1, self.limit + 1)


def ranking_items(*, round: Round) -> list[RoundItem]:
    return list(
        RoundItem.objects.filter(round=round)
        .select_related("statement", "scenario")
        .order_by("order", "id")
    )


def ranking_page(*, round: Round, panelist, response: Response | None, lang: str) -> RankingPage:
    """The panelist's ranking as saved, sorted (ranked first by rank, then the round's order)."""
    protocol = ranking_protocol(round=round)
    items = ranking_items(round=round)
    keys = round_item_keys(round=round)
    saved = (
        dict(Ranking.objects.filter(response=response).values_list("item_id", "rank"))
        if response
        else {}
    )
    rows = []
    for item in items:
        row = RankRow(
            item=item,
            key=keys.get(item.pk, str(item.pk)),
            text=text_in(item.statement, "text", lang),
            rank=saved.get(item.pk),
        )
        if item.scenario_id:
            row.scenario_title = text_in(item.scenario, "title", lang)
        rows.append(row)
    n = len(rows)
    limit = min(protocol.top_k, n) if protocol.top_k else n
    order = {row.item.pk: i for i, row in enumerate(rows)}
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, order[r.item.pk]))
    problems = check_ranking(
        {str(r.item.uuid): r.rank for r in rows},
        items=[str(r.item.uuid) for r in rows],
        top_k=protocol.top_k,
        allow_ties=protocol.allow_ties,
    )
    feedback = ranking_feedback(round=round, panelist=panelist, keys=keys, study=round.study)
    for row in rows:
        row.feedback = feedback.get(row.key)
    return RankingPage(
        rows=rows,
        limit=limit,
        top_k=protocol.top_k if protocol.top_k and protocol.top_k < n else None,
        allow_ties=protocol.allow_ties,
        seq=response.ranking_seq if response else 0,
        problems=problems,
    )


def ranking_feedback(
    *, round: Round, panelist, keys: dict[int, str], study: Study
) -> dict[str, RankFeedback]:
    """item key -> the previous ranking round's mean and median rank (all panelists, and each
    group with at least the study's minimum size) and this panelist's own rank there.

    Read from what the engine persisted for that round; three queries."""
    prev = round_previous(round=round)
    if prev is None or prev.status != Round.Status.ANALYSED:
        return {}
    prev_keys = round_item_keys(round=prev)
    wanted = set(keys.values())
    by_key: dict[str, RankFeedback] = {}
    own = dict(
        Ranking.objects.filter(
            response__round=prev, response__panelist=panelist, response__excluded=False
        ).values_list("item_id", "rank")
    )
    lang_es = getattr(panelist, "language", "en") == "es"
    rows = (
        RankingItemResult.objects.filter(round=prev)
        .select_related("group")
        .order_by("item_id", "group__order", "group_key")
    )
    for res in rows:
        key = prev_keys.get(res.item_id)
        if key not in wanted:
            continue
        fb = by_key.setdefault(key, RankFeedback(previous_rank=own.get(res.item_id)))
        if res.group_key == "all":
            label = pgettext("feedback group", "All panelists")
        elif res.group is None or res.n < study.min_group_size:
            continue  # too few to stay anonymous on its own
        else:
            label = (res.group.name_es if lang_es else "") or res.group.name
        entry = GroupRank(label, res.n, res.mean_rank, res.median_rank)
        if res.group_key == "all":
            fb.groups.insert(0, entry)
        else:
            fb.groups.append(entry)
    return by_key
