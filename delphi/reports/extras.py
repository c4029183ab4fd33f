"""Two report tables that other parts of the platform produce: the communications sent per
round (reminders and the rest, issue 8) and the ranking rounds' statistics (issue 10).

Both read persisted rows only, in one query per table, and never hold names or e-mails: the
communications table is counts, the ranking tables are per item and group.
"""

from __future__ import annotations

import pandas as pd
from django.db.models import Q

from delphi.models import (
    Communication,
    RankingConcordance,
    RankingItemResult,
    Response,
    Round,
    Study,
)

COMMUNICATION_COLUMNS = [
    "round", "kind", "sent", "failed", "pending", "opened_after", "submitted_after",
]  # fmt: skip
RANKING_ITEM_COLUMNS = [
    "round", "item", "statement_code", "domain", "group", "n", "n_ranked", "mean_rank",
    "median_rank", "sd_rank", "prev_mean_rank", "mean_rank_change",
]  # fmt: skip
RANKING_CONCORDANCE_COLUMNS = [
    "round", "group", "n_panelists", "n_items", "kendall_w", "chi2", "df", "p",
    "prev_kendall_w", "w_change", "consensus_threshold", "consensus_reached",
]  # fmt: skip


def communications_by_round(study: Study) -> pd.DataFrame:
    """Per round and kind of message: sent, failed, still pending, followed by a link visit,
    followed by a submitted response. Messages not tied to a round (none today) are left out."""
    done = {
        (round_id, panelist_id): at
        for round_id, panelist_id, at in Response.objects.filter(
            round__study=study, status=Response.Status.SUBMITTED
        ).values_list("round_id", "panelist_id", "submitted_at")
    }
    numbers = dict(Round.objects.filter(study=study).values_list("pk", "number"))
    rows: dict[tuple[int, str], dict] = {}
    for round_id, kind, status, panelist_id, sent_at, visit in (
        Communication.objects.filter(study=study, round__isnull=False)
        .values_list("round_id", "kind", "status", "panelist_id", "sent_at", "first_visit_at")
        .iterator()
    ):
        key = (numbers[round_id], kind)
        row = rows.setdefault(
            key,
            {"round": key[0], "kind": kind, "sent": 0, "failed": 0, "pending": 0,
             "opened_after": 0, "submitted_after": 0},
        )  # fmt: skip
        if status == Communication.Status.SENT:
            row["sent"] += 1
            row["opened_after"] += visit is not None
            at = done.get((round_id, panelist_id))
            row["submitted_after"] += bool(at and sent_at and at > sent_at)
        elif status == Communication.Status.FAILED:
            row["failed"] += 1
        else:
            row["pending"] += 1
    order = {k: i for i, k in enumerate(Communication.Kind.values)}
    frame = pd.DataFrame(
        sorted(rows.values(), key=lambda r: (r["round"], order.get(r["kind"], 99))),
        columns=COMMUNICATION_COLUMNS,
    )
    return frame.astype({c: "int64" for c in COMMUNICATION_COLUMNS[2:]})


def ranking_tables(study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The analysed ranking rounds' statistics: per item x group, and Kendall's W per group."""
    analysed = Q(round__study=study, round__status=Round.Status.ANALYSED)
    items = pd.DataFrame(
        list(
            RankingItemResult.objects.filter(analysed)
            .order_by("round__number", "item__order", "group_key")
            .values_list(
                "round__number", "item__uuid", "item__statement__code",
                "item__statement__domain__name", "group_key", "n", "n_ranked", "mean_rank",
                "median_rank", "sd_rank", "prev_mean_rank", "mean_rank_change",
            )
        ),
        columns=RANKING_ITEM_COLUMNS,
    )  # fmt: skip
    items["item"] = items["item"].astype(str)
    concordance = pd.DataFrame(
        list(
            RankingConcordance.objects.filter(analysed)
            .order_by("round__number", "group_key")
            .values_list(
                "round__number", "group_key", "n_panelists", "n_items", "kendall_w", "chi2",
                "df", "p", "prev_kendall_w", "w_change", "consensus_threshold",
                "consensus_reached",
            )
        ),
        columns=RANKING_CONCORDANCE_COLUMNS,
    )  # fmt: skip
    # 'all' first within each round, as in the rating tables.
    concordance["_all"] = concordance["group"] != "all"
    concordance = concordance.sort_values(["round", "_all", "group"], kind="stable")
    return items, concordance.drop(columns="_all").reset_index(drop=True)
