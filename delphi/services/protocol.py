"""Checks on a study protocol (scale, bands, labels, consensus definition) before it is saved.

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


MIN_POINTS, MAX_POINTS = 2, 11
MAX_BANDS = 5
BAND_LABEL_MAX = 80
POINT_LABEL_MAX = 40
LABEL_KEYS = ("bands_es", "points", "points_es")


def _range(lo: int, hi: int) -> str:
    return f"{lo}-{hi}" if lo != hi else f"{lo}"


def _values(lo: int, hi: int) -> str:
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


def bands_errors(bands, scale_min: int, scale_max: int) -> list[str]:
    """Every problem with the bands, each message naming the band(s) it is about."""
    if not isinstance(bands, list | tuple) or not bands:
        return ["Give at least one band, e.g. 1-3, 4-6, 7-9."]
    if len(bands) > MAX_BANDS:
        return [f"Use at most {MAX_BANDS} bands; you gave {len(bands)}."]
    try:
        pairs = [(int(lo), int(hi)) for lo, hi in bands]
    except (TypeError, ValueError):
        return ["Each band is two whole numbers, e.g. 1-3."]
    errors = []
    for i, (lo, hi) in enumerate(pairs, start=1):
        if lo > hi:
            errors.append(f"Band {i} ({lo}-{hi}) runs backwards: write its lower value first.")
        elif lo < scale_min or hi > scale_max:
            errors.append(
                f"Band {i} ({_range(lo, hi)}) lies outside the scale {scale_min}-{scale_max}."
            )
    if errors:
        return errors
    first, last = pairs[0], pairs[-1]
    if first[0] > scale_min:
        errors.append(
            f"Band 1 ({_range(*first)}) starts at {first[0]}, but the scale starts at "
            f"{scale_min}: {_values(scale_min, first[0] - 1)} would be in no band."
        )
    for i, ((a, b), (c, d)) in enumerate(zip(pairs, pairs[1:], strict=False), start=1):
        this, following = f"band {i} ({_range(a, b)})", f"band {i + 1} ({_range(c, d)})"
        if c <= a:
            errors.append(
                f"Band {i + 1} ({_range(c, d)}) comes before band {i} ({_range(a, b)}): "
                "list the bands from the bottom of the scale up."
            )
        elif c <= b:
            errors.append(
                f"The bands must follow on without gaps or overlaps: {this} and {following} "
                f"overlap at {_values(c, min(b, d))}."
            )
        elif c > b + 1:
            errors.append(
                f"The bands must follow on without gaps or overlaps: between {this} and "
                f"{following}, {_values(b + 1, c - 1)} would be in no band."
            )
    if last[1] < scale_max:
        errors.append(
            f"Band {len(pairs)} ({_range(*last)}) ends at {last[1]}, but the scale ends at "
            f"{scale_max}: {_values(last[1] + 1, scale_max)} would be in no band."
        )
    return errors


def labels_errors(anchors, labels, bands, scale_min: int, scale_max: int) -> dict[str, list]:
    """Band labels are keyed by a band's first value, point labels by a value on the scale."""
    errors: dict[str, list[str]] = {}
    starts = {str(b[0]): i for i, b in enumerate(bands, start=1)}
    values = {str(v) for v in range(scale_min, scale_max + 1)}

    def check(field, mapping, keys, what, limit):
        if not isinstance(mapping, dict):
            errors.setdefault(field, []).append(f"The {what} must be a mapping.")
            return
        for key, text in mapping.items():
            if key not in keys:
                errors.setdefault(field, []).append(
                    f"A {what} is given for {key}, which is "
                    + ("not the first value of a band." if what.startswith("band") else
                       f"not on the scale {scale_min}-{scale_max}.")
                )  # fmt: skip
            elif not isinstance(text, str):
                errors.setdefault(field, []).append(f"The {what} for {key} must be text.")
            elif len(text) > limit:
                where = f"band {starts[key]}" if what.startswith("band") else f"point {key}"
                errors.setdefault(field, []).append(
                    f"The {what} of {where} is {len(text)} characters long; keep it to {limit}."
                )

    check("scale_anchors", anchors or {}, starts, "band label", BAND_LABEL_MAX)
    labels = labels or {}
    if not isinstance(labels, dict):
        return {**errors, "scale_labels": ["The scale labels must be a mapping."]}
    if unknown := sorted(set(labels) - set(LABEL_KEYS)):
        errors.setdefault("scale_labels", []).append(
            f"Unknown part(s) of the scale labels: {', '.join(unknown)}."
        )
    check("scale_labels", labels.get("bands_es", {}), starts, "band label (Spanish)",
          BAND_LABEL_MAX)  # fmt: skip
    check("scale_labels", labels.get("points", {}), values, "point label", POINT_LABEL_MAX)
    check("scale_labels", labels.get("points_es", {}), values, "point label (Spanish)",
          POINT_LABEL_MAX)  # fmt: skip
    return errors


def protocol_errors(p: dict) -> dict[str, list[str]]:
    """Field name -> messages for a protocol (the Study.LOCKED_FIELDS as a dict)."""
    errors: dict[str, list[str]] = {}
    lo, hi = p["scale_min"], p["scale_max"]
    if hi <= lo:
        errors["scale_max"] = ["The top of the scale must be above the bottom."]
        return errors
    points = hi - lo + 1
    if not MIN_POINTS <= points <= MAX_POINTS or hi > 100:
        errors["scale_max"] = [
            f"A scale has {MIN_POINTS} to {MAX_POINTS} points, with values up to 100; "
            f"{lo}-{hi} has {points}."
        ]
        return errors
    if msgs := bands_errors(p["bands"], lo, hi):
        errors["bands"] = msgs
        return errors
    errors.update(labels_errors(p.get("scale_anchors"), p.get("scale_labels"), p["bands"], lo, hi))
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
