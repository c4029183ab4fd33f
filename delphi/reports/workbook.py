"""The Excel workbook (XlsxWriter): a README sheet, the protocol, flow, one sheet per analysed
round, ledger, final list, sensitivity, concordance and comments.

``strings_to_formulas`` is off, so a comment that starts with ``=`` stays text; every sheet has a
frozen header row, an autofilter, column widths and number formats, and group labels instead of
codes. Groups below the study's minimum size read "< k" in the per-round sheets.
"""

from __future__ import annotations

import io
import math

import pandas as pd
import xlsxwriter

from delphi.reports.data import ReportData
from delphi.reports.parts import PARTS, small_groups
from delphi.reports.text import accord_rows, methods_text

ROUND_COLUMNS = [
    ("item", "Item", 12, "text"), ("statement_code", "Statement", 11, "text"),
    ("domain", "Domain", 9, "text"), ("group", "Group", 24, "text"), ("n", "n", 6, "int"),
    ("n_unable", "Unable", 7, "int"), ("median", "Median", 8, "num"), ("q1", "Q1", 7, "num"),
    ("q3", "Q3", 7, "num"), ("iqr", "IQR", 7, "num"), ("mean", "Mean", 8, "num2"),
    ("sd", "SD", 7, "num2"), ("pct_low", "% bottom band", 9, "pct"),
    ("pct_mid", "% middle band", 9, "pct"), ("pct_high", "% top band", 9, "pct"),
    ("ram_class", "RAND/UCLA", 12, "text"), ("dai", "DAI", 7, "num2"), ("rwg", "rWG", 7, "num2"),
    ("verdict", "Row verdict", 9, "text"),
]  # fmt: skip


class _Book:
    def __init__(self, data: ReportData):
        self.data = data
        self.buffer = io.BytesIO()
        self.wb = xlsxwriter.Workbook(
            self.buffer,
            {
                "in_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": False,
            },
        )
        self.wb.set_properties({"title": data.study.title, "comments": data.stamp})
        wb = self.wb
        self.fmt = {
            "header": wb.add_format(
                {
                    "bold": True,
                    "bg_color": "#D9D9D9",
                    "border": 1,
                    "text_wrap": True,
                    "valign": "top",
                }
            ),  # fmt: skip
            "text": wb.add_format({"valign": "top"}),
            "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
            "int": wb.add_format({"num_format": "0", "valign": "top"}),
            "num": wb.add_format({"num_format": "0.0#", "valign": "top"}),
            "num2": wb.add_format({"num_format": "0.00", "valign": "top"}),
            "num3": wb.add_format({"num_format": "0.000", "valign": "top"}),
            "pct": wb.add_format({"num_format": "0.0", "valign": "top"}),
            "date": wb.add_format({"num_format": "yyyy-mm-dd hh:mm", "valign": "top"}),
            "title": wb.add_format({"bold": True, "font_size": 14}),
            "bold": wb.add_format({"bold": True}),
        }

    def table(self, name: str, columns: list[tuple], rows: list[list], *, start_row: int = 0):
        """columns: (label, width, kind); rows: lists of Python values (None = empty)."""
        ws = self.wb.add_worksheet(name[:31])
        for j, (label, width, kind) in enumerate(columns):
            ws.write_string(start_row, j, label, self.fmt["header"])
            ws.set_column(j, j, width, self.fmt.get(kind, self.fmt["text"]))
        for i, row in enumerate(rows, start=start_row + 1):
            for j, value in enumerate(row):
                self.cell(ws, i, j, value, columns[j][2])
        ws.freeze_panes(start_row + 1, 0)
        if columns:
            ws.autofilter(start_row, 0, start_row + max(len(rows), 1), len(columns) - 1)
        return ws

    def cell(self, ws, i, j, value, kind):
        fmt = self.fmt.get(kind, self.fmt["text"])
        if value is None or value is pd.NA:
            ws.write_blank(i, j, None, fmt)
        elif isinstance(value, bool):
            ws.write_string(i, j, "yes" if value else "no", fmt)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
                ws.write_blank(i, j, None, fmt)
            else:
                ws.write_number(i, j, value, fmt)
        elif isinstance(value, pd.Timestamp):
            ws.write_datetime(i, j, value.tz_convert(None).to_pydatetime(), self.fmt["date"])
        else:
            ws.write_string(i, j, str(value), fmt)

    def close(self) -> bytes:
        self.wb.close()
        return self.buffer.getvalue()


