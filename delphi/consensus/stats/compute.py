"""compute_round: every statistic of one round, per item x group, from a long table of ratings.

Everything is computed from count histograms (item x group x scale value), built with one
np.bincount: ratings are small integers, so a histogram is the whole sample. Quantiles are exact
rationals (see quantiles.py), which lets the consensus rules and the RAND/UCLA disagreement test
compare in integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from delphi.consensus import definitions as defs
from delphi.consensus.stats.agreement import kendall_w, krippendorff_alpha
from delphi.consensus.stats.quantiles import quantile_exact
from delphi.consensus.stats.scale import Scale
from delphi.consensus.stats.stability import percentage_change, wilcoxon_from_histograms

ALL = "all"
BALANCED = "balanced"
STABLE_BELOW = 15.0  # percentage change (Scheibe, Skutsch & Schofer 1975)

ITEM_COLUMNS = [
    "item",
    "group_key",
    "n",
    "n_unable",
    "median",
    "q1",
    "q3",
    "iqr",
    "mean",
    "sd",
    "pct_low",
    "pct_mid",
    "pct_high",
    "p30",
    "p70",
    "ipr",
    "iprcp",
    "ai",
    "ipras",
    "dai",
    "disagreement_ipras",
    "disagreement_classic",
    "ram_class",
    "rwg",
    "ad_median",
    "verdict",
    "hist",
]
STABILITY_COLUMNS = [
    "item",
    "group_key",
    "n_paired",
    "wilcoxon_stat",
    "wilcoxon_p",
    "pct_change",
    "stable",
]
CONCORDANCE_COLUMNS = [
    "group_key",
    "n_panelists",
    "n_items",
    "kendall_w",
    "chi2",
    "df",
    "p",
    "alpha_ordinal",
    "alpha_interval",
]
DECISION_COLUMNS = ["item", "verdict", "carried_forward"] + [f"verdict_{p}" for p in defs.PRESETS]

# RAND/UCLA classic disagreement table (Fitch et al. 2001, table 8.1): for a panel of this many
# valid ratings, disagreement = at least this many ratings in 1-3 AND at least as many in 7-9.
CLASSIC_TABLE = {n: (3 if n <= 10 else 4 if n <= 13 else 5) for n in range(8, 17)}


@dataclass
class RoundResult:
    items: pd.DataFrame
    stability: pd.DataFrame
    concordance: pd.DataFrame
    decisions: pd.DataFrame
    scale: Scale | None = None
    definition: dict = field(default_factory=dict)
    quantile_type: int = 7


@dataclass
class _Frame:
    """A ratings table reduced to integer codes."""

    panelist: np.ndarray  # object array of panelist ids
    group: np.ndarray  # group name per row
    item: np.ndarray
    value: np.ndarray  # float, NaN = unable to rate


def _prepare(df: pd.DataFrame, scale: Scale, name: str) -> _Frame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame.")
    missing = [c for c in ("panelist", "item", "value") if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks the column(s) {', '.join(missing)}.")
    value = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=np.float64, copy=True)
    raw_missing = df["value"].isna().to_numpy()
    if (np.isnan(value) & ~raw_missing).any():
        row = int(np.flatnonzero(np.isnan(value) & ~raw_missing)[0])
        raise ValueError(f"{name}: value {df['value'].iloc[row]!r} is not a number.")
    valid = ~np.isnan(value)
    v = value[valid]
    bad = (v != np.round(v)) | (v < scale.min) | (v > scale.max)
    if bad.any():
        raise ValueError(
            f"{name}: rating {v[bad][0]:g} is not a whole number on the scale {scale} "
            "(NaN means unable to rate)."
        )
    group = df["group"].astype(str).to_numpy() if "group" in df.columns else None
    if group is None:
        group = np.full(len(df), ALL, dtype=object)
    return _Frame(
        panelist=df["panelist"].astype(str).to_numpy(),
        group=group,
        item=df["item"].astype(str).to_numpy(),
        value=value,
    )


def _nan_where(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = values.astype(np.float64, copy=True)
    out[mask] = np.nan
    return out


def _objects(values, mask=None) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    if mask is not None:
        out[mask] = None
    return out


def _describe(hist: np.ndarray, unable: np.ndarray, scale: Scale, qtype: int) -> dict:
    """Per-row descriptive statistics for (rows, K) histograms; also exact pieces for verdicts."""
    k, lo = scale.k, scale.min
    values = np.arange(lo, scale.max + 1, dtype=np.float64)
    cum = np.cumsum(hist, axis=1)
    n = cum[:, -1].astype(np.int64)
    empty = n == 0
    q = {}
    for name, p in (
        ("q1", Fraction(1, 4)),
        ("median", Fraction(1, 2)),
        ("q3", Fraction(3, 4)),
        ("p30", Fraction(3, 10)),
        ("p70", Fraction(7, 10)),
    ):
        q[name] = quantile_exact(hist, p, qtype, lo=lo, cum=cum, n=n)
    out = {"n": n, "n_unable": unable.astype(np.int64)}
    for name in ("q1", "median", "q3"):
        num, den = q[name]
        out[name] = _nan_where(num / den, empty)
    (q1n, q1d), (q3n, q3d) = q["q1"], q["q3"]
    iqr_num, iqr_den = q3n * q1d - q1n * q3d, q1d * q3d
    out["iqr"] = _nan_where(iqr_num / iqr_den, empty)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = hist @ values
        mean = total / n
        dev2 = (hist * (values[None, :] - mean[:, None]) ** 2).sum(axis=1)
        var = dev2 / (n - 1)
    out["mean"] = _nan_where(mean, empty)
    out["sd"] = _nan_where(np.sqrt(np.maximum(var, 0.0)), n < 2)
    # Bottom band, everything between, top band (scale.summary_bands); None = undefined (a
    # one-band scale has no bottom or top band).
    band_counts = {}
    for name, rng in scale.summary_bands().items():
        if rng is None:
            band_counts[name] = None
            out[name] = np.full(len(n), np.nan)
            continue
        a, b = rng
        cnt = hist[:, a - lo : b - lo + 1].sum(axis=1).astype(np.int64)
        band_counts[name] = cnt
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = _nan_where(100.0 * cnt / n, empty)

    # rWG (James, Demaree & Wolf 1984): 1 - s^2 / sigma_EU^2, uniform null (A^2 - 1) / 12.
    sigma_eu = (k * k - 1) / 12.0
    out["rwg"] = _nan_where(np.maximum(0.0, 1.0 - var / sigma_eu), n < 2)
    # AD_M (Burke, Finkelstein & Dusig 1999): mean absolute deviation from the median.
    with np.errstate(divide="ignore", invalid="ignore"):
        ad = (hist * np.abs(values[None, :] - out["median"][:, None])).sum(axis=1) / n
    out["ad_median"] = _nan_where(ad, empty)

    rows = len(n)
    if scale.is_ram:
        (a, d30), (b, d70) = q["p30"], q["p70"]
        assert d30 == d70  # same quantile type and symmetric p: one denominator
        d = d30
        out["p30"] = _nan_where(a / d, empty)
        out["p70"] = _nan_where(b / d, empty)
        ipr = (b - a) / d
        iprcp = (a + b) / (2.0 * d)
        ai_num = np.abs(10 * d - (a + b))  # |5 - IPRCP| = |10d - a - b| / 2d
        ai = ai_num / (2.0 * d)
        ipras = 2.35 + 1.5 * ai
        out["ipr"] = _nan_where(ipr, empty)
        out["iprcp"] = _nan_where(iprcp, empty)
        out["ai"] = _nan_where(ai, empty)
        out["ipras"] = _nan_where(ipras, empty)
        out["dai"] = _nan_where(ipr / ipras, empty)
        # IPR > 2.35 + 1.5 AI, multiplied through by 400d: all integers, so IPR == IPRAS is
        # never a disagreement because of rounding.
        dis = 400 * (b - a) > 940 * d + 300 * ai_num
        out["disagreement_ipras"] = _objects(dis.tolist(), empty)
        low13 = hist[:, 0:3].sum(axis=1)
        high79 = hist[:, 6:9].sum(axis=1)
        thresh = np.array([CLASSIC_TABLE.get(int(x), 0) for x in n])
        classic = (low13 >= thresh) & (high79 >= thresh)
        out["disagreement_classic"] = _objects(classic.tolist(), thresh == 0)
        med_num, med_den = q["median"]
        appropriate = (med_num >= 7 * med_den) & (med_num <= 9 * med_den) & ~dis
        inappropriate = (med_num >= 1 * med_den) & (med_num <= 3 * med_den) & ~dis
        cls = np.where(appropriate, "appropriate", "uncertain").astype(object)
        cls[inappropriate] = "inappropriate"
        cls[empty] = None
        out["ram_class"] = cls
    else:
        for name in ("p30", "p70", "ipr", "iprcp", "ai", "ipras", "dai"):
            out[name] = np.full(rows, np.nan)
        for name in ("disagreement_ipras", "disagreement_classic", "ram_class"):
            out[name] = np.full(rows, None, dtype=object)
        dis = None

    # Exact forms for the consensus rules (denominator 0 = undefined).
    exact = {"n": n}
    n_obj = n.astype(object)
    for name, cnt in band_counts.items():
        if cnt is None:
            exact[name] = (np.zeros(len(n), dtype=object), np.zeros(len(n), dtype=object))
        else:
            exact[name] = (100 * cnt.astype(object), n_obj)
    med_num, med_den = q["median"]
    exact["median"] = (med_num.astype(object), np.where(empty, 0, med_den).astype(object))
    exact["iqr"] = (iqr_num.astype(object), np.where(empty, 0, iqr_den).astype(object))
    exact["disagreement_ipras"] = out["disagreement_ipras"]
    out["_exact"] = exact
    out["hist"] = hist.tolist()
    return out


def _balanced(hist_groups: np.ndarray, unable_groups: np.ndarray, scale: Scale) -> dict:
    """Each stakeholder group weighted equally: 1/n_g per rating, each group summing to 1/G over
    the groups with at least one valid rating. Band percentages only (plus n and n_unable)."""
    items = hist_groups.shape[0]
    lo = scale.min
    n_g = hist_groups.sum(axis=2)  # (I, G)
    present = n_g > 0
    g_count = present.sum(axis=1)
    out = {
        "n": n_g.sum(axis=1).astype(np.int64),
        "n_unable": unable_groups.sum(axis=1).astype(np.int64),
    }
    exact = {"n": out["n"]}
    n_list = n_g.tolist()
    present_list = present.tolist()
    for name, rng in scale.summary_bands().items():
        if rng is None:
            out[name] = np.full(items, np.nan)
            exact[name] = (np.zeros(items, dtype=object), np.zeros(items, dtype=object))
            continue
        a, b = rng
        cnt = hist_groups[:, :, a - lo : b - lo + 1].sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(present, cnt / np.where(present, n_g, 1), 0.0).sum(axis=1)
            out[name] = _nan_where(100.0 * share / g_count, g_count == 0)
        # Exact rational 100 * sum_g(c_g / n_g) / G, in Python integers (no overflow).
        nums, dens = np.empty(items, dtype=object), np.empty(items, dtype=object)
        cnt_list = cnt.tolist()
        for i in range(items):
            ns = [n for n, p in zip(n_list[i], present_list[i], strict=True) if p]
            if not ns:
                nums[i], dens[i] = 0, 0
                continue
            common = math.lcm(*ns)
            s = sum(
                c * (common // n)
                for c, n, p in zip(cnt_list[i], n_list[i], present_list[i], strict=True)
                if p
            )
            nums[i], dens[i] = 100 * s, len(ns) * common
        exact[name] = (nums, dens)
    for name in ("median", "iqr"):
        exact[name] = (np.zeros(items, dtype=object), np.zeros(items, dtype=object))
    exact["disagreement_ipras"] = np.full(items, None, dtype=object)
    out["_exact"] = exact
    return out


def _concat_exact(parts: list[dict], order: np.ndarray) -> dict:
    exact = {"n": np.concatenate([p["n"] for p in parts])[order]}
    for name in (*defs.PCT_MEASURES, "median", "iqr"):
        num = np.concatenate([p[name][0] for p in parts])[order]
        den = np.concatenate([p[name][1] for p in parts])[order]
        exact[name] = (num, den)
    exact["disagreement_ipras"] = np.concatenate([p["disagreement_ipras"] for p in parts])[order]
    return exact


def _decide(verdicts: np.ndarray, n: np.ndarray, items: int, width: int, g: int, scope: str):
    """One verdict per item from its rows (laid out item-major, `width` rows per item: the g
    stakeholder groups, then all, then balanced)."""
    v = verdicts.reshape(items, width)
    if scope == BALANCED:
        return v[:, width - 1]
    if scope == "every_group" and g > 0:
        vg, ng = v[:, :g], n.reshape(items, width)[:, :g]
        rated = ng > 0
        any_rated = rated.any(axis=1)
        out = np.full(items, "none", dtype=object)
        out[any_rated & ((vg == "in") | ~rated).all(axis=1)] = "in"
        out[any_rated & ((vg == "out") | ~rated).all(axis=1)] = "out"
        return out
    return v[:, width - 2]


def _empty_result(scale, definition, qtype) -> RoundResult:
    return RoundResult(
        items=pd.DataFrame(columns=ITEM_COLUMNS),
        stability=pd.DataFrame(columns=STABILITY_COLUMNS),
        concordance=pd.DataFrame(columns=CONCORDANCE_COLUMNS),
        decisions=pd.DataFrame(columns=DECISION_COLUMNS),
        scale=scale,
        definition=definition,
        quantile_type=qtype,
    )


def compute_round(
    ratings: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    *,
    scale: Scale | str,
    definition: dict,
    quantile_type: int = 7,
) -> RoundResult:
    """All statistics of one round (see docs/statistics.md for every definition).

    ratings / previous: long tables with columns panelist, group (optional: without it everyone
    is one group and only the 'all' rows are produced), item (a key stable across rounds) and
    value (float, NaN = unable to rate). Raises ValueError on malformed input or an invalid
    definition; undefined statistics are NaN / None, never an exception.
    """
    if isinstance(scale, str):
        scale = Scale.parse(scale)
    if quantile_type not in range(1, 10):
        raise ValueError(f"Quantile type must be 1 to 9, not {quantile_type!r}.")
    errors = defs.validate_definition(definition, scale)
    if errors:
        raise ValueError(" ".join(errors))
    cur = _prepare(ratings, scale, "ratings")
    if len(cur.value) == 0:
        return _empty_result(scale, definition, quantile_type)
    k = scale.k

    item_codes, item_keys = pd.factorize(cur.item, sort=False)
    item_keys = np.asarray(item_keys, dtype=object)
    n_items = len(item_keys)
    group_names = sorted(set(cur.group.tolist()))
    grouped = group_names != [ALL]
    if grouped and ({ALL, BALANCED} & set(group_names)):
        raise ValueError(
            "A stakeholder group cannot be called 'all' or 'balanced': those names are "
            "reserved for the aggregates."
        )
    g = len(group_names)
    group_codes = pd.Index(group_names).get_indexer(cur.group)

    prev = _prepare(previous, scale, "previous") if previous is not None else None
    all_panelists = cur.panelist if prev is None else np.concatenate([cur.panelist, prev.panelist])
    p_codes_all, p_keys = pd.factorize(all_panelists, sort=False)
    p_count = len(p_keys)
    p_cur = p_codes_all[: len(cur.panelist)]

    # A panelist belongs to one group, and rates an item at most once.
    group_of = np.full(p_count, -1, dtype=np.int64)
    group_of[p_cur] = group_codes
    if (group_of[p_cur] != group_codes).any():
        who = p_keys[p_cur[np.flatnonzero(group_of[p_cur] != group_codes)[0]]]
        raise ValueError(f"Panelist {who!r} appears in more than one group in this round.")
    cell = p_cur.astype(np.int64) * n_items + item_codes
    seen = np.bincount(cell, minlength=p_count * n_items)
    if (seen > 1).any():
        c = int(np.flatnonzero(seen > 1)[0])
        raise ValueError(
            f"Panelist {p_keys[c // n_items]!r} rated item {item_keys[c % n_items]!r} "
            "more than once in this round."
        )

    valid = ~np.isnan(cur.value)
    vi = np.zeros(len(cur.value), dtype=np.int64)
    vi[valid] = cur.value[valid].astype(np.int64) - scale.min
    ig = item_codes.astype(np.int64) * g + group_codes
    hist = np.bincount(ig[valid] * k + vi[valid], minlength=n_items * g * k).reshape(n_items, g, k)
    unable = np.bincount(ig[~valid], minlength=n_items * g).reshape(n_items, g)

    # Rows per item: the stakeholder groups (when there are groups), then all.
    if grouped:
        stat_hist = np.concatenate([hist, hist.sum(axis=1, keepdims=True)], axis=1)
        stat_unable = np.concatenate([unable, unable.sum(axis=1, keepdims=True)], axis=1)
        keys = [*group_names, ALL]
    else:
        stat_hist, stat_unable, keys = hist, unable, [ALL]
    per_item = len(keys)
    desc = _describe(stat_hist.reshape(-1, k), stat_unable.reshape(-1), scale, quantile_type)
    bal = _balanced(hist, unable, scale)

    # Final layout: item-major, groups..., all, balanced.
    width = per_item + 1
    stat_pos = (np.arange(n_items)[:, None] * width + np.arange(per_item)[None, :]).ravel()
    bal_pos = np.arange(n_items) * width + per_item
    order = np.argsort(np.concatenate([stat_pos, bal_pos]), kind="stable")

    columns = {
        "item": np.repeat(item_keys, width),
        "group_key": np.tile(np.array([*keys, BALANCED], dtype=object), n_items),
    }
    for name in ITEM_COLUMNS[2:-2]:
        if name in ("n", "n_unable", "pct_low", "pct_mid", "pct_high"):
            columns[name] = np.concatenate([desc[name], bal[name]])[order]
        elif desc[name].dtype == object:
            columns[name] = np.concatenate([desc[name], np.full(n_items, None, dtype=object)])[
                order
            ]
        else:
            columns[name] = np.concatenate([desc[name], np.full(n_items, np.nan)])[order]
    exact = _concat_exact([desc["_exact"], bal["_exact"]], order)
    columns["verdict"] = defs.row_verdicts(exact, definition, scale)
    hists = [*desc["hist"], *([] for _ in range(n_items))]
    columns["hist"] = [hists[i] for i in order]
    items = pd.DataFrame(columns, columns=ITEM_COLUMNS)

    n_rows = columns["n"]
    real_g = g if grouped else 0
    scope = definition.get("scope", ALL)
    verdict = _decide(columns["verdict"], n_rows, n_items, width, real_g, scope)
    decisions = {"item": item_keys, "verdict": verdict, "carried_forward": verdict == "none"}
    for name, d in defs.preset_definitions(definition).items():
        rows = defs.row_verdicts(exact, d, scale)
        decisions[f"verdict_{name}"] = _decide(rows, n_rows, n_items, width, real_g, d["scope"])
    decisions = pd.DataFrame(decisions, columns=DECISION_COLUMNS)
    decisions["carried_forward"] = decisions["carried_forward"].astype(bool)

    # Dense panelist x item matrix of this round's ratings (NaN = unable or not rated).
    cur_mat = np.full((p_count, n_items), np.nan)
    cur_mat[p_cur, item_codes] = cur.value

    stability = _stability(
        prev, cur_mat, p_codes_all, len(cur.panelist), item_keys, group_of, group_names,
        stat_hist, grouped, keys, scale,
    )  # fmt: skip
    concordance = _concordance(
        cur_mat, group_of, p_cur, hist, group_names, grouped, scale
    )  # fmt: skip
    return RoundResult(
        items=items,
        stability=stability,
        concordance=concordance,
        decisions=decisions,
        scale=scale,
        definition=definition,
        quantile_type=quantile_type,
    )


def _stability(prev, cur_mat, p_codes_all, n_cur, item_keys, group_of, group_names,
               stat_hist, grouped, keys, scale):  # fmt: skip
    if prev is None:
        return pd.DataFrame(columns=STABILITY_COLUMNS)
    k = scale.k
    n_items = len(item_keys)
    g = len(group_names)
    p_prev = p_codes_all[n_cur:]
    prev_item = pd.Index(item_keys).get_indexer(prev.item)
    known = prev_item >= 0
    cells = p_prev[known].astype(np.int64) * n_items + prev_item[known]
    if (np.bincount(cells, minlength=cur_mat.size) > 1).any():
        raise ValueError("previous: a panelist rated the same item more than once.")
    prev_mat = np.full(cur_mat.shape, np.nan)
    prev_mat[p_prev[known], prev_item[known]] = prev.value[known]

    # Paired differences, grouped by the panelist's group in this round.
    both = ~np.isnan(cur_mat) & ~np.isnan(prev_mat) & (group_of[:, None] >= 0)
    pi, ii = np.nonzero(both)
    d = (cur_mat[pi, ii] - prev_mat[pi, ii]).astype(np.int64) + (k - 1)
    width = 2 * k - 1
    dh = np.bincount((ii * g + group_of[pi]) * width + d, minlength=n_items * g * width).reshape(
        n_items, g, width
    )

    # The previous round's distribution, by the group each rating was given in then.
    pv = ~np.isnan(prev.value) & known
    pg = pd.Index(group_names).get_indexer(prev.group)
    pg = np.where(pg < 0, g, pg)  # a group absent from this round counts for "all" only
    ph = np.bincount(
        (prev_item[pv] * (g + 1) + pg[pv]) * k + (prev.value[pv].astype(np.int64) - scale.min),
        minlength=n_items * (g + 1) * k,
    ).reshape(n_items, g + 1, k)
    if grouped:
        diff_hist = np.concatenate([dh, dh.sum(axis=1, keepdims=True)], axis=1)
        prev_hist = np.concatenate([ph[:, :g], ph.sum(axis=1, keepdims=True)], axis=1)
    else:
        diff_hist = dh
        prev_hist = ph.sum(axis=1, keepdims=True)
    w = wilcoxon_from_histograms(diff_hist.reshape(-1, width))
    change = percentage_change(stat_hist.reshape(-1, k), prev_hist.reshape(-1, k))
    stable = _objects((change < STABLE_BELOW).tolist(), np.isnan(change))
    return pd.DataFrame(
        {
            "item": np.repeat(item_keys, len(keys)),
            "group_key": np.tile(np.array(keys, dtype=object), n_items),
            "n_paired": w["n_paired"].astype(np.int64),
            "wilcoxon_stat": w["wilcoxon_stat"],
            "wilcoxon_p": w["wilcoxon_p"],
            "pct_change": change,
            "stable": stable,
        },
        columns=STABILITY_COLUMNS,
    )


def _concordance(cur_mat, group_of, p_cur, hist, group_names, grouped, scale):
    in_round = np.zeros(cur_mat.shape[0], dtype=bool)
    in_round[p_cur] = True
    complete = in_round & ~np.isnan(cur_mat).any(axis=1)
    targets = [(name, group_of == i, hist[:, i, :]) for i, name in enumerate(group_names)]
    if not grouped:
        targets = []
    targets.append((ALL, np.ones(cur_mat.shape[0], dtype=bool), hist.sum(axis=1)))
    rows = []
    for name, members, h in targets:
        mat = cur_mat[complete & members]
        w = kendall_w((mat - scale.min).astype(np.int64), scale.k)
        a_ord, a_int = krippendorff_alpha(h)
        rows.append({"group_key": name, **w, "alpha_ordinal": a_ord, "alpha_interval": a_int})
    return pd.DataFrame(rows, columns=CONCORDANCE_COLUMNS)
