"""Ranking rounds: mean and median rank per item, Kendall's W over panelists x items, and the
ranking consensus rule. Pure: numpy/pandas/scipy, no Django.

    from delphi.consensus.stats.ranking import compute_ranking_round, check_ranking
    result = compute_ranking_round(rankings, previous, items=["C01", ...], top_k=None,
                                   threshold=0.7)
    result.items, result.concordance, result.consensus

`rankings` is a long table with columns panelist, group, item, rank (one row per ranked item;
an item a panelist left out of a top-k ranking has no row, or a row with a missing rank).

Protocol decisions (docs/statistics.md, "Ranking rounds"):
- Ties: a tied rank (two items both 2nd) becomes the mid-rank of the places it covers (2.5, 2.5),
  so every panelist's ranks sum to n(n+1)/2 whatever ranks they used (1,2,2,4 or 1,2,2,3).
- Top-k: the n - k items a panelist did not place are tied at the mean of the remaining ranks,
  (k + 1 + n) / 2, which keeps each ranking complete and lets the tie correction of Kendall's W
  (and of Friedman's test) account for them.
- Friedman's chi-square equals m (n - 1) W exactly, ties included, for the complete (or completed)
  rankings analysed here, so one chi2 / df / p is reported; the tests check it against
  scipy.stats.friedmanchisquare.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

ALL = "all"
DEFAULT_CONSENSUS_W = 0.7

RANKING_ITEM_COLUMNS = [
    "item",
    "group_key",
    "n",
    "n_ranked",
    "mean_rank",
    "median_rank",
    "sd_rank",
    "distribution",
    "prev_mean_rank",
    "mean_rank_change",
]
RANKING_CONCORDANCE_COLUMNS = [
    "group_key",
    "n_panelists",
    "n_items",
    "kendall_w",
    "chi2",
    "df",
    "p",
    "prev_kendall_w",
    "w_change",
]

# Schmidt (1997), table 1: Kendall's W and the confidence one may place in the panel's ranks.
SCHMIDT_LEVELS = [
    (0.9, "unusually strong agreement"),
    (0.7, "strong agreement"),
    (0.5, "moderate agreement"),
    (0.3, "weak agreement"),
    (0.1, "very weak agreement"),
    (0.0, "no agreement"),
]


def agreement_label(w: float | None) -> str:
    """Schmidt's (1997) reading of Kendall's W ('' when W is undefined)."""
    if w is None or (isinstance(w, float) and math.isnan(w)):
        return ""
    for floor, label in SCHMIDT_LEVELS:
        if w >= floor:
            return label
    return "no agreement"


# --- one panelist's ranking -------------------------------------------------------------------


def check_ranking(
    ranks: Mapping[str, object],
    *,
    items: Iterable[str],
    top_k: int | None = None,
    allow_ties: bool = False,
    complete: bool = True,
) -> list[str]:
    """Problems with one panelist's ranking, in words a panelist or researcher can act on.

    ranks: item -> rank (an int; None or missing = not ranked). items: the round's items.
    With complete=False a partial draft passes as long as what is there is valid (no rank out of
    range, no duplicate); complete=True also asks for every item (or exactly top_k items).
    """
    items = list(items)
    n = len(items)
    limit = min(top_k, n) if top_k else n
    known = set(items)
    problems: list[str] = []
    placed: dict[int, str] = {}
    count = 0
    for item, rank in ranks.items():
        if item not in known:
            problems.append(f"{item!r} is not an item of this round.")
            continue
        if rank is None or rank == "":
            continue
        try:
            value = int(rank)
            if value != rank and str(rank).strip() != str(value):
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"{item}: {rank!r} is not a rank (a whole number from 1 to {limit}).")
            continue
        if not 1 <= value <= limit:
            problems.append(f"{item}: rank {value} is outside 1..{limit}.")
            continue
        count += 1
        if value in placed and not allow_ties:
            problems.append(
                f"{placed[value]} and {item} both have rank {value}; each rank can be given once."
            )
            continue
        placed.setdefault(value, item)
    if complete and not problems and count != limit:
        if top_k and top_k < n:
            problems.append(
                f"{count} of the {limit} places are filled; rank exactly {limit} items."
            )
        else:
            problems.append(f"{count} of {n} items are ranked; rank every item.")
    return problems


# --- the rank matrix ---------------------------------------------------------------------------


def effective_ranks(raw: np.ndarray) -> np.ndarray:
    """(m, n) given ranks, NaN = not ranked -> mid-ranks, unranked tied at the mean of the rest.

    Not-ranked entries are replaced by a value above every given rank before mid-ranking, so
    they share the places k+1..n and each receives their mean, (k + 1 + n) / 2.
    """
    raw = np.asarray(raw, dtype=np.float64)
    if raw.size == 0:
        return raw.copy()
    big = np.nanmax(np.where(np.isnan(raw), -np.inf, raw)) + 1.0
    filled = np.where(np.isnan(raw), max(big, 1.0), raw)
    return sps.rankdata(filled, method="average", axis=1)


def _tie_sums(eff: np.ndarray) -> np.ndarray:
    """Per row, sum over tie groups of (t^3 - t). Mid-ranks are multiples of 1/2, so 2 x rank is
    an exact integer code and one bincount per matrix counts every tie group."""
    m, n = eff.shape
    codes = np.rint(eff * 2).astype(np.int64)  # 2..2n
    width = 2 * n + 1
    counts = np.bincount((np.arange(m)[:, None] * width + codes).ravel(), minlength=m * width)
    t = counts.reshape(m, width).astype(np.float64)
    return (t**3 - t).sum(axis=1)


def kendall_w_ranks(eff: np.ndarray) -> dict:
    """Kendall's W with the correction for ties over an (m panelists, n items) rank matrix.

    W = 12 S / (m^2 (n^3 - n) - m sum_i T_i), S = sum_j (R_j - m (n + 1) / 2)^2, R_j the rank sum
    of item j, T_i = sum over panelist i's tie groups of (t^3 - t) (Kendall & Babington Smith
    1939; Siegel & Castellan 1988, section 9.4). chi2 = m (n - 1) W on n - 1 degrees of freedom,
    which is also Friedman's statistic with its tie correction. NaN for fewer than two panelists
    or items, or when every panelist ties every item.
    """
    eff = np.asarray(eff, dtype=np.float64)
    m, n = eff.shape if eff.ndim == 2 else (0, 0)
    out = {"n_panelists": int(m), "n_items": int(n), "kendall_w": math.nan, "chi2": math.nan}
    out["df"] = None
    out["p"] = math.nan
    if m < 2 or n < 2:
        return out
    r = eff.sum(axis=0)
    s = float(((r - m * (n + 1) / 2.0) ** 2).sum())
    ties = float(_tie_sums(eff).sum())
    denom = m * m * (n**3 - n) - m * ties
    if denom <= 0:
        return out
    w = 12.0 * s / denom
    w = min(max(w, 0.0), 1.0)  # rounding only; W is in [0, 1] by construction
    chi2 = m * (n - 1) * w
    out.update(kendall_w=w, chi2=chi2, df=n - 1, p=float(sps.chi2.sf(chi2, n - 1)))
    return out


# --- a whole round -----------------------------------------------------------------------------


@dataclass
class RankingResult:
    items: pd.DataFrame  # RANKING_ITEM_COLUMNS
    concordance: pd.DataFrame  # RANKING_CONCORDANCE_COLUMNS
    consensus: dict = field(default_factory=dict)
    item_order: list[str] = field(default_factory=list)


def _matrix(rankings: pd.DataFrame, items: list[str] | None, name: str):
    if not isinstance(rankings, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame.")
    missing = [c for c in ("panelist", "item", "rank") if c not in rankings.columns]
    if missing:
        raise ValueError(f"{name} lacks the column(s) {', '.join(missing)}.")
    df = rankings
    if "group" not in df.columns:
        df = df.assign(group=ALL)
    if items is None:
        items = list(dict.fromkeys(df["item"].astype(str)))
    items = [str(i) for i in items]
    col = {item: j for j, item in enumerate(items)}
    unknown = sorted(set(df["item"].astype(str)) - set(col))
    if unknown:
        raise ValueError(f"{name}: item(s) {', '.join(unknown[:5])} are not items of the round.")
    panelists = list(dict.fromkeys(df["panelist"].astype(str)))
    row = {p: i for i, p in enumerate(panelists)}
    m, n = len(panelists), len(items)
    raw = np.full((m, n), np.nan)
    ri = df["panelist"].astype(str).map(row).to_numpy()
    ci = df["item"].astype(str).map(col).to_numpy()
    rank = pd.to_numeric(df["rank"], errors="coerce").to_numpy(dtype=np.float64)
    raw[ri, ci] = rank
    first = df.assign(panelist=df["panelist"].astype(str)).groupby("panelist", sort=False)
    groups = first["group"].first().astype(str).reindex(panelists).to_numpy()
    return items, panelists, groups, raw


def compute_ranking_round(
    rankings: pd.DataFrame,
    previous: RankingResult | None = None,
    *,
    items: list[str] | None = None,
    threshold: float = DEFAULT_CONSENSUS_W,
) -> RankingResult:
    """Statistics of one ranking round, per item x group and per group (each group and `all`).

    rankings: long table (panelist, item, rank, optional group) of the complete rankings to
    analyse (the caller drops incomplete ones; check_ranking says which). items: the round's
    items in order (default: as they appear). previous: the previous ranking round's result, for
    the change in W and in each item's mean rank (items paired by key, groups by name).
    """
    items, panelists, groups, raw = _matrix(rankings, items, "rankings")
    m, n = raw.shape
    eff = effective_ranks(raw) if m else raw
    group_names = [ALL] + sorted(set(groups.tolist()) - {ALL})
    item_rows, conc_rows = [], []
    prev_items, prev_conc = {}, {}
    if previous is not None:
        for rec in previous.items.itertuples(index=False):
            prev_items[(rec.item, rec.group_key)] = rec.mean_rank
        for rec in previous.concordance.itertuples(index=False):
            prev_conc[rec.group_key] = rec.kendall_w
    for g in group_names:
        sel = np.ones(m, dtype=bool) if g == ALL else groups == g
        e, rw = eff[sel], raw[sel]
        k = int(sel.sum())
        stats = kendall_w_ranks(e)
        pw = prev_conc.get(g, math.nan)
        conc_rows.append(
            {
                "group_key": g,
                **stats,
                "prev_kendall_w": pw,
                "w_change": stats["kendall_w"] - pw if previous is not None else math.nan,
            }
        )
        if k:
            means = e.mean(axis=0)
            medians = np.median(e, axis=0)
            sds = e.std(axis=0, ddof=1) if k > 1 else np.full(n, math.nan)
            ranked = (~np.isnan(rw)).sum(axis=0)
        for j, item in enumerate(items):
            if k:
                col = rw[:, j]
                given = col[~np.isnan(col)].astype(np.int64)
                dist = {
                    str(r): int(c)
                    for r, c in zip(*np.unique(given, return_counts=True), strict=True)
                }
                if ranked[j] < k:
                    dist["unranked"] = int(k - ranked[j])
                mean, median, sd, nr = float(means[j]), float(medians[j]), float(sds[j]), ranked[j]
            else:
                dist, mean, median, sd, nr = {}, math.nan, math.nan, math.nan, 0
            prev = prev_items.get((item, g), math.nan)
            item_rows.append(
                {
                    "item": item,
                    "group_key": g,
                    "n": k,
                    "n_ranked": int(nr),
                    "mean_rank": mean,
                    "median_rank": median,
                    "sd_rank": sd,
                    "distribution": dist,
                    "prev_mean_rank": prev,
                    "mean_rank_change": mean - prev,
                }
            )
    items_df = pd.DataFrame(item_rows, columns=RANKING_ITEM_COLUMNS)
    conc_df = pd.DataFrame(conc_rows, columns=RANKING_CONCORDANCE_COLUMNS)
    overall = conc_rows[0]
    consensus = evaluate_ranking_consensus(overall["kendall_w"], threshold)
    consensus["p"] = overall["p"]
    return RankingResult(items_df, conc_df, consensus, items)


def evaluate_ranking_consensus(w: float, threshold: float = DEFAULT_CONSENSUS_W) -> dict:
    """The ranking consensus rule: the whole panel's Kendall's W reaches the threshold.

    Schmidt (1997) reads W >= 0.7 as strong agreement; below it a Delphi ranking round is usually
    repeated while W still grows meaningfully between rounds.
    """
    defined = w is not None and not math.isnan(w)
    return {
        "rule": f"kendall_w >= {threshold:g}",
        "threshold": float(threshold),
        "kendall_w": float(w) if defined else math.nan,
        "reached": bool(defined and w >= threshold - 1e-12),
        "agreement": agreement_label(w),
    }
