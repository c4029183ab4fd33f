"""Verdicts per row and per item: presets, exact thresholds, scopes, sensitivity columns."""

import pandas as pd
import pytest

from delphi.consensus.stats import DECISION_COLUMNS, Scale, compute_round

NINE = Scale.parse("1-9")


def counts_frame(counts: dict, group="g", item="A", start=0):
    """counts: value -> how many panelists give it (None = unable to rate)."""
    rows, p = [], start
    for value, how_many in counts.items():
        for _ in range(how_many):
            rows.append((f"{group}{p}", group, item, value))
            p += 1
    df = pd.DataFrame(rows, columns=["panelist", "group", "item", "value"])
    df["value"] = df["value"].astype(float)
    return df


def verdict(df, definition, scope_row="all"):
    r = compute_round(df, scale=NINE, definition=definition)
    return r.items.set_index(["item", "group_key"]).loc[("A", scope_row), "verdict"], r


COMET = {"preset": "comet", "scope": "all"}


@pytest.mark.parametrize(
    "counts, expected",
    [
        ({8: 7, 5: 2, 2: 1}, "in"),  # exactly 70 % high, 10 % low
        ({8: 14, 5: 3, 2: 3}, "none"),  # 70 % high but exactly 15 % low: not < 15 %
        ({8: 14, 5: 4, 2: 2}, "in"),  # 70 % high, 10 % low
        ({8: 69, 5: 31}, "none"),  # 69 %
        ({2: 14, 5: 4, 8: 2}, "out"),  # the mirror image
        ({2: 14, 5: 3, 8: 3}, "none"),
        ({2: 7, 5: 2, 8: 1}, "out"),
        ({8: 7, 5: 2, None: 5, 2: 1}, "in"),  # unable to rate is not in the denominator
    ],
)
def test_comet_thresholds_are_exact(counts, expected):
    assert verdict(counts_frame(counts), COMET)[0] == expected


def test_exactly_seventy_percent_at_every_panel_size():
    # 100 * high / n is not always exactly 70.0 in floating point; the rule is decided in
    # integers (100 * high >= 70 * n), so exactly 70 % is "in" for every panel size.
    # One item per panel size n = 10, 20, ..., 390, rated by the first n panelists.
    rows = []
    for n in range(10, 400, 10):
        high = 7 * n // 10
        rows += [(f"p{p}", "g", f"n{n}", 8 if p < high else 5) for p in range(n)]
    df = pd.DataFrame(rows, columns=["panelist", "group", "item", "value"])
    df["value"] = df["value"].astype(float)
    r = compute_round(df, scale=NINE, definition=COMET)
    assert len(r.decisions) == 39 and (r.decisions["verdict"] == "in").all()
    assert (r.items.loc[r.items["group_key"] == "all", "pct_high"].round(9) == 70).all()


def test_percent_threshold():
    d = {"preset": "percent", "threshold": 75, "scope": "all"}
    assert verdict(counts_frame({8: 3, 2: 1}), d)[0] == "in"
    assert verdict(counts_frame({8: 2, 2: 1}), d)[0] == "none"
    assert verdict(counts_frame({2: 3, 9: 1}), d)[0] == "out"
    decimal = {"preset": "percent", "threshold": 66.7, "scope": "all"}
    assert verdict(counts_frame({8: 667, 2: 333}), decimal)[0] == "in"  # 66.7 % exactly
    assert verdict(counts_frame({8: 666, 2: 334}), decimal)[0] == "none"
    assert verdict(counts_frame({8: 2, 2: 1}), decimal)[0] == "none"  # 66.67 % < 66.7 %


def test_ram_and_iqr_presets():
    ram = {"preset": "ram", "scope": "all"}
    assert verdict(counts_frame({7: 3, 8: 4, 9: 2}), ram)[0] == "in"
    assert verdict(counts_frame({1: 3, 2: 4, 3: 2}), ram)[0] == "out"
    assert verdict(counts_frame({1: 4, 9: 5}), ram)[0] == "none"  # disagreement
    iqr = {"preset": "iqr", "scope": "all"}
    assert verdict(counts_frame({7: 2, 8: 5, 9: 1}), iqr)[0] == "in"  # IQR 0.25 <= 1
    assert verdict(counts_frame({7: 2, 8: 2, 9: 2}), iqr)[0] == "none"  # IQR 1.5
    assert verdict(counts_frame({1: 1, 2: 6, 3: 1}), iqr)[0] == "out"


def two_groups():
    # Dispatchers: 4 of 4 rate 8; family: 6 of 10 rate 8, 4 rate 2.
    return pd.concat(
        [
            counts_frame({8: 4}, group="dispatch"),
            counts_frame({8: 6, 2: 4}, group="family"),
            counts_frame({None: 3}, group="police"),  # no valid rating: ignored by every_group
        ]
    )


