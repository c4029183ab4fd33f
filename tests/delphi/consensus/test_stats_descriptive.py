"""Per item x group descriptive statistics, against pandas/numpy/statsmodels and hand values."""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.weightstats import DescrStatsW

from delphi.consensus.stats import ITEM_COLUMNS, Scale, compute_round

COMET = {"preset": "comet", "scope": "all"}


def frame(rows):
    """rows: (panelist, group, item, value) tuples; value None = unable to rate."""
    df = pd.DataFrame(rows, columns=["panelist", "group", "item", "value"])
    df["value"] = df["value"].astype(float)
    return df


def one_item(values, scale="1-9", definition=COMET):
    df = pd.DataFrame(
        {"panelist": [f"p{i}" for i in range(len(values))], "item": "A", "value": values}
    )
    df["value"] = df["value"].astype(float)
    r = compute_round(df, scale=Scale.parse(scale), definition=definition)
    return r, r.items.set_index("group_key").loc["all"]


def random_round(seed, panelists=60, items=12, groups=("clin", "fam", "peer")):
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(panelists):
        g = groups[p % len(groups)]
        for i in range(items):
            v = None if rng.random() < 0.1 else int(rng.integers(1, 10))
            rows.append((f"p{p}", g, f"I{i}", v))
    return frame(rows)


def test_columns_and_row_layout():
    df = random_round(1)
    r = compute_round(df, scale=Scale.parse("1-9"), definition=COMET)
    assert list(r.items.columns) == ITEM_COLUMNS
    # 12 items x (3 groups + all + balanced)
    assert len(r.items) == 12 * 5
    assert r.items["group_key"].tolist()[:5] == ["clin", "fam", "peer", "all", "balanced"]


def test_against_pandas_per_group():
    df = random_round(2)
    r = compute_round(df, scale=Scale.parse("1-9"), definition=COMET)
    items = r.items.set_index(["item", "group_key"])
    for (item, group), sub in list(df.groupby(["item", "group"])) + [
        ((item, "all"), sub) for item, sub in df.groupby("item")
    ]:
        v = sub["value"].dropna()
        row = items.loc[(item, group)]
        assert row["n"] == len(v)
        assert row["n_unable"] == sub["value"].isna().sum()
        assert row["median"] == pytest.approx(v.median())
        assert row["q1"] == pytest.approx(v.quantile(0.25))
        assert row["q3"] == pytest.approx(v.quantile(0.75))
        assert row["iqr"] == pytest.approx(v.quantile(0.75) - v.quantile(0.25))
        assert row["mean"] == pytest.approx(v.mean())
        assert row["sd"] == pytest.approx(v.std(ddof=1))
        assert row["pct_low"] == pytest.approx(100 * (v <= 3).mean())
        assert row["pct_mid"] == pytest.approx(100 * v.between(4, 6).mean())
        assert row["pct_high"] == pytest.approx(100 * (v >= 7).mean())
        assert row["ad_median"] == pytest.approx((v - v.median()).abs().mean())
        assert row["hist"] == [int((v == k).sum()) for k in range(1, 10)]
        rwg = max(0.0, 1 - v.var(ddof=1) / ((9**2 - 1) / 12))
        assert row["rwg"] == pytest.approx(rwg)


def test_balanced_weights_each_group_equally_like_statsmodels():
    # 2 of 10 family members and 4 of 4 dispatchers rate 7-9: unweighted 6/14 = 42.9 %,
    # balanced (0.2 + 1.0) / 2 = 60 %.
    rows = [(f"f{i}", "family", "A", 8 if i < 2 else 2) for i in range(10)]
    rows += [(f"d{i}", "dispatch", "A", 9) for i in range(4)]
    rows += [("d9", "dispatch", "A", None)]
    df = frame(rows)
    r = compute_round(df, scale=Scale.parse("1-9"), definition=COMET)
    items = r.items.set_index("group_key")
    assert items.loc["all", "pct_high"] == pytest.approx(100 * 6 / 14)
    bal = items.loc["balanced"]
    assert bal["pct_high"] == pytest.approx(60.0)
    valid = df.dropna()
    weights = 1.0 / valid.groupby("group")["value"].transform("size")
    for col, mask in (
        ("pct_low", valid["value"] <= 3),
        ("pct_mid", valid["value"].between(4, 6)),
        ("pct_high", valid["value"] >= 7),
    ):
        expected = 100 * DescrStatsW(mask.astype(float), weights=weights).mean
        assert bal[col] == pytest.approx(expected)
    assert bal["n"] == 14 and bal["n_unable"] == 1
    # Only band percentages and the verdict on the balanced row.
    for col in ("median", "q1", "iqr", "mean", "sd", "p30", "ipr", "rwg", "ad_median"):
        assert math.isnan(bal[col]), col
    assert bal["ram_class"] is None and bal["disagreement_ipras"] is None
    assert bal["hist"] == []


def test_without_group_column_only_all_and_balanced_rows():
    r, row = one_item([7, 8, 9])
    assert r.items["group_key"].tolist() == ["all", "balanced"]
    assert row["median"] == 8


