"""Scales of 2 to 11 points with one to five bands: the band percentages, the verdicts and the
refusals. Percentages are checked against plain counting, quantiles against numpy."""

import math

import numpy as np
import pandas as pd
import pytest

from delphi.consensus.definitions import describe_definition, validate_definition
from delphi.consensus.stats import Scale, compute_round

COMET = {"preset": "comet", "scope": "all"}


def grouped(values_by_group: dict[str, list], item="A"):
    rows = [
        (f"{g}{i}", g, item, v)
        for g, values in values_by_group.items()
        for i, v in enumerate(values)
    ]
    df = pd.DataFrame(rows, columns=["panelist", "group", "item", "value"])
    df["value"] = df["value"].astype(float)
    return df


def rows_of(values, scale, definition=COMET):
    r = compute_round(grouped({"g": values}), scale=scale, definition=definition)
    return r, r.items.set_index("group_key")


def pct(values, lo, hi):
    valid = [v for v in values if v is not None]
    return 100 * sum(lo <= v <= hi for v in valid) / len(valid)


def test_five_points_two_bands():
    scale = Scale(1, 5, ((1, 2), (3, 5)))
    values = [1, 2, 3, 4, 5, 5, None]
    r, rows = rows_of(values, scale)
    row = rows.loc["all"]
    assert row["pct_low"] == pytest.approx(pct(values, 1, 2))  # 2 of 6
    assert row["pct_high"] == pytest.approx(pct(values, 3, 5))  # 4 of 6
    assert row["pct_mid"] == 0  # nothing lies between two adjacent bands
    assert row["n"] == 6 and row["n_unable"] == 1
    assert row["median"] == np.percentile([1, 2, 3, 4, 5, 5], 50)
    assert r.decisions.loc[0, "verdict"] == "none"  # 66.7 % top band < 70 %
    # The balanced aggregate counts the same bands.
    assert rows.loc["balanced", "pct_high"] == pytest.approx(pct(values, 3, 5))
    assert scale.band_percentages(row["hist"]) == pytest.approx([100 * 2 / 6, 100 * 4 / 6])


def test_five_points_two_bands_reaches_comet_consensus():
    scale = Scale(1, 5, ((1, 2), (3, 5)))
    r, rows = rows_of([3, 4, 5, 5, 5, 4, 4, 3, 5, 1], scale)
    assert rows.loc["all", "pct_high"] == 90 and rows.loc["all", "pct_low"] == 10
    assert r.decisions.loc[0, "verdict"] == "in"


def test_five_points_five_bands():
    scale = Scale(1, 5, ((1, 1), (2, 2), (3, 3), (4, 4), (5, 5)))
    values = [1, 2, 2, 3, 4, 5, 5, 5, 5, 5]
    r, rows = rows_of(values, scale)
    row = rows.loc["all"]
    assert (row["pct_low"], row["pct_mid"], row["pct_high"]) == (10, 40, 50)
    assert row["pct_mid"] == pytest.approx(pct(values, 2, 4))
    assert scale.band_percentages(row["hist"]) == [10, 20, 10, 10, 50]
    assert scale.mid == (2, 4)
    assert describe_definition(COMET, scale).startswith(
        "COMET: consensus in when at least 70 % rate the item 5 and fewer than 15 % rate it 1;"
    )
    assert r.decisions.loc[0, "verdict"] == "none"


def test_two_point_scale():
    scale = Scale.parse("1-2")
    assert scale.bands == ((1, 1), (2, 2))
    values = [2] * 9 + [1]
    r, rows = rows_of(values, scale)
    row = rows.loc["all"]
    assert (row["pct_low"], row["pct_mid"], row["pct_high"]) == (10, 0, 90)
    assert row["median"] == 2 and row["iqr"] == np.subtract(*np.percentile(values, [75, 25]))
    # rWG with A = 2 points: sigma_EU^2 = (4 - 1) / 12.
    assert row["rwg"] == pytest.approx(max(0, 1 - np.var(values, ddof=1) / 0.25))
    assert r.decisions.loc[0, "verdict"] == "in"
    assert math.isnan(row["ipr"])  # the RAND/UCLA measures are 1-9 only