def test_scope_all_every_group_and_balanced():
    df = two_groups()
    # all: 10/14 = 71 % high, 4/14 = 29 % low -> COMET none
    r = compute_round(df, scale=NINE, definition={"preset": "percent", "threshold": 70})
    assert r.decisions.iloc[0]["verdict"] == "in"  # all: 71.4 % >= 70 %
    r = compute_round(
        df, scale=NINE, definition={"preset": "percent", "threshold": 70, "scope": "every_group"}
    )
    assert r.decisions.iloc[0]["verdict"] == "none"  # family 60 %
    r = compute_round(
        df, scale=NINE, definition={"preset": "percent", "threshold": 80, "scope": "balanced"}
    )
    assert r.items.set_index("group_key").loc["balanced", "pct_high"] == pytest.approx(80)
    assert r.decisions.iloc[0]["verdict"] == "in"  # (100 + 60) / 2 = 80 % exactly
    r = compute_round(
        df, scale=NINE, definition={"preset": "percent", "threshold": 80, "scope": "all"}
    )
    assert r.decisions.iloc[0]["verdict"] == "none"  # all: 71.4 %


def test_every_group_in_when_all_rated_groups_agree():
    df = pd.concat([counts_frame({8: 4}, group="a"), counts_frame({9: 3}, group="b")])
    r = compute_round(df, scale=NINE, definition={"preset": "comet", "scope": "every_group"})
    assert r.decisions.iloc[0]["verdict"] == "in"


def test_balanced_exact_with_many_groups():
    # Three groups each at 2 of 3 high: balanced 66.666... %, just under a 66.7 % threshold.
    df = pd.concat(
        [counts_frame({8: 2, 2: 1}, group=g) for g in ("a", "b", "c")], ignore_index=True
    )
    r = compute_round(
        df, scale=NINE, definition={"preset": "percent", "threshold": 66.7, "scope": "balanced"}
    )
    assert r.decisions.iloc[0]["verdict"] == "none"


def test_decisions_have_every_preset_and_carried_forward():
    df = counts_frame({8: 7, 5: 2, 2: 1})
    r = compute_round(df, scale=NINE, definition={"preset": "iqr", "scope": "all"})
    assert list(r.decisions.columns) == DECISION_COLUMNS
    d = r.decisions.iloc[0]
    assert r.items.set_index("group_key").loc["all", "iqr"] == 2.25  # Q1 5.75, Q3 8
    assert d["verdict"] == "none" and bool(d["carried_forward"]) is True  # IQR > 1
    assert d["verdict_comet"] == "in"  # 70 % high, 10 % low
    assert d["verdict_percent"] == "none"  # 70 % < 75 %
    assert d["verdict_iqr"] == d["verdict"]


def test_balanced_scope_shows_median_presets_for_all_panelists():
    df = two_groups()
    r = compute_round(df, scale=NINE, definition={"preset": "comet", "scope": "balanced"})
    all_row = r.items.set_index("group_key").loc["all"]
    assert all_row["median"] == 8
    # all: four 2s and ten 8s. Q1 = 3.5, IQR = 4.5 > 1; P30 = 7.4, P70 = 8, IPR 0.6 <
    # IPRAS 6.4: appropriate.
    assert all_row["iqr"] == 4.5 and all_row["ram_class"] == "appropriate"
    assert r.decisions.iloc[0]["verdict_iqr"] == "none"
    assert r.decisions.iloc[0]["verdict_ram"] == "in"


def test_custom_definition_and_contradictions():
    custom = {
        "preset": "custom",
        "scope": "all",
        "in": [
            {"measure": "pct_high", "op": ">=", "value": 80},
            {"measure": "disagreement_ipras", "op": "==", "value": False},
        ],
        "out": [{"measure": "median", "op": "<=", "value": 3}],
    }
    assert verdict(counts_frame({8: 8, 5: 2}), custom)[0] == "in"
    assert verdict(counts_frame({8: 7, 5: 3}), custom)[0] == "none"
    assert verdict(counts_frame({3: 5, 9: 4}), custom)[0] == "out"
    both = {
        "preset": "custom",
        "in": [{"measure": "pct_high", "op": ">=", "value": 0}],
        "out": [{"measure": "pct_low", "op": ">=", "value": 0}],
    }
    assert verdict(counts_frame({8: 1}), both)[0] == "none"


def test_invalid_definition_is_refused():
    with pytest.raises(ValueError, match="RAND/UCLA preset needs a 1-9 scale"):
        compute_round(counts_frame({3: 1}), scale=Scale.parse("1-5"), definition={"preset": "ram"})