def test_one_panelist():
    r, row = one_item([7])
    assert row["n"] == 1 and row["median"] == 7 and row["iqr"] == 0 and row["mean"] == 7
    assert math.isnan(row["sd"]) and math.isnan(row["rwg"])
    assert row["ad_median"] == 0
    assert row["pct_high"] == 100
    assert row["disagreement_classic"] is None  # the classic table starts at 8 panelists
    assert r.concordance.set_index("group_key").loc["all", "n_panelists"] == 1
    assert math.isnan(r.concordance.iloc[0]["kendall_w"])


def test_all_identical():
    r, row = one_item([5] * 9)
    assert row["sd"] == 0 and row["iqr"] == 0 and row["rwg"] == 1 and row["ad_median"] == 0
    assert row["pct_mid"] == 100 and row["pct_high"] == 0
    assert row["ram_class"] == "uncertain"
    assert row["disagreement_classic"] is False


def test_everyone_unable_to_rate_is_empty_not_zero():
    r, row = one_item([None, None, None])
    assert row["n"] == 0 and row["n_unable"] == 3
    undefined = "median q1 q3 iqr mean sd pct_low pct_mid pct_high p30 p70 ipr iprcp ai ipras dai"
    for col in [*undefined.split(), "rwg", "ad_median"]:
        assert math.isnan(row[col]), col
    assert row["disagreement_ipras"] is None and row["ram_class"] is None
    assert row["verdict"] == "none"
    bal = r.items.set_index("group_key").loc["balanced"]
    assert math.isnan(bal["pct_high"]) and bal["verdict"] == "none"
    assert r.decisions.iloc[0]["verdict"] == "none"
    assert bool(r.decisions.iloc[0]["carried_forward"]) is True


def test_even_panel_median_between_bands():
    # Median 6.5 lies between the middle and the top band: neither appropriate nor in by IQR.
    r, row = one_item([6, 6, 6, 7, 7, 7])
    assert row["median"] == 6.5
    assert row["ram_class"] == "uncertain"
    _, row_iqr = one_item([6, 6, 6, 7, 7, 7], definition={"preset": "iqr", "scope": "all"})
    assert row_iqr["iqr"] == 1 and row_iqr["verdict"] == "none"
    # 3.5: between the bottom and the middle band.
    _, low = one_item([3, 3, 4, 4])
    assert low["median"] == 3.5 and low["ram_class"] == "uncertain"


def test_rwg_by_hand_and_truncated_at_zero():
    _, row = one_item([7, 8, 9])  # s^2 = 1, sigma_EU^2 = (81 - 1) / 12
    assert row["rwg"] == pytest.approx(1 - 1 / (80 / 12))
    _, row = one_item([1, 9, 1, 9])  # s^2 = 21.33 > 6.67: negative, truncated to 0
    assert row["rwg"] == 0.0
    _, row = one_item([4, 5, 5, 3], scale="1-5")  # A = 5: sigma_EU^2 = (25 - 1) / 12 = 2
    assert row["rwg"] == pytest.approx(1 - np.var([4, 5, 5, 3], ddof=1) / 2)
    assert 0 < row["rwg"] < 1


def test_ad_median_by_hand():
    _, row = one_item([1, 2, 3, 9])  # median 2.5; |d| = 1.5, .5, .5, 6.5
    assert row["ad_median"] == pytest.approx(9 / 4)


def test_other_scales_use_their_bands_and_drop_ram_measures():
    _, row = one_item([1, 2, 3, 4, 5], scale="1-5")
    assert (row["pct_low"], row["pct_mid"], row["pct_high"]) == (40, 20, 40)
    assert math.isnan(row["ipr"]) and row["ram_class"] is None
    _, row = one_item([1, 3, 4, 5, 7], scale="1-7")
    assert (row["pct_low"], row["pct_mid"], row["pct_high"]) == (40, 20, 40)


def test_group_with_no_ratings_on_an_item_gets_an_empty_row():
    df = frame([("a", "g1", "A", 7), ("b", "g2", "B", 8)])
    r = compute_round(df, scale=Scale.parse("1-9"), definition=COMET)
    row = r.items.set_index(["item", "group_key"]).loc[("A", "g2")]
    assert row["n"] == 0 and math.isnan(row["median"])


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("a", "g", "A", 10)], "not a whole number on the scale"),
        ([("a", "g", "A", 2.5)], "not a whole number"),
        ([("a", "g", "A", 7), ("a", "g", "A", 8)], "more than once"),
        ([("a", "g1", "A", 7), ("a", "g2", "B", 8)], "more than one group"),
        ([("a", "all", "A", 7), ("b", "g2", "A", 8)], "reserved"),
    ],
)
def test_malformed_input_is_refused_with_a_reason(rows, message):
    with pytest.raises(ValueError, match=message):
        compute_round(frame(rows), scale=Scale.parse("1-9"), definition=COMET)


def test_empty_round_gives_empty_frames():
    df = frame([])
    r = compute_round(df, scale=Scale.parse("1-9"), definition=COMET)
    assert r.items.empty and r.decisions.empty and list(r.items.columns) == ITEM_COLUMNS