def test_eleven_point_scale():
    scale = Scale(0, 10, ((0, 3), (4, 6), (7, 10)))
    rng = np.random.default_rng(11)
    values = rng.integers(0, 11, size=40).tolist()
    _, rows = rows_of(values, scale)
    row = rows.loc["all"]
    assert row["pct_low"] == pytest.approx(pct(values, 0, 3))
    assert row["pct_mid"] == pytest.approx(pct(values, 4, 6))
    assert row["pct_high"] == pytest.approx(pct(values, 7, 10))
    for name, q in (("q1", 25), ("median", 50), ("q3", 75)):
        assert row[name] == pytest.approx(np.percentile(values, q))
    assert row["mean"] == pytest.approx(np.mean(values))
    assert len(row["hist"]) == 11
    # Without given bands an 11-point scale is cut in three as evenly as possible.
    assert Scale.parse("0-10").bands == ((0, 2), (3, 7), (8, 10))


def test_one_band_has_no_bottom_or_top():
    scale = Scale(1, 9, ((1, 9),))
    rule = {
        "preset": "custom",
        "scope": "all",
        "in": [{"measure": "median", "op": ">=", "value": 7}],
        "out": [{"measure": "median", "op": "<=", "value": 3}],
    }
    r, rows = rows_of([7, 8, 9, 8, 2], scale, rule)
    row = rows.loc["all"]
    assert math.isnan(row["pct_low"]) and math.isnan(row["pct_high"])
    assert row["pct_mid"] == 100
    assert r.decisions.loc[0, "verdict"] == "in"
    # The comparison presets that need a top and bottom band decide nothing.
    assert r.decisions.loc[0, "verdict_comet"] == "none"


@pytest.mark.parametrize("preset", ["comet", "percent", "iqr"])
def test_one_band_refuses_definitions_comparing_top_and_bottom(preset):
    errors = validate_definition({"preset": preset, "scope": "all"}, Scale(1, 9, ((1, 9),)))
    assert any("single band (1-9)" in e for e in errors)
    with pytest.raises(ValueError, match="single band"):
        compute_round(grouped({"g": [5]}), scale=Scale(1, 9, ((1, 9),)), definition=COMET)


def test_custom_criteria_need_the_bands_they_name():
    rule = {
        "preset": "custom",
        "scope": "all",
        "in": [
            {"measure": "pct_high", "op": ">=", "value": 70},
            {"measure": "pct_mid", "op": "<=", "value": 10},
        ],
    }
    one = validate_definition(rule, Scale(1, 5, ((1, 5),)))
    assert any("pct_high needs a bottom and a top band" in e for e in one)
    two = validate_definition(rule, Scale(1, 5, ((1, 2), (3, 5))))
    assert len(two) == 1 and "no band between them" in two[0]
    assert validate_definition(rule, Scale(1, 5, ((1, 2), (3, 3), (4, 5)))) == []


def test_default_scale_keeps_its_three_bands():
    scale = Scale.parse("1-9")
    assert scale.bands == ((1, 3), (4, 6), (7, 9))
    assert scale.summary_bands() == {"pct_low": (1, 3), "pct_mid": (4, 6), "pct_high": (7, 9)}


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (((1, 2), (3, 4), (5, 5), (6, 7), (8, 8), (9, 9)), "one to 5 bands, not 6"),
        ((), "one to 5 bands, not 0"),
        (((1, 4), (4, 9)), "out of order or overlap"),
        (((4, 9), (1, 3)), "out of order or overlap"),
        (((1, 3), (4, 10)), r"Band 2 \(4-10\) is not inside the scale 1-9"),
    ],
)
def test_bad_bands_are_refused(bands, message):
    with pytest.raises(ValueError, match=message):
        Scale(1, 9, bands)


def test_one_point_is_not_a_scale():
    with pytest.raises(ValueError, match="at least two points"):
        Scale(3, 3)
