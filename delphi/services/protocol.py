"""Checks on a study protocol (scale, bands, anchors, consensus definition) before it is saved.

The consensus definition itself is checked by the statistics module
(`delphi.consensus.definitions.validate_definition`, the same rules the computation applies);
this module checks the scale around it and turns everything into field errors a form can show.
"""

from delphi.consensus.definitions import validate_definition
from delphi.consensus.stats import Scale

PRESETS = ("comet", "ram", "iqr", "percent", "custom")
SCOPES = ("all", "every_group", "balanced")
MEASURES = ("pct_high", "pct_low", "pct_mid", "median", "iqr", "disagreement_ipras")
OPS = (">=", ">", "<=", "<", "==", "!=")


def definition_errors(definition, scale_min: int, scale_max: int, bands) -> list[str]:
    try:
        scale = Scale(
            min=scale_min, max=scale_max, bands=tuple(tuple(int(v) for v in b) for b in bands)
        )
    except (TypeError, ValueError) as exc:
        return [f"The scale is not usable: {exc}"]
    return list(validate_definition(definition, scale))


def bands_errors(bands, scale_min: int, scale_max: int) -> list[str]:
    if not isinstance(bands, list | tuple) or len(bands) != 3:
        return ["Give exactly three bands (low, middle, high), e.g. 1-3, 4-6, 7-9."]
    try:
        pairs = [(int(lo), int(hi)) for lo, hi in bands]
    except (TypeError, ValueError):
        return ["Each band is two whole numbers, e.g. 1-3."]
    errors = []
    if pairs[0][0] != scale_min or pairs[-1][1] != scale_max:
        errors.append(f"The bands must start at {scale_min} and end at {scale_max}.")
    for lo, hi in pairs:
        if lo > hi:
            errors.append(f"The band {lo}-{hi} runs backwards.")
    for (_, hi), (lo, _) in zip(pairs, pairs[1:], strict=False):
        if lo != hi + 1:
            errors.append(f"The bands must follow on without gaps or overlaps ({hi} then {lo}).")
    return errors


def protocol_errors(p: dict) -> dict[str, list[str]]:
    """Field name -> messages for a protocol (the Study.LOCKED_FIELDS as a dict)."""
    errors: dict[str, list[str]] = {}
    lo, hi = p["scale_min"], p["scale_max"]
    if hi <= lo:
        errors["scale_max"] = ["The top of the scale must be above the bottom."]
        return errors
    if hi - lo > 20 or hi > 100:
        errors["scale_max"] = ["Use a scale of at most 21 points, with values up to 100."]
        return errors
    if msgs := bands_errors(p["bands"], lo, hi):
        errors["bands"] = msgs
        return errors
    anchors = p.get("scale_anchors") or {}
    band_starts = {str(b[0]) for b in p["bands"]}
    stray = set(anchors) - band_starts
    if stray:
        errors["scale_anchors"] = [
            "Anchor labels are keyed by the first value of a band; "
            f"{', '.join(sorted(stray))} is not one."
        ]
    if msgs := definition_errors(p["consensus_definition"], lo, hi, p["bands"]):
        errors["consensus_definition"] = msgs
    if not 1 <= p["quantile_method"] <= 9:
        errors["quantile_method"] = ["The Hyndman-Fan quantile type is a number from 1 to 9."]
    if p["planned_rounds"] < 1:
        errors["planned_rounds"] = ["Plan at least one round."]
    top_k = p.get("ranking_top_k")
    if top_k is not None and top_k < 1:
        errors["ranking_top_k"] = ["A top-k ranking ranks at least one item; leave empty for all."]
    w = p.get("ranking_consensus_w", 0.7)
    if w is None or not 0 < w <= 1:
        errors["ranking_consensus_w"] = [
            "Kendall's W is between 0 and 1: choose a value in (0, 1]."
        ]
    if p["min_group_size"] < 1:
        errors["min_group_size"] = ["The smallest group shown on its own must be at least 1."]
    quorum_pct = p.get("quorum_pct", 50)
    if quorum_pct is None or not 0 <= quorum_pct <= 100:
        errors["quorum_pct"] = [
            "The quorum is a response rate in percent: a whole number from 0 to 100."
        ]
    per_group = p.get("quorum_min_per_group")
    if per_group is not None and per_group < 0:
        errors["quorum_min_per_group"] = ["The minimum per group cannot be negative."]
    return errors
