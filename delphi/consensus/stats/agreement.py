"""Agreement across items within a group: Kendall's W and Krippendorff's alpha."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps


def kendall_w(matrix: np.ndarray, k: int) -> dict:
    """Kendall's coefficient of concordance with the correction for ties.

    matrix: (m raters, n items) of 0-based integer scale positions, complete cases only.
    W = 12 S / (m^2 (n^3 - n) - m sum_j T_j), T_j = sum over rater j's tie groups of (t^3 - t);
    chi2 = m (n - 1) W with n - 1 degrees of freedom (Kendall & Babington Smith 1939;
    Siegel & Castellan 1988, section 9.4). Undefined (NaN) for fewer than two raters or items, or
    when every rater gives every item the same rating.
    """
    m, n = matrix.shape
    # df stays empty with W: a degrees-of-freedom figure next to no test would mislead.
    out = {"n_panelists": int(m), "n_items": int(n), "kendall_w": math.nan, "chi2": math.nan}
    out["df"] = None
    out["p"] = math.nan
    if m < 2 or n < 2:
        return out
    rows = np.repeat(np.arange(m), n)
    counts = np.bincount(rows * k + matrix.ravel(), minlength=m * k).reshape(m, k)
    below = np.cumsum(counts, axis=1) - counts
    avg_rank = below + (counts + 1) / 2.0
    ranks = np.take_along_axis(avg_rank, matrix, axis=1)
    r = ranks.sum(axis=0)
    s = float(((r - m * (n + 1) / 2.0) ** 2).sum())
    ties = float((counts.astype(np.float64) ** 3 - counts).sum())
    denom = m * m * (n**3 - n) - m * ties
    if denom <= 0:
        return out
    w = 12.0 * s / denom
    chi2 = m * (n - 1) * w
    out.update(kendall_w=w, chi2=chi2, df=n - 1, p=float(sps.chi2.sf(chi2, n - 1)))
    return out


def krippendorff_alpha(hist: np.ndarray) -> tuple[float, float]:
    """Krippendorff's alpha (ordinal, interval) from per-unit value counts.

    hist: (units, K) counts of each scale value per unit (item); missing values are simply not
    counted. Units with fewer than two values are not pairable and drop out. The coincidence
    matrix o_ck = sum_u (n_uc n_uk - [c = k] n_uc) / (m_u - 1); alpha = 1 - (n - 1) *
    sum o_ck d2_ck / sum n_c n_k d2_ck (Krippendorff 2011, "Computing Krippendorff's
    alpha-reliability"). Interval d2 = (c - k)^2; ordinal d2 = (sum_{g=c..k} n_g - (n_c + n_k)/2)^2.
    """
    hist = np.asarray(hist, dtype=np.float64)
    m_u = hist.sum(axis=1)
    keep = m_u >= 2
    if not keep.any():
        return math.nan, math.nan
    h = hist[keep]
    inv = 1.0 / (m_u[keep] - 1.0)
    o = (h * inv[:, None]).T @ h - np.diag((h * inv[:, None]).sum(axis=0))
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return math.nan, math.nan
    k = hist.shape[1]
    idx = np.arange(k, dtype=np.float64)
    d2_interval = (idx[:, None] - idx[None, :]) ** 2
    cum = np.concatenate([[0.0], np.cumsum(n_c)])
    lo = np.minimum(idx[:, None], idx[None, :]).astype(int)
    hi = np.maximum(idx[:, None], idx[None, :]).astype(int)
    d2_ordinal = (cum[hi + 1] - cum[lo] - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2
    expected = np.outer(n_c, n_c)
    result = []
    for d2 in (d2_ordinal, d2_interval):
        de = float((expected * d2).sum())
        if de <= 0:
            result.append(math.nan)
            continue
        result.append(1.0 - (n - 1.0) * float((o * d2).sum()) / de)
    return result[0], result[1]