def _py(v):
    if v is None or v is pd.NA:
        return None
    if hasattr(v, "item") and not isinstance(v, pd.Timestamp):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return v
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def workbook_bytes(data: ReportData, progress=None) -> bytes:
    book = _Book(data)
    k = data.min_group_size
    small = small_groups(data)

    # README
    ws = book.wb.add_worksheet("README")
    ws.set_column(0, 0, 110, book.fmt["wrap"])
    lines = [
        (data.study.title, "title"),
        (data.stamp, None),
        ("", None),
        (
            "Sheets: Protocol, Flow, Panel, one sheet per analysed round (statistics by group and "
            "verdicts), Ledger, Final list, Sensitivity, Concordance, Comments, Methods text, "
            "ACCORD.",
            None,
        ),  # fmt: skip
        (
            f"Public ids and group labels only. Groups with fewer than {k} panelists read '< {k}'.",
            None,
        ),  # fmt: skip
        ("Percentages are percent of valid ratings (0-100). Empty cells are missing values.", None),
        ("Statistics are the consensus run's persisted results; nothing is recomputed.", None),
    ]
    if not data.analysed:
        lines.append(("No round of this study has been analysed yet.", "bold"))
    for i, (text, style) in enumerate(lines):
        ws.write_string(i, 0, text, book.fmt[style] if style else book.fmt["wrap"])

    book.table(
        "Protocol",
        [("Item", 34, "text"), ("Value", 100, "wrap")],
        [[r["label"], r["value"]] for r in data.protocol]
        + [
            [
                "Deviation " + f"{d.at:%Y-%m-%d}",
                f"{d.field}: {d.old_value} -> {d.new_value} ({d.reason})",
            ]
            for d in data.deviations.itertuples()
        ],  # fmt: skip
    )
    flow_rows = []
    for r in data.flow.itertuples():
        label = data.group_label(r.group)
        if r.group in small:
            flow_rows.append([_py(r.round), label, *[f"< {k}"] * 7])
        else:
            flow_rows.append([_py(r.round), label, _py(r.invited), _py(r.opened), _py(r.consented),
                              _py(r.started), _py(r.submitted), _py(r.response_rate),
                              _py(r.attrition)])  # fmt: skip
    book.table(
        "Flow",
        [
            ("Round", 7, "int"),
            ("Group", 28, "text"),
            ("Invited", 8, "int"),
            ("Opened", 8, "int"),
            ("Consented", 10, "int"),
            ("Started", 8, "int"),
            ("Submitted", 10, "int"),
            ("Response rate %", 10, "pct"),
            ("Attrition %", 10, "pct"),
        ],  # fmt: skip
        flow_rows,
    )
    c = data.characteristics
    book.table(
        "Panel",
        [
            ("Characteristic", 22, "text"),
            ("Level", 18, "text"),
            *[(data.group_label(g), 16, "text") for g in c.columns[2:]],
        ],  # fmt: skip
        c.astype(str).to_numpy().tolist(),
    )
    if progress:
        progress(20)

    decisions = data.decisions
    for n in sorted(int(x) for x in data.rounds.loc[data.rounds["analysed"], "number"]):
        items = data.items[data.items["round"] == n]
        verdict = decisions[decisions["round"] == n].set_index("item")["verdict"].to_dict()
        rows = []
        for rec in items.to_dict("records"):
            suppressed = rec["group"] in small or (
                rec["group"] not in ("all", "balanced") and (_py(rec["n"]) or 0) < k
            )
            row = []
            for key, _, _, kind in ROUND_COLUMNS:
                if key == "group":
                    row.append(data.group_label(rec["group"]))
                elif suppressed and key not in ("item", "statement_code", "domain"):
                    row.append(f"< {k}")
                else:
                    row.append(_py(rec[key]) if kind != "text" else (rec[key] or ""))
            row.append(verdict.get(rec["item"], ""))
            rows.append(row)
        book.table(
            f"Round {n}",
            [(label, width, kind) for _, label, width, kind in ROUND_COLUMNS]
            + [("Item verdict (locked definition)", 12, "text")],
            rows,
        )
    if progress:
        progress(60)

    ledger = data.ledger
    lcols = [c for c in ledger.columns]

    def kind(c):
        dtype = str(ledger[c].dtype)
        if dtype in ("Int64", "int64"):
            return "int"
        if dtype.startswith("float"):
            return "num"
        return "wrap" if c in ("statement", "history", "fate_reason") else "text"

    kinds = {c: kind(c) for c in lcols}
    widths = {"statement": 50, "history": 50, "fate_reason": 36, "domain_name": 22}
    book.table(
        "Ledger",
        [(c.replace("_", " "), widths.get(c, 11), kinds[c]) for c in lcols],
        [[_py(v) for v in row] for row in ledger.itertuples(index=False, name=None)],
    )
    book.table(
        "Final list",
        [
            ("Domain", 9, "text"),
            ("Domain name", 26, "text"),
            ("Statement", 11, "text"),
            ("Wording", 70, "wrap"),
            ("Scenario", 9, "text"),
            ("Round reached", 9, "int"),
            ("Codes over rounds", 16, "text"),
        ],  # fmt: skip
        [[_py(v) for v in row] for row in data.final.itertuples(index=False, name=None)],
    )
    sens = data.sensitivity
    book.table(
        "Sensitivity",
        [
            ("Round", 7, "int"),
            ("Kind", 8, "text"),
            ("Definition", 40, "text"),
            ("Preset", 9, "text"),
            ("Scope", 11, "text"),
            ("Threshold %", 9, "int"),
            ("Chosen", 8, "text"),
            ("In", 6, "int"),
            ("Out", 6, "int"),
            ("None", 6, "int"),
            ("Agreement %", 10, "pct"),
            ("Items in", 40, "wrap"),
            ("Items out", 20, "wrap"),
            ("Items changed", 40, "wrap"),
            ("Note", 30, "wrap"),
        ],  # fmt: skip
        [[_py(v) for v in row] for row in sens.itertuples(index=False, name=None)],
    )
    conc_rows = []
    for r in data.concordance.itertuples():
        if r.group in small or (r.n_panelists or 0) < k:
            conc_rows.append([_py(r.round), data.group_label(r.group), f"< {k}"])
            continue
        conc_rows.append([_py(r.round), data.group_label(r.group), _py(r.n_panelists),
                          _py(r.n_items), _py(r.kendall_w), _py(r.p), _py(r.alpha_ordinal),
                          _py(r.alpha_interval)])  # fmt: skip
    book.table(
        "Concordance",
        [
            ("Round", 7, "int"),
            ("Group", 28, "text"),
            ("Panelists", 9, "int"),
            ("Items", 7, "int"),
            ("Kendall's W", 10, "num3"),
            ("p", 10, "num3"),
            ("alpha ordinal", 10, "num3"),
            ("alpha interval", 10, "num3"),
        ],  # fmt: skip
        conc_rows,
    )
    book.table(
        "Communications",
        [
            ("Round", 7, "int"),
            ("Kind", 14, "text"),
            ("Sent", 8, "int"),
            ("Failed", 8, "int"),
            ("Pending", 8, "int"),
            ("Link visited after", 12, "int"),
            ("Submitted after", 12, "int"),
        ],  # fmt: skip
        [[_py(v) for v in row] for row in data.communications.itertuples(index=False, name=None)],
    )
    rank_rows = []
    for r in data.ranking_items.itertuples():
        label = data.group_label(r.group)
        if r.group != "all" and (r.group in small or (r.n or 0) < k):
            rank_rows.append([_py(r.round), r.item, r.statement_code, r.domain, label, f"< {k}"])
            continue
        rank_rows.append([_py(r.round), r.item, r.statement_code, r.domain, label, _py(r.n),
                          _py(r.n_ranked), _py(r.mean_rank), _py(r.median_rank), _py(r.sd_rank),
                          _py(r.mean_rank_change)])  # fmt: skip
    book.table(
        "Ranking",
        [
            ("Round", 7, "int"),
            ("Item", 36, "text"),
            ("Statement", 11, "text"),
            ("Domain", 22, "text"),
            ("Group", 24, "text"),
            ("n", 6, "int"),
            ("Ranked it", 8, "int"),
            ("Mean rank", 9, "num"),
            ("Median rank", 9, "num"),
            ("SD", 7, "num"),
            ("Change in mean", 9, "num"),
        ],  # fmt: skip
        rank_rows,
    )
    w_rows = []
    for r in data.ranking_concordance.itertuples():
        label = data.group_label(r.group)
        if r.group != "all" and (r.group in small or (r.n_panelists or 0) < k):
            w_rows.append([_py(r.round), label, f"< {k}"])
            continue
        w_rows.append([_py(r.round), label, _py(r.n_panelists), _py(r.n_items),
                       _py(r.kendall_w), _py(r.chi2), _py(r.df), _py(r.p), _py(r.w_change),
                       "" if r.consensus_reached is None else
                       ("reached" if r.consensus_reached else "not reached")])  # fmt: skip
    book.table(
        "Ranking W",
        [
            ("Round", 7, "int"),
            ("Group", 28, "text"),
            ("Panelists", 9, "int"),
            ("Items", 7, "int"),
            ("Kendall's W", 10, "num3"),
            ("Chi-squared", 10, "num"),
            ("df", 5, "int"),
            ("p", 10, "num3"),
            ("Change in W", 10, "num3"),
            ("Consensus rule", 12, "text"),
        ],  # fmt: skip
        w_rows,
    )
    comments = data.comments
    book.table(
        "Comments",
        [
            ("Round", 7, "int"),
            ("Item", 12, "text"),
            ("Statement", 11, "text"),
            ("Panelist", 12, "text"),
            ("Group", 24, "text"),
            ("Kind", 13, "text"),
            ("Text", 90, "wrap"),
        ],  # fmt: skip
        [
            [
                _py(r.round),
                r.item,
                r.statement_code,
                r.panelist,
                data.group_label(r.group),
                r.kind,
                r.text,
            ]
            for r in comments.itertuples()
        ],  # fmt: skip
    )
    ws = book.wb.add_worksheet("Methods text")
    ws.set_column(0, 0, 120, book.fmt["wrap"])
    row = 0
    for lang, heading in (("en", "English"), ("es", "Español")):
        ws.write_string(row, 0, heading, book.fmt["bold"])
        row += 1
        for p in methods_text(data, lang):
            ws.write_string(row, 0, p, book.fmt["wrap"])
            row += 1
        row += 1
    book.table(
        "ACCORD",
        [
            ("Section", 12, "text"),
            ("Topic", 50, "wrap"),
            ("Where in this report", 28, "text"),
            ("Answer", 70, "wrap"),
        ],  # fmt: skip
        [[r["section"], r["topic"], r["where"], r["answer"]] for r in accord_rows(data)],
    )
    if progress:
        progress(100)
    return book.close()


SHEETS_BEFORE_ROUNDS = ["README", "Protocol", "Flow", "Panel"]
SHEETS_AFTER_ROUNDS = [
    "Ledger", "Final list", "Sensitivity", "Concordance", "Communications", "Ranking",
    "Ranking W", "Comments", "Methods text", "ACCORD",
]  # fmt: skip
__all__ = ["PARTS", "SHEETS_AFTER_ROUNDS", "SHEETS_BEFORE_ROUNDS", "workbook_bytes"]
