"""RAND/UCLA Appropriateness Method measures (Fitch et al. 2001)."""

import math

import numpy as np
import pandas as pd
import pytest

from delphi.consensus.stats import Scale, compute_round


def row_for(values, quantile_type=7):
    df = pd.DataFrame(
        {"panelist": [f"p{i}" for i in range(len(values))], "item": "A", "value": values}
    )
    df["value"] = df["value"].astype(float)
    r = compute_round(
        df, scale=Scale.parse("1-9"), definition={"preset": "ram"}, quantile_type=quantile_type
    )
    return r.items.set_index("group_key").loc["all"]


def test_published_worked_example_bmj_open_2012():
    # Table 1 of BMJ Open 2012;2:e001431 (doi 10.1136/bmjopen-2012-001431): 15 panellists,
    # one rating each of 4, 5 and 6, five of 7, five of 8, two of 9. Published: median 7,
    # P30 7, P70 8, IPR 1, IPRCP 7.5, AI 2.5, IPRAS 6.1, no disagreement.
    row = row_for([4, 5, 6] + [7] * 5 + [8] * 5 + [9] * 2)
    assert row["median"] == 7
    assert (row["p30"], row["p70"], row["ipr"], row["iprcp"], row["ai"]) == (7, 8, 1, 7.5, 2.5)
    assert row["ipras"] == pytest.approx(6.1)
    assert row["dai"] == pytest.approx(1 / 6.1)
    assert row["disagreement_ipras"] is False
    assert row["ram_class"] == "appropriate"


def test_ipr_exactly_equal_to_ipras_is_not_a_disagreement():
    # P30 = 3.9, P70 = 6.7 (type 7): IPR = 2.8; AI = |5 - 5.3| = 0.3; IPRAS = 2.35 + 0.45 = 2.8.
    values = [1, 2, 2, 3, 6, 6, 6, 6, 7, 7, 8, 8]
    row = row_for(values)
    assert row["p30"] == pytest.approx(3.9) and row["p70"] == pytest.approx(6.7)
    assert row["ipr"] == pytest.approx(row["ipras"])
    # The naive floating-point comparison, on numpy's percentiles, invents a disagreement ...
    p30, p70 = np.percentile(values, 30), np.percentile(values, 70)
    assert p70 - p30 > 2.35 + 1.5 * abs(5 - (p30 + p70) / 2)
    # ... the exact one does not.
    assert row["disagreement_ipras"] is False
    assert row["ram_class"] == "uncertain"  # median 6: the middle band


def test_polarised_panel_is_a_disagreement_and_uncertain():
    row = row_for([1, 1, 1, 1, 9, 9, 9, 9, 9])  # median 9, IPR 8 > IPRAS 2.35
    assert row["median"] == 9 and row["ipr"] == 8 and row["ipras"] == pytest.approx(2.35)
    assert row["disagreement_ipras"] is True
    assert row["disagreement_classic"] is True  # 4 in 1-3 and 5 in 7-9, panel of 9: >= 3 each
    assert row["ram_class"] == "uncertain"


def test_inappropriate():
    row = row_for([1, 1, 2, 2, 2, 3, 3, 4, 5])
    assert row["median"] == 2 and row["disagreement_ipras"] is False
    assert row["ram_class"] == "inappropriate"


@pytest.mark.parametrize(
    "low, high, n, expected",
    [
        (3, 3, 9, True),  # 8-10 panelists: 3 in each extreme
        (2, 3, 9, False),
        (3, 3, 8, True),
        (3, 3, 10, True),
        (4, 4, 11, True),  # 11-13: 4
        (3, 4, 13, False),
        (5, 5, 14, True),  # 14-16: 5
        (4, 5, 16, False),
        (3, 3, 7, None),  # outside the table: empty
        (6, 6, 17, None),
    ],
)
def test_classic_panel_size_table(low, high, n, expected):
    values = [2] * low + [8] * high + [5] * (n - low - high)
    assert row_for(values)["disagreement_classic"] is expected


def test_ram_measures_follow_the_quantile_type():
    values = [2, 3, 7, 8, 9]
    t7, t6 = row_for(values, 7), row_for(values, 6)
    assert t7["p30"] != t6["p30"]  # 3 + 0.2 * (7 - 3) vs 2 + 0.8 * (3 - 2)
    assert t7["p30"] == pytest.approx(3.8) and t6["p30"] == pytest.approx(2.8)


def test_ram_measures_empty_on_other_scales():
    df = pd.DataFrame({"panelist": ["a", "b"], "item": "A", "value": [1.0, 5.0]})
    r = compute_round(df, scale=Scale.parse("1-5"), definition={"preset": "comet"})
    row = r.items.iloc[0]
    assert all(math.isnan(row[c]) for c in ("p30", "p70", "ipr", "iprcp", "ai", "ipras", "dai"))
    assert row["disagreement_ipras"] is None and row["disagreement_classic"] is None
