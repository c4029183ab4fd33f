"""The CSV export of a ranking round's results (the round's "Download" on the results page)."""

import csv

from django.http import HttpResponse

from delphi.consensus.ranking import ranking_results

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

ITEM_HEADER = [
    "round", "item", "statement", "group", "n", "n_ranked", "mean_rank", "median_rank",
    "sd_rank", "prev_mean_rank", "mean_rank_change", "distribution",
    # The row's group's concordance, repeated on each of its rows so a filtered copy keeps it.
    "kendall_w", "chi2", "df", "p", "prev_kendall_w", "w_change",
    # The consensus rule (whole panel), the same on every row.
    "consensus_threshold", "consensus_reached",
]  # fmt: skip


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _distribution(dist: dict) -> str:
    return " ".join(f"{k}:{v}" for k, v in (dist or {}).items())


def ranking_results_csv(rnd) -> HttpResponse:
    """One row per item x group (everyone first, then each group), tidy."""
    data = ranking_results(round=rnd)
    conc = {c.group_key: c for c in data["concordance"]}
    overall = data["overall"]
    rule = [overall.consensus_threshold, overall.consensus_reached] if overall else [None, None]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="round-{rnd.number}-ranking-results.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(ITEM_HEADER)
    for entry in data["items"]:
        for r in [entry["all"], *entry["by_group"]]:
            if r is None:
                continue
            c = conc.get(r.group_key)
            group_cells = (
                [c.kendall_w, c.chi2, c.df, c.p, c.prev_kendall_w, c.w_change] if c else [None] * 6
            )
            writer.writerow(
                _cell(v)
                for v in (
                    rnd.number, entry["item"].key, entry["item"].statement.text, r.group_key,
                    r.n, r.n_ranked, r.mean_rank, r.median_rank, r.sd_rank, r.prev_mean_rank,
                    r.mean_rank_change, _distribution(r.distribution), *group_cells, *rule,
                )
            )  # fmt: skip
    return response
