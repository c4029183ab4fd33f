"""Consensus definitions: presets with their citations, validation, description and evaluation.

A definition is plain JSON stored on the study's protocol (frozen when round 1 opens):

    {"preset": "comet" | "ram" | "iqr" | "percent" | "custom",
     "scope": "all" | "every_group" | "balanced",
     "threshold": 75,                      # only for "percent"
     "in": [criterion, ...], "out": [...]} # only for "custom"

    criterion = {"measure": "pct_high" | "pct_low" | "pct_mid" | "median" | "iqr"
                            | "disagreement_ipras",
                 "op": ">=" | ">" | "<=" | "<" | "==" | "!=",
                 "value": number or bool}

Criteria of one list are combined with AND. Every preset is itself expanded into such lists, so
one evaluator serves presets and custom rules alike. Comparisons are exact: measures arrive as
rationals (numerator, denominator) and thresholds are read as decimals, so "exactly 70 %" and
"IPR equal to IPRAS" are decided in integers, never by floating-point luck.

No Django import here: the worker, `manage.py analyze` and the protocol forms share this module.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction

import numpy as np

PRESETS: dict[str, dict[str, str]] = {
    "comet": {
        "label": "COMET (70 % / 15 %)",
        "citation": (
            "Williamson PR, Altman DG, Bagley H, et al. The COMET Handbook: version 1.0. "
            "Trials 2017;18(Suppl 3):280. Williamson PR, Altman DG, Blazeby JM, et al. "
            "Developing core outcome sets for clinical trials: issues to consider. "
            "Trials 2012;13:132."
        ),
        "description": (
            "Consensus in when at least 70 % of panelists rate the item in the top band "
            "(7-9 on a 1-9 scale) and fewer than 15 % in the bottom band (1-3); consensus "
            "out when at least 70 % rate it in the bottom band and fewer than 15 % in the top band."
        ),
    },
    "ram": {
        "label": "RAND/UCLA appropriateness",
        "citation": (
            "Fitch K, Bernstein SJ, Aguilar MD, et al. The RAND/UCLA Appropriateness Method "
            "User's Manual. Santa Monica, CA: RAND; 2001. MR-1269-DG-XII/RE."
        ),
        "description": (
            "Consensus in when the item is 'appropriate' (median 7-9 without disagreement by "
            "the IPRAS rule); consensus out when it is 'inappropriate' (median 1-3 without "
            "disagreement). Everything else is 'uncertain'. Needs a 1-9 scale."
        ),
    },
    "iqr": {
        "label": "IQR <= 1 and median in the top or bottom band",
        "citation": (
            "von der Gracht HA. Consensus measurement in Delphi studies: review and implications "
            "for future quality assurance. Technol Forecast Soc Change 2012;79(8):1525-1536. "
            "Diamond IR, Grant RC, Feldman BM, et al. Defining consensus: a systematic review "
            "recommends methodologic criteria for reporting of Delphi studies. "
            "J Clin Epidemiol 2014;67(4):401-409."
        ),
        "description": (
            "Consensus in when the interquartile range is at most 1 and the median lies in the "
            "top band; consensus out when the interquartile range is at most 1 and the median "
            "lies in the bottom band."
        ),
    },
    "percent": {
        "label": "Percentage agreement threshold",
        "citation": (
            "Diamond IR, Grant RC, Feldman BM, et al. Defining consensus: a systematic review "
            "recommends methodologic criteria for reporting of Delphi studies. "
            "J Clin Epidemiol 2014;67(4):401-409 (median threshold 75 %)."
        ),
        "description": (
            "Consensus in when at least the threshold percentage (default 75 %) of panelists "
            "rate the item in the top band; consensus out when at least that percentage rate it "
            "in the bottom band."
        ),
    },
}

DEFAULT_THRESHOLD = 75
RAM_BANDS = ((1, 3), (7, 9))
SCOPES = {
    "all": "applied to all panelists together",
    "every_group": "required in every stakeholder group",
    "balanced": "applied to the balanced aggregate (each stakeholder group weighted equally)",
}
PCT_MEASURES = ("pct_high", "pct_low", "pct_mid")
# Presets that compare the top band with the bottom band: they need at least two bands.
NEEDS_ENDS = ("comet", "iqr", "percent")
MEASURES = (*PCT_MEASURES, "median", "iqr", "disagreement_ipras")
MEASURE_LABELS = {
    "pct_high": "% rating in the top band",
    "pct_low": "% rating in the bottom band",
    "pct_mid": "% rating between the bottom and the top band",
    "median": "median",
    "iqr": "interquartile range",
    "disagreement_ipras": "RAND/UCLA disagreement (IPR > IPRAS)",
}
OPS = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
OP_WORDS = {
    ">=": "at least",
    ">": "more than",
    "<=": "at most",
    "<": "less than",
    "==": "equal to",
    "!=": "not equal to",
}
_MAX_DECIMAL_DENOMINATOR = 10**6
_KNOWN_KEYS = {"preset", "scope", "threshold", "in", "out"}


def _exact(value) -> Fraction:
    # Thresholds are read as the decimal the researcher typed: 66.7 means 667/10, not the nearest
    # binary double.
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


def _criterion(measure: str, op: str, value) -> dict:
    return {"measure": measure, "op": op, "value": value}


def expand(definition: dict, scale) -> tuple[list[dict], list[dict]]:
    """The preset (or custom rule) as explicit 'in' and 'out' criterion lists for this scale."""
    preset = definition.get("preset", "comet")
    (lo_a, lo_b), (hi_a, hi_b) = scale.low, scale.high
    if preset in NEEDS_ENDS and not scale.has_ends:
        # One band: no top or bottom band to compare (validation refuses this as the study's
        # own definition; as a comparison preset it simply decides nothing).
        return [], []
    if preset == "comet":
        return (
            [_criterion("pct_high", ">=", 70), _criterion("pct_low", "<", 15)],
            [_criterion("pct_low", ">=", 70), _criterion("pct_high", "<", 15)],
        )
    if preset == "percent":
        t = definition.get("threshold", DEFAULT_THRESHOLD)
        return [_criterion("pct_high", ">=", t)], [_criterion("pct_low", ">=", t)]
    if preset == "iqr":
        return (
            [
                _criterion("iqr", "<=", 1),
                _criterion("median", ">=", hi_a),
                _criterion("median", "<=", hi_b),
            ],
            [
                _criterion("iqr", "<=", 1),
                _criterion("median", ">=", lo_a),
                _criterion("median", "<=", lo_b),
            ],
        )
    if preset == "ram":
        # Appropriate / inappropriate: median 7-9 / 1-3 without disagreement. The manual fixes
        # these bands on its 1-9 scale, whatever bands the study uses for percentages.
        (lo_a, lo_b), (hi_a, hi_b) = RAM_BANDS
        return (
            [
                _criterion("median", ">=", hi_a),
                _criterion("median", "<=", hi_b),
                _criterion("disagreement_ipras", "==", False),
            ],
            [
                _criterion("median", ">=", lo_a),
                _criterion("median", "<=", lo_b),
                _criterion("disagreement_ipras", "==", False),
            ],
        )
    if preset == "custom":
        return list(definition.get("in") or []), list(definition.get("out") or [])
    raise ValueError(f"Unknown consensus preset {preset!r}.")


def _number_ok(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return _exact(value).denominator <= _MAX_DECIMAL_DENOMINATOR


def _validate_criterion(c, where: str, scale, scope: str) -> list[str]:
    if not isinstance(c, dict):
        return [f"{where}: a criterion must be an object with measure, op and value."]
    errors = []
    measure, op, value = c.get("measure"), c.get("op"), c.get("value")
    if measure not in MEASURES:
        return [f"{where}: unknown measure {measure!r}; choose one of {', '.join(MEASURES)}."]
    if op not in OPS:
        errors.append(f"{where}: unknown comparison {op!r}; choose one of {', '.join(OPS)}.")
    if measure == "disagreement_ipras":
        if not isinstance(value, bool):
            errors.append(f"{where}: RAND/UCLA disagreement is compared with true or false.")
        if op not in ("==", "!="):
            errors.append(f"{where}: RAND/UCLA disagreement can only be compared with == or !=.")
        if scale is not None and not scale.is_ram:
            errors.append(
                f"{where}: RAND/UCLA disagreement is defined only on a 1-9 scale, not {scale}."
            )
    elif not _number_ok(value):
        errors.append(
            f"{where}: the value for {measure} must be a number (at most 6 decimals), "
            f"not {value!r}."
        )
    elif measure in PCT_MEASURES and not 0 <= value <= 100:
        errors.append(f"{where}: a percentage must be between 0 and 100, not {value}.")
    elif measure in ("pct_low", "pct_high") and scale is not None and not scale.has_ends:
        errors.append(
            f"{where}: {measure} needs a bottom and a top band, but this scale has one band "
            f"({_bands_text(scale)}). Give the scale two or more bands."
        )
    elif measure == "pct_mid" and scale is not None and not scale.has_middle:
        errors.append(
            f"{where}: pct_mid counts the ratings between the bottom and the top band, but this "
            f"scale has no band between them ({_bands_text(scale)}). Give it three or more bands."
        )
    elif measure == "median" and scale is not None and not scale.min <= value <= scale.max:
        errors.append(f"{where}: a median must lie on the scale {scale}, not {value}.")
    elif measure == "iqr" and scale is not None and not 0 <= value <= scale.max - scale.min:
        errors.append(
            f"{where}: an interquartile range must be between 0 and {scale.max - scale.min}."
        )
    if scope == "balanced" and measure not in PCT_MEASURES:
        errors.append(
            f"{where}: the balanced aggregate has band percentages only, so {measure} cannot "
            "be used with the balanced scope."
        )
    return errors


def validate_definition(d, scale=None) -> list[str]:
    """Every problem with a definition, as messages a researcher can act on (empty: valid)."""
    if not isinstance(d, dict):
        return ["The consensus definition must be an object with a preset and a scope."]
    errors = []
    unknown = sorted(set(d) - _KNOWN_KEYS)
    if unknown:
        errors.append(f"Unknown field(s) in the consensus definition: {', '.join(unknown)}.")
    preset = d.get("preset")
    scope = d.get("scope", "all")
    if preset not in (*PRESETS, "custom"):
        errors.append(
            f"Unknown preset {preset!r}; choose one of {', '.join([*PRESETS, 'custom'])}."
        )
        return errors
    if scope not in SCOPES:
        errors.append(f"Unknown scope {scope!r}; choose one of {', '.join(SCOPES)}.")
    if preset == "percent":
        t = d.get("threshold", DEFAULT_THRESHOLD)
        if not _number_ok(t) or not 50 < t <= 100:
            errors.append(
                "The percentage threshold must be a number above 50 and at most 100 "
                f"(above 50 so that an item cannot be both in and out), not {t!r}."
            )
    if preset == "ram" and scale is not None and not scale.is_ram:
        errors.append(
            f"The RAND/UCLA preset needs a 1-9 scale (its asymmetry index is centred on 5); "
            f"this study uses {scale}."
        )
    if preset in NEEDS_ENDS and scale is not None and not scale.has_ends:
        errors.append(
            f"The {PRESETS[preset]['label']} definition compares the top band with the bottom "
            f"band, but this scale has a single band ({_bands_text(scale)}). Give the scale two "
            "or more bands, or choose a custom rule on the median or the interquartile range."
        )
    if scope == "balanced" and preset in ("ram", "iqr"):
        errors.append(
            f"The balanced aggregate has band percentages only; the {PRESETS[preset]['label']} "
            "preset needs medians, so use scope 'all' or 'every_group'."
        )
    if preset == "custom":
        for side in ("in", "out"):
            crits = d.get(side, [])
            if not isinstance(crits, list):
                errors.append(f"'{side}' must be a list of criteria.")
                continue
            for i, c in enumerate(crits, start=1):
                errors += _validate_criterion(c, f"Consensus {side}, criterion {i}", scale, scope)
        if not d.get("in"):
            errors.append("A custom definition needs at least one 'consensus in' criterion.")
    return errors


def _bands_text(scale) -> str:
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in scale.bands)


def _band_text(scale, which: int) -> str:
    """0 = the bottom band, 1 = everything between, 2 = the top band, as values ("7-9")."""
    words = ("in the bottom band", "in the middle band", "in the top band")[which]
    if scale is None:
        return words
    rng = (scale.low, scale.mid, scale.high)[which]
    if rng is None or (which != 1 and not scale.has_ends):
        return words
    a, b = rng
    return f"{a}-{b}" if a != b else f"{a}"


def _describe_criterion(c: dict, scale) -> str:
    m, op, v = c["measure"], c["op"], c["value"]
    if m == "disagreement_ipras":
        return "no RAND/UCLA disagreement" if (op == "==") != bool(v) else "RAND/UCLA disagreement"
    if m in PCT_MEASURES:
        band = {"pct_low": 0, "pct_mid": 1, "pct_high": 2}[m]
        return f"{OP_WORDS[op]} {v:g} % rate the item {_band_text(scale, band)}"
    return f"the {MEASURE_LABELS[m]} is {OP_WORDS[op]} {v:g}"


def describe_definition(d: dict, scale=None) -> str:
    """A plain-English sentence for the protocol page and the report."""
    preset = d.get("preset", "comet")
    scope = SCOPES.get(d.get("scope", "all"), d.get("scope"))
    top, bottom = _band_text(scale, 2), _band_text(scale, 0)
    if preset == "comet":
        text = (
            f"COMET: consensus in when at least 70 % rate the item {top} and fewer than 15 % "
            f"rate it {bottom}; consensus out when at least 70 % rate it {bottom} and fewer than "
            f"15 % rate it {top}"
        )
    elif preset == "ram":
        text = (
            "RAND/UCLA: consensus in when the item is appropriate (median 7-9 without "
            "disagreement, IPR <= IPRAS); consensus out when it is inappropriate (median "
            "1-3 without disagreement)"
        )
    elif preset == "iqr":
        text = (
            f"IQR: consensus in when the interquartile range is at most 1 and the median is "
            f"{top}; consensus out when the interquartile range is at most 1 and the median is "
            f"{bottom}"
        )
    elif preset == "percent":
        t = d.get("threshold", DEFAULT_THRESHOLD)
        text = (
            f"Percentage: consensus in when at least {t:g} % rate the item {top}; consensus out "
            f"when at least {t:g} % rate it {bottom}"
        )
    else:
        ins = " and ".join(_describe_criterion(c, scale) for c in d.get("in") or [])
        outs = " and ".join(_describe_criterion(c, scale) for c in d.get("out") or [])
        text = f"Custom: consensus in when {ins or 'never'}"
        text += f"; consensus out when {outs}" if outs else "; no rule for consensus out"
    return f"{text}; {scope}. Every other item has no consensus and is carried forward."


# --- evaluation ------------------------------------------------------------------------------


def criterion_mask(measures: dict, c: dict) -> np.ndarray:
    """Rows meeting one criterion. Undefined measures never meet a criterion.

    measures: numeric measure -> (numerator, denominator) arrays (denominator 0 = undefined);
    "disagreement_ipras" -> object array of True / False / None.
    """
    op = OPS[c["op"]]
    if c["measure"] == "disagreement_ipras":
        values = measures["disagreement_ipras"]
        defined = np.array([v is not None for v in values], dtype=bool)
        hit = np.array([op(bool(v), bool(c["value"])) if v is not None else False for v in values])
        return defined & hit.astype(bool)
    num, den = measures[c["measure"]]
    v = _exact(c["value"])
    defined = den != 0
    # num/den OP a/b  <=>  num*b OP a*den, for den > 0; Python integers never overflow.
    lhs = num * v.denominator
    rhs = den * v.numerator
    return defined & np.asarray(op(lhs, rhs), dtype=bool)


def row_verdicts(measures: dict, definition: dict, scale) -> np.ndarray:
    """'in' / 'out' / 'none' for every row. A row meeting both lists (a contradictory custom rule)
    gets 'none': the item stays on the table rather than being decided arbitrarily."""
    ins, outs = expand(definition, scale)
    size = len(measures["n"])
    met_in = np.zeros(size, dtype=bool) if not ins else np.ones(size, dtype=bool)
    for c in ins:
        met_in &= criterion_mask(measures, c)
    met_out = np.zeros(size, dtype=bool) if not outs else np.ones(size, dtype=bool)
    for c in outs:
        met_out &= criterion_mask(measures, c)
    out = np.full(size, "none", dtype=object)
    out[met_in & ~met_out] = "in"
    out[met_out & ~met_in] = "out"
    return out


def preset_definitions(definition: dict) -> dict[str, dict]:
    """Each preset under the study's scope (the percent preset keeps the study's threshold).

    The balanced aggregate has no median, so under a balanced scope the median-based presets
    (RAND/UCLA, IQR) are shown for all panelists together rather than as a blanket 'none'.
    """
    scope = definition.get("scope", "all")
    result = {}
    for name in PRESETS:
        d = {"preset": name, "scope": scope}
        if scope == "balanced" and name in ("ram", "iqr"):
            d["scope"] = "all"
        if name == "percent":
            d["threshold"] = (
                definition.get("threshold", DEFAULT_THRESHOLD)
                if definition.get("preset") == "percent"
                else DEFAULT_THRESHOLD
            )
        result[name] = d
    return result
