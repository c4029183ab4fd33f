"""Result rows from a ``RoundResult``: pandas cells to database values, column by column.

At full scale a run writes 2,100 ``ItemResult`` rows of 30 fields; converting whole columns
(NaN -> None, numpy scalars -> Python) and writing them with one COPY on PostgreSQL keeps that a
fraction of a second.
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
from django.db import connection, models

from delphi.consensus.stats import CONCORDANCE_COLUMNS, ITEM_COLUMNS, STABILITY_COLUMNS
from delphi.models import Round

# The statistics module names the measures; the result rows store each under the same name.
_KEYS = ("item", "group_key")
ITEM_FIELDS = tuple(c for c in ITEM_COLUMNS if c not in (*_KEYS, "verdict", "hist"))
STABILITY_FIELDS = tuple(c for c in STABILITY_COLUMNS if c not in _KEYS)
CONCORDANCE_FIELDS = tuple(c for c in CONCORDANCE_COLUMNS if c not in _KEYS)


def _value(v):
    """A database value from a pandas cell: NaN/NA -> None, numpy scalars -> Python."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float | np.floating):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


INT_FIELDS = {"n", "n_unable", "n_paired", "df", "n_panelists", "n_items"}
BOOL_FIELDS = {"disagreement_ipras", "disagreement_classic", "stable"}
STR_FIELDS = {"ram_class", "verdict"}


def _column(frame: pd.DataFrame, name: str) -> list:
    """One column as Python values for the database: NaN/NA -> None, numpy -> int/float/bool."""
    if name not in frame.columns:
        return [None] * len(frame)
    kind = (
        int
        if name in INT_FIELDS
        else bool
        if name in BOOL_FIELDS
        else str
        if name in STR_FIELDS
        else float
    )
    col = frame[name]
    missing = col.isna().to_numpy()
    return [
        None if m else kind(v) for v, m in zip(col.to_numpy(dtype=object), missing, strict=True)
    ]


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text_column(field, values: list) -> pd.Series:
    """One column ready for COPY's text format (None stays None, written as \\N)."""
    if isinstance(field, models.JSONField):
        values = [None if v is None else json.dumps(v).translate(_ESCAPES) for v in values]
    elif isinstance(field, models.CharField | models.TextField):
        values = [None if v is None else str(v).translate(_ESCAPES) for v in values]
    return pd.Series(values, dtype=object)


def rows_insert(model, rows: list[dict]) -> None:
    """Insert rows given as ``{attname: value}`` (missing fields take their defaults).

    PostgreSQL: one ``COPY ... FROM STDIN``, its text written column by column by pandas;
    elsewhere ``bulk_create``. At 2,100 result rows this is a fraction of ``bulk_create``'s
    time, which builds a model instance and adapts every value one by one.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=1000)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    table = pd.DataFrame(
        {
            f.attname: _text_column(f, [row.get(f.attname, f.get_default()) for row in rows])
            for f in fields
        }
    )
    buffer = io.StringIO()
    # Booleans are written True/False, which PostgreSQL reads; no value holds a tab, a
    # newline or a backslash any more, and the quote character never occurs.
    table.to_csv(
        buffer,
        sep="\t",
        header=False,
        index=False,
        na_rep="\\N",
        quoting=csv.QUOTE_NONE,
        quotechar="\x07",
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(buffer.getvalue())


def build_rows(rnd: Round, result, item_ids: dict[str, int], scale_min: int):
    """The rows of ``ItemResult``, ``ItemDecision`` and ``GroupConcordance`` as field dicts."""
    groups = {g.code: g.pk for g in rnd.study.panel.groups.all()}
    items = result.items
    if result.stability is not None and not result.stability.empty:
        stability = result.stability[["item", "group_key", *STABILITY_FIELDS]]
        items = items.merge(stability, on=["item", "group_key"], how="left")
    # Column by column, not cell by cell: 2,100 rows x 30 fields at full scale.
    columns = {name: _column(items, name) for name in (*ITEM_FIELDS, *STABILITY_FIELDS)}
    verdicts = _column(items, "verdict")
    hists = items["hist"].tolist() if "hist" in items.columns else [None] * len(items)
    results = []
    for i, (key, group_key) in enumerate(zip(items["item"], items["group_key"], strict=True)):
        item_id = item_ids.get(key)
        if item_id is None:
            continue
        fields = {name: values[i] for name, values in columns.items()}
        fields["n"] = fields["n"] or 0
        fields["n_unable"] = fields["n_unable"] or 0
        fields["ram_class"] = fields["ram_class"] or ""
        hist = hists[i]
        histogram = {}
        if isinstance(hist, list | tuple | np.ndarray):
            histogram = {str(scale_min + j): int(c) for j, c in enumerate(hist)}
        verdict = verdicts[i]
        results.append(
            {
                "round_id": rnd.pk,
                "item_id": item_id,
                "group_key": group_key,
                "group_id": groups.get(group_key),
                "histogram": histogram,
                "verdict": verdict if verdict in ("in", "out", "none") else "",
                **fields,
            }
        )

    decisions = []
    for rec in result.decisions.to_dict("records"):
        item_id = item_ids.get(rec["item"])
        if item_id is None:
            continue
        presets = {
            name.removeprefix("verdict_"): _value(value)
            for name, value in rec.items()
            if name.startswith("verdict_")
        }
        decisions.append(
            {
                "round_id": rnd.pk,
                "item_id": item_id,
                "verdict": rec["verdict"],
                "carried_forward": bool(rec["carried_forward"]),
                "preset_verdicts": presets,
            }
        )

    concordance = []
    if result.concordance is not None:
        for rec in result.concordance.to_dict("records"):
            fields = {name: _value(rec.get(name)) for name in CONCORDANCE_FIELDS}
            fields["n_panelists"] = int(fields["n_panelists"] or 0)
            fields["n_items"] = int(fields["n_items"] or 0)
            if fields["df"] is not None:
                fields["df"] = int(fields["df"])
            concordance.append({"round_id": rnd.pk, "group_key": rec["group_key"], **fields})
    return results, decisions, concordance
