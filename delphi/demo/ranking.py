"""The demo's ranking round: the statements that reached consensus in the analysed rating round,
ranked by the panelists who answered it, closed and analysed.

Built through the same services as a researcher's clicks (round_create, round_set_items,
round_open, round_close, the consensus engine); the rankings themselves are simulated: each
panelist orders the items by their own earlier rating, their group's leaning and some noise, and
keeps their top `RANKING_TOP_K`.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from delphi.models import ItemDecision, Ranking, Rating, Response, Round, RoundItem

RANKING_TOP_K = 10
RANKING_TITLE = "Rank the competencies that reached consensus"
RANKING_INSTRUCTIONS = (
    "These statements reached consensus in the rating round. Choose the 10 a crisis responder "
    "most needs on day one and put them in order: 1 is the most important."
)
RANKING_INSTRUCTIONS_ES = (
    "Estos enunciados alcanzaron consenso en la ronda de calificación. Elija los 10 que una "
    "persona de respuesta a crisis más necesita desde el primer día y ordénelos: 1 es el más "
    "importante."
)
SEED = 20261201
# How strongly each stakeholder group leans towards a domain when ranking (added to the score).
GROUP_LEANING = {
    "law": {"SAF": 1.5},
    "peer": {"LIV": 1.5, "ENG": 0.5},
    "dispatch": {"TRI": 1.5},
    "family": {"FAM": 1.5},
}


def build_ranking_round(*, study, rating_round: Round, researcher, opened_at, closed_at) -> Round:
    """Create, fill, close and analyse the ranking round after `rating_round`."""
    from delphi.consensus.services import consensus_compute_now
    from delphi.services.rounds import round_close, round_create, round_open, round_set_items

    consensus_in = list(
        ItemDecision.objects.filter(round=rating_round, verdict=ItemDecision.Verdict.IN)
        .select_related("item__statement")
        .order_by("item__order", "item_id")
    )
    rnd = round_create(
        study=study,
        kind=Round.Kind.RANKING,
        by=researcher,
        title=RANKING_TITLE,
        instructions=RANKING_INSTRUCTIONS,
        instructions_es=RANKING_INSTRUCTIONS_ES,
        opens_at=opened_at,
        closes_at=closed_at,
    )
    round_set_items(
        round=rnd, statement_ids=[d.item.statement_id for d in consensus_in], by=researcher
    )
    # Lineage: each ranked item is the rating round's item, carried into the ranking.
    source = {d.item.statement_id: d.item_id for d in consensus_in}
    items = list(rnd.items.select_related("statement__domain").order_by("order"))
    for item in items:
        item.carried_from_id = source[item.statement_id]
    RoundItem.objects.bulk_update(items, ["carried_from"])
    round_open(round=rnd, by=researcher)
    _simulate_rankings(rnd, rating_round, items, opened_at=opened_at, closed_at=closed_at)
    round_close(round=rnd, by=researcher)
    consensus_compute_now(round=rnd)
    Round.objects.filter(pk=rnd.pk).update(
        opened_at=opened_at, closed_at=closed_at, analysed_at=closed_at + timedelta(minutes=2)
    )
    rnd.refresh_from_db()
    return rnd


def _simulate_rankings(rnd, rating_round, items, *, opened_at, closed_at) -> None:
    rng = np.random.default_rng(SEED)
    top_k = min(rnd.study.ranking_top_k or len(items), len(items))
    ratings: dict[int, dict[int, float]] = {}
    for response_id, item_id, value in Rating.objects.filter(
        response__round=rating_round,
        response__status=Response.Status.SUBMITTED,
        value__isnull=False,
    ).values_list("response__panelist_id", "item_id", "value"):
        ratings.setdefault(response_id, {})[item_id] = float(value)
    answered = list(
        Response.objects.filter(
            round=rating_round,
            status=Response.Status.SUBMITTED,
            excluded=False,
            panelist__status="active",
        )
        .select_related("panelist__group")
        .order_by("panelist_id")
    )
    window = (closed_at - opened_at).total_seconds()
    shared = rng.normal(0, 1.3, size=len(items))
    responses, chosen = [], []
    for prev in answered:
        roll = rng.random()
        if roll < 0.1:
            continue  # did not take part in the ranking round
        submitted = roll >= 0.18
        when = opened_at + timedelta(seconds=window * (0.05 + 0.9 * rng.random() ** 2))
        responses.append(
            Response(
                round=rnd,
                panelist=prev.panelist,
                status=Response.Status.SUBMITTED if submitted else Response.Status.DRAFT,
                submitted_at=when if submitted else None,
                started_at=when - timedelta(minutes=15),
            )
        )
        own = ratings.get(prev.panelist_id, {})
        leaning = GROUP_LEANING.get(prev.panelist.group.code if prev.panelist.group else "", {})
        scores = np.array(
            [
                shared[j]  # what the panel broadly agrees matters most on day one
                + 0.4 * (own.get(item.carried_from_id, 8.0) - 8.0)
                + leaning.get(item.statement.domain.code, 0.0)
                + rng.normal(0, 0.9)
                for j, item in enumerate(items)
            ]
        )
        order = np.argsort(-scores, kind="stable")
        # A draft stopped part-way: fewer than k places filled.
        keep = top_k if submitted else int(rng.integers(2, max(3, top_k)))
        chosen.append([(items[j], rank + 1) for rank, j in enumerate(order[:keep])])
    Response.objects.bulk_create(responses)
    Ranking.objects.bulk_create(
        (
            Ranking(response=response, item=item, rank=rank)
            for response, ranks in zip(responses, chosen, strict=True)
            for item, rank in ranks
        ),
        batch_size=1000,
    )
    # bulk_create stamps auto_now_add with the present; date the answers inside the round.
    Response.objects.bulk_update(responses, ["started_at"])
