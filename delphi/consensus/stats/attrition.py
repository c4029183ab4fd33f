"""Attrition bias: did the panelists who dropped out rate differently from those who stayed?

For the panelists who submitted round k−1, split them into those who also submitted round k
(completers) and those who did not (dropouts), and compare their round k−1 ratings item by item:
the difference in median, the difference in the share rating in the top band, and a two-sided
Mann–Whitney U test whose p-values are adjusted across items by Holm's step-down method.

OMERACT's handbook warns that when minority-view panelists drop out, agreement is overstated;
this is the check it asks for. Pure numpy/pandas/scipy, no Django.

Ratings are small integers, so each item is a pair of count histograms; U, its tie-corrected
variance and the medians all come from those counts. The p-value is the normal approximation
with tie and continuity corrections (scipy's ``mannwhitneyu(method="asymptotic")``): exact
p-values for tiny, tie-free samples are not what a rating scale produces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

ATTRITION_COLUMNS = [
    "item",
    "n_dropouts",
    "n_completers",
    "median_dropouts",
    "median_completers",
    "median_diff",
    "pct_top_dropouts",
    "pct_top_completers",
    "pct_top_diff",
    "u",
    "p",
    "p_holm",
    "differs",
]


@dataclass
class AttritionResult:
    items: pd.DataFrame  # one row per item, ATTRITION_COLUMNS
    n_dropouts: int
    n_completers: int
    alpha: float
    n_differ: int = 0
    n_tested: int = 0
    flagged: bool = False
    summary: str = ""
    differing: list = field(default_factory=list)


def mann_whitney_u(x_counts: np.ndarray, y_counts: np.ndarray) -> tuple[float, float]:
    """U for sample x against y, and the two-sided asymptotic p, from value histograms.

    ``x_counts[v]`` is how many in x gave the v-th scale value. Matches
    ``scipy.stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True)``.
    """
    x_counts = np.asarray(x_counts, dtype=float)
    y_counts = np.asarray(y_counts, dtype=float)
    n1, n2 = x_counts.sum(), y_counts.sum()
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan")
    below = np.concatenate([[0.0], np.cumsum(y_counts)[:-1]])
    u1 = float(np.sum(x_counts * (below + 0.5 * y_counts)))
    u2 = n1 * n2 - u1
    n = n1 + n2
    ties = x_counts + y_counts
    tie_term = float(np.sum(ties**3 - ties)) / (n * (n - 1))
    sigma = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term))
    if sigma == 0:
        return u1, 1.0  # everyone gave the same rating: no evidence of a difference
    z = (max(u1, u2) - n1 * n2 / 2 - 0.5) / sigma
    return u1, float(min(1.0, 2 * norm.sf(z)))


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment; NaN p-values stay NaN and do not count as tests."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    vals = p[ok]
    order = np.argsort(vals, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * vals[order]))
    res = np.empty(m)
    res[order] = adjusted
    out[ok] = res
    return out


def _median(counts: np.ndarray, values: np.ndarray) -> float | None:
    n = int(counts.sum())
    if n == 0:
        return None
    cum = np.cumsum(counts)
    lo = values[np.searchsorted(cum, (n + 1) // 2)]
    hi = values[np.searchsorted(cum, n // 2 + 1)]
    return (float(lo) + float(hi)) / 2


def attrition_bias(
    ratings: pd.DataFrame,
    completers,
    *,
    scale_min: int,
    scale_max: int,
    top_band: tuple[int, int],
    alpha: float = 0.05,
) -> AttritionResult:
    """Compare round k−1 ratings of dropouts and completers, item by item.

    ``ratings``: columns panelist, item, value — the valid round k−1 ratings of everyone who
    submitted round k−1 ("unable to rate" left out). ``completers``: the panelists among them
    who submitted round k; everyone else in ``ratings`` is a dropout. An item differs when its
    Holm-adjusted p is below ``alpha``; the result is flagged when any item differs.
    """
    values = np.arange(scale_min, scale_max + 1)
    k = len(values)
    completers = set(completers)
    frame = ratings[["panelist", "item", "value"]].dropna(subset=["value"])
    people = set(frame["panelist"].unique())
    n_comp = len(people & completers)
    n_drop = len(people - completers)
    rows = []
    if len(frame):
        stayed = frame["panelist"].isin(completers).to_numpy()
        codes, items = pd.factorize(frame["item"], sort=True)
        v = frame["value"].to_numpy(dtype=int) - scale_min
        hist = np.zeros((len(items), 2, k))
        np.add.at(hist, (codes, stayed.astype(int), v), 1)
        top = (values >= top_band[0]) & (values <= top_band[1])
        for i, item in enumerate(items):
            drop, comp = hist[i, 0], hist[i, 1]
            nd, nc = int(drop.sum()), int(comp.sum())
            md, mc = _median(drop, values), _median(comp, values)
            pd_top = 100 * drop[top].sum() / nd if nd else None
            pc_top = 100 * comp[top].sum() / nc if nc else None
            u, p = mann_whitney_u(drop, comp) if nd and nc else (None, None)
            rows.append(
                {
                    "item": item,
                    "n_dropouts": nd,
                    "n_completers": nc,
                    "median_dropouts": md,
                    "median_completers": mc,
                    "median_diff": md - mc if nd and nc else None,
                    "pct_top_dropouts": pd_top,
                    "pct_top_completers": pc_top,
                    "pct_top_diff": pd_top - pc_top if nd and nc else None,
                    "u": u,
                    "p": p,
                }
            )
    table = pd.DataFrame(rows, columns=ATTRITION_COLUMNS[:-2])
    adjusted = holm(table["p"].astype(float).to_numpy()) if len(table) else np.array([])
    table["p_holm"] = [None if np.isnan(a) else float(a) for a in adjusted]
    table["differs"] = [a is not None and a < alpha for a in table["p_holm"]]
    n_tested = int(table["p"].notna().sum()) if len(table) else 0
    differing = list(table.loc[table["differs"], "item"]) if len(table) else []
    result = AttritionResult(
        items=table,
        n_dropouts=n_drop,
        n_completers=n_comp,
        alpha=alpha,
        n_differ=len(differing),
        n_tested=n_tested,
        flagged=bool(differing),
        differing=differing,
    )
    result.summary = attrition_summary(result)
    return result


def attrition_summary(result: AttritionResult) -> str:
    if result.n_dropouts == 0:
        return "Nobody dropped out: every panelist of the previous round submitted this one."
    if result.n_completers == 0:
        return "Nobody who answered the previous round submitted this one: nothing to compare."
    who = "The dropout" if result.n_dropouts == 1 else f"The {result.n_dropouts} dropouts"
    if result.n_differ:
        return (
            f"{who} rated {result.n_differ} of {result.n_tested} items differently from the "
            f"{result.n_completers} who stayed (p < {result.alpha:g} after Holm): agreement "
            "on those items may be overstated now that they have left."
        )
    return (
        f"{who} rated no item differently from the {result.n_completers} who stayed "
        f"({result.n_tested} items tested, p < {result.alpha:g} after Holm)."
    )
