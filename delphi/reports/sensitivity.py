"""Sensitivity of the verdicts: every preset x scope, and a threshold sweep, on persisted rows.

The consensus run persists, per round x item x group, the statistics and the count histogram of
the ratings. An alternative definition is a different rule over the same statistics, so it is
applied here to those persisted rows (no rating is re-read and no statistic recomputed): band
percentages come exactly from the histograms (the balanced aggregate as the mean of the groups'
exact shares), medians and IQRs from the persisted values, read back as the small-denominator
fractions they are. Applied to the study's own definition this reproduces the persisted
verdicts exactly (tested), which is what makes the alternatives comparable.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd

from delphi.consensus import definitions as defs

SWEEP = tuple(range(60, 95, 5))
SCOPE_LABELS = {
    "all": "whole panel",
    "every_group": "every group",
    "balanced": "balanced",
}


def _fraction(value) -> tuple[int, int]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0, 0
    f = Fraction(float(value)).limit_denominator(10**6)
    return f.numerator, f.denominator


def measures_for(rows: pd.DataFrame, scale) -> dict:
    """Exact measures for the consensus rules from persisted ItemResult rows of one round.

    rows: item, group_key, n, median, iqr, disagreement_ipras, hist (list of counts from
    scale.min) and is_group (a stakeholder group, not an aggregate).
    """
    lo = scale.min
    bands = [scale.bands[0], scale.bands[1] if len(scale.bands) > 2 else None, scale.bands[-1]]
    size = len(rows)
    counts = {name: np.zeros(size, dtype=object) for name in defs.PCT_MEASURES}
    hists = rows["hist"].tolist()
    n = np.array([int(sum(h)) if h else 0 for h in hists], dtype=np.int64)
    for name, band in zip(("pct_low", "pct_mid", "pct_high"), bands, strict=True):
        if band is None:
            continue
        a, b = band
        counts[name] = np.array(
            [int(sum(h[a - lo : b - lo + 1])) if h else 0 for h in hists], dtype=object
        )
    measures = {"n": rows["n"].to_numpy(dtype=np.int64)}
    n_obj = n.astype(object)
    for name in defs.PCT_MEASURES:
        measures[name] = (100 * counts[name], n_obj.copy())
    # The balanced aggregate has no histogram of its own: each present group weighs 1/G.
    keys = rows["group_key"].to_numpy()
    items = rows["item"].to_numpy()
    is_group = rows["is_group"].to_numpy(dtype=bool)
    positions = {}
    for i, (item, grp) in enumerate(zip(items, is_group, strict=True)):
        if grp and n[i] > 0:
            positions.setdefault(item, []).append(i)
    for i in np.flatnonzero(keys == "balanced"):
        members = positions.get(items[i], [])
        for name in defs.PCT_MEASURES:
            if not members:
                measures[name][0][i], measures[name][1][i] = 0, 0
                continue
            common = math.lcm(*(int(n[j]) for j in members))
            s = sum(int(counts[name][j]) * (common // int(n[j])) for j in members)
            measures[name][0][i], measures[name][1][i] = 100 * s, len(members) * common
    for name in ("median", "iqr"):
        pairs = [_fraction(v) for v in rows[name].tolist()]
        measures[name] = (
            np.array([p[0] for p in pairs], dtype=object),
            np.array([p[1] for p in pairs], dtype=object),
        )
    measures["disagreement_ipras"] = np.array(
        [None if v is None or v is pd.NA else bool(v) for v in rows["disagreement_ipras"]],
        dtype=object,
    )
    return measures


def item_verdicts(rows: pd.DataFrame, measures: dict, definition: dict, scale) -> pd.Series:
    """One verdict per item under ``definition`` (its scope), as the consensus run decides."""
    verdicts = defs.row_verdicts(measures, definition, scale)
    frame = pd.DataFrame(
        {
            "item": rows["item"].to_numpy(),
            "group_key": rows["group_key"].to_numpy(),
            "is_group": rows["is_group"].to_numpy(dtype=bool),
            "n": rows["n"].to_numpy(),
            "v": verdicts,
        }
    )
    scope = definition.get("scope", "all")
    order = list(dict.fromkeys(frame["item"]))
    groups = frame[frame["is_group"]]
    if scope == "balanced":
        picked = frame[frame["group_key"] == "balanced"].set_index("item")["v"]
    elif scope == "every_group" and not groups.empty:
        rated = groups[groups["n"] > 0]
        # Every rated group agrees: "in", or "out"; otherwise "none" (vectorised: the per-item
        # Python lambda was most of the report's sensitivity time at 300 items).
        by_item = rated["item"].to_numpy()
        all_in = (rated["v"] == "in").groupby(by_item, sort=False).all()
        all_out = (rated["v"] == "out").groupby(by_item, sort=False).all()
        picked = pd.Series(
            np.where(all_in, "in", np.where(all_out.reindex(all_in.index), "out", "none")),
            index=all_in.index,
            dtype=object,
        )
    else:
        picked = frame[frame["group_key"] == "all"].set_index("item")["v"]
    return picked.reindex(order).fillna("none")


def _sweep_definition(definition: dict, threshold: int) -> tuple[dict, str]:
    preset = definition.get("preset")
    scope = definition.get("scope", "all")
    if preset == "comet":
        return (
            {
                "preset": "custom",
                "scope": scope,
                "in": [
                    {"measure": "pct_high", "op": ">=", "value": threshold},
                    {"measure": "pct_low", "op": "<", "value": 15},
                ],
                "out": [
                    {"measure": "pct_low", "op": ">=", "value": threshold},
                    {"measure": "pct_high", "op": "<", "value": 15},
                ],
            },
            f"COMET with {threshold} % (and < 15 %)",
        )
    scope = scope if preset in ("percent", "comet", "custom") else "all"
    return (
        {"preset": "percent", "scope": scope, "threshold": threshold},
        f"{threshold} % in the top band",
    )


def alternatives(definition: dict) -> list[dict]:
    """Every preset x scope, then the threshold sweep (kind, label, preset, scope, definition)."""
    out = []
    for name, preset in defs.PRESETS.items():
        for scope in defs.SCOPES:
            d = {"preset": name, "scope": scope}
            if name == "percent":
                d["threshold"] = (
                    definition.get("threshold", defs.DEFAULT_THRESHOLD)
                    if definition.get("preset") == "percent"
                    else defs.DEFAULT_THRESHOLD
                )
            out.append(
                {
                    "kind": "preset",
                    "label": f"{preset['label']}, {SCOPE_LABELS[scope]}",
                    "preset": name,
                    "scope": scope,
                    "threshold": d.get("threshold"),
                    "definition": d,
                }
            )
    for t in SWEEP:
        d, label = _sweep_definition(definition, t)
        out.append(
            {
                "kind": "sweep",
                "label": label,
                "preset": definition.get("preset"),
                "scope": d.get("scope"),
                "threshold": t,
                "definition": d,
            }
        )
    return out


def sensitivity_table(rows: pd.DataFrame, decisions: pd.DataFrame, definition: dict, scale):
    """Counts and items per alternative for one round, with agreement with the a-priori verdict.

    rows: the round's persisted ItemResult rows (see measures_for); decisions: item, verdict.
    Alternatives that are not valid on this scale (RAND/UCLA off 1-9; medians with balanced)
    are listed with the reason instead of counts.
    """
    measures = measures_for(rows, scale)
    chosen = decisions.set_index("item")["verdict"]
    records = []
    for alt in alternatives(definition):
        problems = defs.validate_definition(alt["definition"], scale)
        record = {k: alt[k] for k in ("kind", "label", "preset", "scope", "threshold")}
        record["is_chosen"] = _same(alt["definition"], definition)
        if problems:
            record.update(
                n_in=None, n_out=None, n_none=None, agreement_pct=None, items_in="",
                items_out="", items_changed="", note=" ".join(problems),
            )  # fmt: skip
            records.append(record)
            continue
        verdicts = item_verdicts(rows, measures, alt["definition"], scale)
        verdicts = verdicts.reindex(chosen.index).fillna("none")
        same = verdicts == chosen
        record.update(
            n_in=int((verdicts == "in").sum()),
            n_out=int((verdicts == "out").sum()),
            n_none=int((verdicts == "none").sum()),
            agreement_pct=round(100.0 * same.mean(), 1) if len(same) else None,
            items_in=" ".join(verdicts.index[verdicts == "in"]),
            items_out=" ".join(verdicts.index[verdicts == "out"]),
            items_changed=" ".join(verdicts.index[~same]),
            note="",
        )
        records.append(record)
    return records


def _same(a: dict, b: dict) -> bool:
    keys = ("preset", "scope")
    if any(a.get(k, "all" if k == "scope" else None) != b.get(k, "all") for k in keys):
        return False
    if a.get("preset") == "percent":
        return a.get("threshold", defs.DEFAULT_THRESHOLD) == b.get(
            "threshold", defs.DEFAULT_THRESHOLD
        )
    return a.get("preset") != "custom"
