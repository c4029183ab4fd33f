"""Consensus definitions: presets, validation messages, plain-English descriptions."""

import pytest

from delphi.consensus.definitions import (
    PRESETS,
    describe_definition,
    expand,
    preset_definitions,
    validate_definition,
)
from delphi.consensus.stats import Scale

NINE, FIVE = Scale.parse("1-9"), Scale.parse("1-5")


def test_every_preset_has_label_citation_description():
    assert set(PRESETS) == {"comet", "ram", "iqr", "percent"}
    for info in PRESETS.values():
        assert info["label"] and info["description"]
        assert any(ch.isdigit() for ch in info["citation"])  # a year at least


@pytest.mark.parametrize(
    "d",
    [
        {"preset": "comet", "scope": "all"},
        {"preset": "comet", "scope": "every_group"},
        {"preset": "comet", "scope": "balanced"},
        {"preset": "ram", "scope": "all"},
        {"preset": "iqr", "scope": "every_group"},
        {"preset": "percent", "threshold": 75, "scope": "balanced"},
        {"preset": "percent", "threshold": 66.7},
        {
            "preset": "custom",
            "scope": "all",
            "in": [{"measure": "pct_high", "op": ">=", "value": 80}],
            "out": [],
        },
    ],
)
def test_valid_definitions(d):
    assert validate_definition(d, NINE) == []


@pytest.mark.parametrize(
    "d, scale, fragment",
    [
        ("comet", NINE, "must be an object"),
        ({"preset": "delphi"}, NINE, "Unknown preset 'delphi'"),
        ({"preset": "comet", "scope": "most"}, NINE, "Unknown scope 'most'"),
        ({"preset": "comet", "colour": "red"}, NINE, "Unknown field(s)"),
        ({"preset": "percent", "threshold": 50}, NINE, "above 50"),
        ({"preset": "percent", "threshold": "75"}, NINE, "above 50"),
        ({"preset": "percent", "threshold": 101}, NINE, "at most 100"),
        ({"preset": "percent", "threshold": True}, NINE, "above 50"),
        ({"preset": "ram"}, FIVE, "needs a 1-9 scale"),
        ({"preset": "iqr", "scope": "balanced"}, NINE, "balanced aggregate"),
        ({"preset": "custom", "in": []}, NINE, "at least one 'consensus in'"),
        ({"preset": "custom", "in": "pct_high>70"}, NINE, "must be a list"),
        (
            {"preset": "custom", "in": [{"measure": "mode", "op": ">=", "value": 1}]},
            NINE,
            "unknown measure 'mode'",
        ),  # fmt: skip
        (
            {"preset": "custom", "in": [{"measure": "pct_high", "op": "=>", "value": 70}]},
            NINE,
            "unknown comparison '=>'",
        ),  # fmt: skip
        (
            {"preset": "custom", "in": [{"measure": "pct_high", "op": ">=", "value": 170}]},
            NINE,
            "between 0 and 100",
        ),  # fmt: skip
        (
            {"preset": "custom", "in": [{"measure": "median", "op": ">=", "value": 12}]},
            NINE,
            "must lie on the scale 1-9",
        ),  # fmt: skip
        (
            {"preset": "custom", "in": [{"measure": "iqr", "op": "<=", "value": "1"}]},
            NINE,
            "must be a number",
        ),  # fmt: skip
        (
            {"preset": "custom", "in": [{"measure": "disagreement_ipras", "op": "==", "value": 0}]},
            NINE,
            "true or false",
        ),  # fmt: skip
        (
            {
                "preset": "custom",
                "in": [{"measure": "disagreement_ipras", "op": "<", "value": True}],
            },
            NINE,
            "only be compared with == or !=",
        ),  # fmt: skip
        (
            {
                "preset": "custom",
                "scope": "balanced",
                "in": [{"measure": "median", "op": ">=", "value": 7}],
            },
            NINE,
            "band percentages only",
        ),
    ],  # fmt: skip
)
def test_invalid_definitions_say_what_is_wrong(d, scale, fragment):
    errors = validate_definition(d, scale)
    assert errors and any(fragment in e for e in errors), errors


def test_nan_and_infinite_thresholds_refused():
    for bad in (float("nan"), float("inf")):
        assert validate_definition({"preset": "percent", "threshold": bad}, NINE)


def test_descriptions_name_the_rule_and_scope():
    text = describe_definition({"preset": "comet", "scope": "every_group"}, NINE)
    assert "70 %" in text and "15 %" in text and "7-9" in text and "every stakeholder group" in text
    assert "75 %" in describe_definition({"preset": "percent"}, NINE)
    assert "4-5" in describe_definition({"preset": "percent", "threshold": 80}, FIVE)
    assert "appropriate" in describe_definition({"preset": "ram"})
    assert "interquartile range is at most 1" in describe_definition({"preset": "iqr"})
    custom = describe_definition(
        {
            "preset": "custom",
            "scope": "balanced",
            "in": [
                {"measure": "pct_high", "op": ">=", "value": 80},
                {"measure": "disagreement_ipras", "op": "==", "value": False},
            ],
        },
        NINE,
    )
    assert "at least 80 % rate the item 7-9" in custom
    assert "no RAND/UCLA disagreement" in custom and "no rule for consensus out" in custom
    assert "balanced" in custom


def test_presets_expand_on_the_scale_bands():
    ins, outs = expand({"preset": "iqr"}, FIVE)
    assert {"measure": "median", "op": ">=", "value": 4} in ins
    assert {"measure": "median", "op": "<=", "value": 2} in outs


def test_sensitivity_presets_keep_the_study_threshold_and_scope():
    p = preset_definitions({"preset": "percent", "threshold": 80, "scope": "every_group"})
    assert p["percent"] == {"preset": "percent", "scope": "every_group", "threshold": 80}
    assert p["comet"]["scope"] == "every_group"
    assert preset_definitions({"preset": "comet"})["percent"]["threshold"] == 75
    balanced = preset_definitions({"preset": "comet", "scope": "balanced"})
    assert balanced["ram"]["scope"] == "all" and balanced["comet"]["scope"] == "balanced"
