"""A panelist's ranking: saved whole (autosave or form post), checked, submitted.

A save replaces the response's ranking rows in one transaction, and only if its sequence number
is newer than the last one saved (compare-and-set on Response.ranking_seq), so two quick moves
whose requests cross leave the later order stored, never the earlier one.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from delphi.consensus.ranking import ranking_protocol
from delphi.consensus.stats.ranking import check_ranking
from delphi.models import Ranking, Response, Round, RoundItem
from delphi.services.responses import check_can_answer, response_for, response_submit
from panels.models import Panelist


def _translate(problem: str, items_by_key: dict[str, RoundItem]) -> str:
    # check_ranking names items by key (their UUID here); show the statement's code instead.
    for key, item in items_by_key.items():
        problem = problem.replace(f"'{key}'", item.statement.code).replace(key, item.statement.code)
    return problem


def ranking_check(
    *, round: Round, ranks: dict[str, int | None], complete: bool
) -> tuple[dict[RoundItem, int], list[str]]:
    """(item -> rank for the ranked items, problems). ranks is keyed by item UUID (str)."""
    protocol = ranking_protocol(round=round)
    items = {str(i.uuid): i for i in RoundItem.objects.filter(round=round).select_related(
        "statement"
    )}  # fmt: skip
    problems = check_ranking(
        ranks,
        items=list(items),
        top_k=protocol.top_k,
        allow_ties=protocol.allow_ties,
        complete=complete,
    )
    problems = [_translate(p, items) for p in problems]
    chosen = {items[k]: int(r) for k, r in ranks.items() if k in items and r not in (None, "")}
    return chosen, problems


def ranking_save(
    *, panelist: Panelist, round: Round, ranks: dict[str, int | None], seq: int | None = None
) -> tuple[Response, bool]:
    """Save the panelist's whole ranking as a draft. Returns (response, saved).

    ranks: item UUID -> rank (None = not ranked); items of the round not given are not ranked.
    A duplicate rank (ties not allowed), a rank out of range or an item not in the round raises
    ValidationError and nothing is stored. seq: the page's counter; a save older than the last
    one stored changes nothing (saved False). Without seq (a form post) the save always wins.
    """
    if round.kind != Round.Kind.RANKING:
        raise ValidationError(_("This round is not a ranking round."))
    check_can_answer(panelist=panelist, round=round)
    chosen, problems = ranking_check(round=round, ranks=ranks, complete=False)
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        response = response_for(panelist=panelist, round=round)
        if response.excluded:
            raise ValidationError(
                _("You have withdrawn from this study, so answers are not saved.")
            )
        claim = Response.objects.filter(pk=response.pk)
        if seq is None:
            claim.update(ranking_seq=F("ranking_seq") + 1)
        elif not claim.filter(ranking_seq__lt=seq).update(ranking_seq=seq):
            return response, False
        Ranking.objects.filter(response=response).delete()
        Ranking.objects.bulk_create(
            Ranking(response=response, item=item, rank=rank) for item, rank in chosen.items()
        )
    response.refresh_from_db(fields=["ranking_seq"])
    return response, True


def ranking_submit(*, panelist: Panelist, round: Round) -> bool:
    """Submit: only a complete ranking (every item, or exactly k, valid) can be submitted."""
    check_can_answer(panelist=panelist, round=round)
    response = Response.objects.filter(round=round, panelist=panelist).first()
    saved = {}
    if response is not None:
        saved = {
            str(u): r
            for u, r in Ranking.objects.filter(response=response).values_list("item__uuid", "rank")
        }
    _chosen, problems = ranking_check(round=round, ranks=saved, complete=True)
    if problems:
        raise ValidationError(
            [_("Your ranking is not complete yet, so it cannot be submitted:"), *problems]
        )
    return response_submit(panelist=panelist, round=round)
