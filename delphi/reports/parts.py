"""The report's parts as sections of headings, paragraphs, tables and figures.

The pages and the PDF render the same sections, so they show the same numbers. A stakeholder
group with fewer consented panelists than the study's minimum group size never appears on its
own in a table: its cells read "< k".
"""

from __future__ import annotations

import math

import pandas as pd

from delphi.consensus.definitions import PRESETS
from delphi.reports.data import NOTHING_ANALYSED, ReportData
from delphi.reports.text import accord_rows, methods_text

PARTS = [
    ("protocol", "Protocol"),
    ("flow", "Participant flow"),
    ("panel", "Panel characteristics"),
    ("results", "Results by round"),
    ("ledger", "Item ledger"),
    ("final", "Final list"),
    ("sensitivity", "Sensitivity"),
    ("stability", "Stability and concordance"),
    ("qualitative", "Qualitative material"),
    ("text", "Methods and results text"),
    ("accord", "ACCORD checklist"),
]
VERDICT = {"in": "in", "out": "out", "none": "none", "": "–"}


def fmt(value, digits: int = 1) -> str:
    if value is None or value is pd.NA:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if value == int(value) and abs(value) < 1e12 and digits <= 1:
            return f"{int(value)}"
        return f"{value:.{digits}f}"
    try:
        if pd.isna(value):
            return "–"
    except (TypeError, ValueError):
        pass
    return str(value)


def day(value) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "–"
    try:
        return f"{value:%Y-%m-%d}"
    except (TypeError, ValueError):
        return "–"


def small_groups(data: ReportData) -> set[str]:
    people = data.panelists[data.panelists["consented"]]
    counts = people["group"].value_counts()
    return {str(code) for code in data.groups["code"] if counts.get(code, 0) < data.min_group_size}


def table(caption: str, columns: list[str], rows: list[list], note: str = "") -> dict:
    return {"caption": caption, "columns": columns, "rows": rows, "note": note}


def section(heading: str, *, paragraphs=(), tables=(), figures=(), empty="", sid="") -> dict:
    return {
        "id": sid or heading.lower().replace(" ", "-"),
        "heading": heading,
        "paragraphs": list(paragraphs),
        "tables": list(tables),
        "figures": list(figures),
        "empty": empty,
    }


def _protocol(data: ReportData) -> list[dict]:
    rows = [[r["label"], r["value"]] for r in data.protocol]
    rounds = [
        [
            fmt(r.number),
            r.kind,
            r.status,
            r.title or "",
            day(r.opened_at),
            day(r.closed_at),
            fmt(r.n_items),
            r.run_uuid or "–",
        ]  # fmt: skip
        for r in data.rounds.itertuples()
    ]
    deviations = [
        [f"{d.at:%Y-%m-%d}", d.field, d.old_value, d.new_value, d.reason]
        for d in data.deviations.itertuples()
    ]
    return [
        section("Protocol", tables=[table("The protocol", ["Item", "Value"], rows)]),
        section(
            "Rounds",
            tables=[
                table(
                    "Rounds",
                    [
                        "Round",
                        "Kind",
                        "Status",
                        "Title",
                        "Opened",
                        "Closed",
                        "Items",
                        "Consensus run",
                    ],
                    rounds,
                )
            ],  # fmt: skip
            empty="" if rounds else "No rounds yet.",
        ),
        section(
            "Deviations",
            tables=[table("Deviation log", ["When", "Field", "Old", "New", "Reason"], deviations)]
            if deviations
            else [],
            empty="" if deviations else "No deviations from the locked protocol.",
        ),
    ]


def _flow(data: ReportData) -> list[dict]:
    if data.flow.empty:
        return [section("Participant flow", empty="No rounds yet.")]
    small = small_groups(data)
    k = data.min_group_size
    rows = []
    for r in data.flow.itertuples():
        label = data.group_label(r.group)
        if r.group in small:
            rows.append([fmt(r.round), label, *[f"< {k}"] * 7])
            continue
        rows.append(
            [
                fmt(r.round),
                label,
                fmt(r.invited),
                fmt(r.opened),
                fmt(r.consented),
                fmt(r.started),
                fmt(r.submitted),
                fmt(r.response_rate),
                fmt(r.attrition),
            ]  # fmt: skip
        )
    return [
        section(
            "Participant flow",
            tables=[
                table(
                    "Participant flow per round and stakeholder group",
                    [
                        "Round",
                        "Group",
                        "Invited",
                        "Opened",
                        "Consented",
                        "Started",
                        "Submitted",
                        "Response rate %",
                        "Attrition %",
                    ],  # fmt: skip
                    rows,
                    note="Attrition: of the previous round's submitters, the share who did not "
                    "submit this round.",
                )
            ],
            figures=[{"name": "flow", "round": None, "alt": "Participant flow by round"}],
        ),
        _communications(data),
    ]


KIND_LABELS = {
    "invitation": "Invitations", "resend": "Re-sent links", "reminder": "Reminders",
    "custom": "Messages from the researchers", "deadline": "Deadline changes",
    "thankyou": "Thank-yous",
}  # fmt: skip


def _communications(data: ReportData) -> dict:
    """What the study sent each round, and what followed (ACCORD asks how panelists were
    reminded; OMERACT asks for personalised reminders)."""
    c = data.communications
    if c.empty:
        return section("Communications and reminders", empty="The study has sent no messages.")
    rows = [
        [fmt(r.round), KIND_LABELS.get(r.kind, r.kind), fmt(r.sent), fmt(r.failed),
         fmt(r.pending), fmt(r.opened_after), fmt(r.submitted_after)]
        for r in c.itertuples()
    ]  # fmt: skip
    reminders = c[c["kind"] == "reminder"]
    paragraphs = []
    if not reminders.empty:
        paragraphs.append(
            f"{int(reminders['sent'].sum())} reminders went to panelists who had not submitted "
            f"(in {len(reminders)} round{'s' if len(reminders) != 1 else ''}); "
            f"{int(reminders['submitted_after'].sum())} of them submitted afterwards."
        )
    return section(
        "Communications and reminders",
        sid="communications",
        paragraphs=paragraphs,
        tables=[
            table(
                "Messages per round and kind",
                [
                    "Round",
                    "Kind",
                    "Sent",
                    "Failed",
                    "Pending",
                    "Link visited after",
                    "Submitted after",
                ],  # fmt: skip
                rows,
                note="Counts only: who received which message is in the study's "
                "communications log, not in the report.",
            )
        ],
    )


def _ranking(data: ReportData) -> list[dict]:
    """One section per analysed ranking round: W by group and the items by mean rank."""
    items, conc = data.ranking_items, data.ranking_concordance
    if items.empty and conc.empty:
        return []
    small = small_groups(data)
    k = data.min_group_size
    out = []
    for n in sorted(int(x) for x in set(conc["round"]) | set(items["round"])):
        w_rows = []
        for r in conc[conc["round"] == n].itertuples():
            label = data.group_label(r.group)
            if r.group != "all" and (r.group in small or (r.n_panelists or 0) < k):
                w_rows.append([label, *[f"< {k}"] * 4])
                continue
            w_rows.append([label, fmt(r.n_panelists), fmt(r.kendall_w, 2), p_text(r.p),
                           fmt(r.w_change, 2)])  # fmt: skip
        whole = conc[(conc["round"] == n) & (conc["group"] == "all")]
        paragraphs = []
        if not whole.empty:
            w = whole.iloc[0]
            if w["kendall_w"] is not None and w["consensus_threshold"] is not None:
                reached = "reached" if w["consensus_reached"] else "did not reach"
                paragraphs.append(
                    f"Kendall's W for the whole panel is {fmt(w['kendall_w'], 2)}: the panel "
                    f"{reached} the protocol's ranking consensus rule (W ≥ "
                    f"{fmt(w['consensus_threshold'], 2)})."
                )
        top = items[(items["round"] == n) & (items["group"] == "all")].sort_values(
            "mean_rank", kind="stable"
        )
        rank_rows = [
            [str(i + 1), r.statement_code, fmt(r.mean_rank, 2), fmt(r.median_rank, 1),
             fmt(r.sd_rank, 2), fmt(r.n_ranked)]
            for i, r in enumerate(top.itertuples())
        ]  # fmt: skip
        out.append(
            section(
                f"Round {n} (ranking)",
                sid=f"ranking-{n}",
                paragraphs=paragraphs,
                tables=[
                    table(
                        f"Round {n}: agreement on the ranking (Kendall's W, tie-corrected)",
                        ["Group", "Panelists", "W", "p", "Change in W"],
                        w_rows,
                    ),
                    table(
                        f"Round {n}: items by the whole panel's mean rank (1 = most important)",
                        ["Place", "Statement", "Mean rank", "Median rank", "SD", "Ranked by"],
                        rank_rows,
                        note="By group: the workbook's Ranking sheet and ranking_items.csv.",
                    ),
                ],
            )
        )
    return out


def p_text(p) -> str:
    if p is None or p != p:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _panel(data: ReportData) -> list[dict]:
    c = data.characteristics
    columns = ["Characteristic", "Level", *[data.group_label(g) for g in c.columns[2:]]]
    rows = c.astype(str).to_numpy().tolist()
    return [
        section(
            "Panel characteristics",
            tables=[
                table(
                    "Panel characteristics by stakeholder group (consented panelists)",
                    columns,
                    rows,
                    note=f"Cells below the minimum group size ({data.min_group_size}) and groups "
                    f"smaller than it read '< {data.min_group_size}'.",
                )
            ],
        )
    ]


def _ledger(data: ReportData) -> list[dict]:
    ledger = data.ledger
    if ledger.empty:
        return [section("Item ledger", empty="No items yet.")]
    analysed = sorted(int(n) for n in data.rounds.loc[data.rounds["analysed"], "number"])
    columns = ["Item", "Domain", "Source"]
    for n in analysed:
        columns += [f"R{n} n", f"R{n} median (IQR)", f"R{n} % low/mid/high", f"R{n} verdict"]
    columns += ["Fate", "Why", "History"]
    rows = []
    for r in ledger.to_dict("records"):
        row = [r["codes"], r["domain"], r["provenance"].replace("_", " ")]
        for n in analysed:
            if pd.isna(r.get(f"r{n}_n")):
                row += ["", "", "", ""]
                continue
            row += [
                fmt(r[f"r{n}_n"]),
                f"{fmt(r[f'r{n}_median'])} ({fmt(r[f'r{n}_iqr'])})",
                "/".join(fmt(r[f"r{n}_{b}"], 0) for b in ("pct_low", "pct_mid", "pct_high")),
                VERDICT.get(r[f"r{n}_verdict"], r[f"r{n}_verdict"]),
            ]
        row += [r["fate"], r["fate_reason"], r["history"]]
        rows.append(row)
    initial = ledger[ledger["first_round"] == ledger["first_round"].min()]
    added = ledger[ledger["first_round"] > ledger["first_round"].min()]
    summary = [
        [
            fmt(len(initial)),
            fmt(len(added)),
            fmt(int(ledger["added_by_panelist"].sum())),
            fmt(int((ledger["fate"] == "consensus in").sum())),
            fmt(int((ledger["fate"] == "consensus out").sum())),
            fmt(int((ledger["fate"] == "dropped").sum())),
        ]  # fmt: skip
    ]
    return [
        section(
            "Item ledger",
            paragraphs=[] if data.analysed else [NOTHING_ANALYSED],
            tables=[
                table(
                    "Items: initial list, added, fates",
                    [
                        "Initial list",
                        "Added later",
                        "From panelists' suggestions",
                        "Consensus in",
                        "Consensus out",
                        "Dropped",
                    ],
                    summary,
                ),  # fmt: skip
                table(
                    "Every item across rounds (whole panel); a reworded item keeps its line",
                    columns,
                    rows,
                ),  # fmt: skip
            ],
        )
    ]


def _results(data: ReportData) -> list[dict]:
    from delphi.reports.figures import heatmap_table, verdict_table

    if not data.analysed:
        return [section("Results by round", empty=NOTHING_ANALYSED), *_ranking(data)]
    verdicts = verdict_table(data)
    out = [
        section(
            "Verdicts by round",
            figures=[
                {
                    "name": "verdicts",
                    "round": None,
                    "alt": "Number of items in, out and without consensus by round",
                }
            ],
            tables=[
                table(
                    "Items by verdict and round",
                    ["Round", "In", "Out", "None"],
                    [[fmt(v) for v in row] for row in verdicts.to_numpy().tolist()],
                )
            ],
        )  # fmt: skip
    ]
    for n in sorted(int(x) for x in data.rounds.loc[data.rounds["analysed"], "number"]):
        heat = heatmap_table(data, n)
        rows = [
            [item, *[fmt(v, 0) for v in values]]
            for item, values in zip(heat.index, heat.to_numpy().tolist(), strict=True)
        ]
        left_out = sorted(small_groups(data) & set(data.groups["code"]))
        note = (
            "Groups below the minimum group size are not shown on their own: "
            + ", ".join(data.group_label(g) for g in left_out)
            if left_out
            else ""
        )
        flags = data.rounds[data.rounds["number"] == n].iloc[0]
        notes = []
        if flags["below_quorum"]:
            notes.append(
                f"Round {n} was closed below the protocol's quorum (a recorded deviation, "
                "with its reason, in the protocol part): read its verdicts with care."
            )
        if flags["inputs_changed"]:
            notes.append(
                f"Round {n}'s inputs changed after this analysis (a panelist moved stakeholder "
                "group); the figures are those of the last run."
            )
        out.append(
            section(
                f"Round {n}",
                sid=f"results-{n}",
                paragraphs=notes,
                figures=[
                    {
                        "name": "bands",
                        "round": n,
                        "alt": f"Round {n}: share of ratings in each band per item, whole panel",
                    },
                    {
                        "name": "heatmap",
                        "round": n,
                        "alt": f"Round {n}: % rating in the top band by item and group",
                    },
                ],
                tables=[
                    table(
                        f"Round {n}: % in the top band by item and group",
                        ["Item", *[data.group_label(c) for c in heat.columns]],
                        rows,
                        note=note,
                    )
                ],
            )  # fmt: skip
        )
    return out + _ranking(data)


def _final(data: ReportData) -> list[dict]:
    if not data.analysed:
        return [section("Final list", empty=NOTHING_ANALYSED)]
    if data.final.empty:
        return [section("Final list", empty="No item has reached consensus in yet.")]
    out = []
    for (domain, name), rows in data.final.groupby(["domain", "domain_name"], sort=False):
        out.append(
            table(
                f"{domain}: {name}",
                ["Statement", "Wording", "Round reached"],
                [[r.statement_code, r.statement, fmt(r.round_reached)] for r in rows.itertuples()],
            )
        )
    initial = data.ledger[data.ledger["first_round"] == data.ledger["first_round"].min()]
    by_domain = [
        [
            d,
            fmt(int((initial["domain"] == d).sum())),
            fmt(
                int(
                    (
                        (data.ledger["domain"] == d)
                        & (data.ledger["first_round"] > initial["first_round"].min())
                    ).sum()
                )
            ),
            fmt(int((data.final["domain"] == d).sum())),
        ]  # fmt: skip
        for d in dict.fromkeys(data.ledger["domain"])
    ]
    return [
        section(
            "Initial, added and final items by domain",
            tables=[table("Items by domain", ["Domain", "Initial", "Added", "Final"], by_domain)],
        ),
        section("Final list", tables=out),
    ]


def _sensitivity(data: ReportData) -> list[dict]:
    if not data.analysed or data.sensitivity.empty:
        return [section("Sensitivity", empty=NOTHING_ANALYSED)]
    out = []
    for rnd, rows in data.sensitivity.groupby("round"):
        presets = rows[rows["kind"] == "preset"]
        sweep = rows[rows["kind"] == "sweep"]

        def line(r):
            if r.note:
                return [r.label + (" (chosen)" if r.is_chosen else ""), "–", "–", "–", "–", r.note]
            return [r.label + (" (chosen)" if r.is_chosen else ""), fmt(r.n_in), fmt(r.n_out),
                    fmt(r.n_none), fmt(r.agreement_pct), r.items_changed or "none"]  # fmt: skip

        cols = ["Definition", "In", "Out", "None", "Agreement with a-priori %",
                "Items whose verdict differs"]  # fmt: skip
        out.append(
            section(
                f"Round {rnd}",
                sid=f"sensitivity-{rnd}",
                tables=[
                    table(
                        f"Round {rnd}: every preset x scope",
                        cols,
                        [line(r) for r in presets.itertuples()],
                    ),  # fmt: skip
                    table(
                        f"Round {rnd}: threshold sweep 60-90 %",
                        cols,
                        [line(r) for r in sweep.itertuples()],
                    ),  # fmt: skip
                ],
            )
        )
    return [
        section(
            "Sensitivity",
            paragraphs=[
                "Each alternative definition is applied to the statistics the consensus run "
                "persisted; the study's own definition reproduces the persisted verdicts."
            ],
        ),
        *out,
    ]


def _stability(data: ReportData) -> list[dict]:
    if not data.analysed:
        return [section("Stability and concordance", empty=NOTHING_ANALYSED)]
    small = small_groups(data)
    k = data.min_group_size
    conc = []
    for r in data.concordance.itertuples():
        if r.group in small or (r.n_panelists or 0) < k:
            conc.append([fmt(r.round), data.group_label(r.group), f"< {k}", "", "", "", ""])
            continue
        conc.append([fmt(r.round), data.group_label(r.group), fmt(r.n_panelists),
                     fmt(r.kendall_w, 3), fmt(r.p, 4), fmt(r.alpha_ordinal, 3),
                     fmt(r.alpha_interval, 3)])  # fmt: skip
    st = data.stability
    rows = []
    if len(st):
        for (rnd, group), g in st.groupby(["round", "group"], sort=False):
            if group in small:
                rows.append([fmt(rnd), data.group_label(group), f"< {k}", "", ""])
                continue
            stable = g["stable"].dropna()
            rows.append([fmt(rnd), data.group_label(group), fmt(len(g)),
                         fmt(int(stable.sum())), fmt(float(g["pct_change"].median()))])  # fmt: skip
    return [
        section(
            "Stability",
            tables=[
                table(
                    "Items stable against the previous rating round",
                    ["Round", "Group", "Items", "Stable (< 15 % change)", "Median % change"],
                    rows,
                )
            ]
            if rows
            else [],  # fmt: skip
            empty="" if rows else "Stability needs two analysed rating rounds.",
        ),
        section(
            "Concordance",
            tables=[
                table(
                    "Kendall's W and Krippendorff's alpha by round and group",
                    [
                        "Round",
                        "Group",
                        "Panelists",
                        "Kendall's W",
                        "p",
                        "alpha (ordinal)",
                        "alpha (interval)",
                    ],
                    conc,
                )
            ],  # fmt: skip
        ),
    ]


def qualitative_rows(data: ReportData, *, item="", group="", round="") -> list[list]:
    c = data.comments
    if item:
        c = c[c["item"] == item]
    if group:
        c = c[c["group"] == group]
    if round:
        c = c[c["round"].astype(str) == str(round)]
    labels = {"comment": "comment", "change_reason": "reason for a band change"}
    return [
        [
            fmt(r.round),
            r.item,
            r.panelist,
            data.group_label(r.group),
            labels.get(r.kind, r.kind),
            r.text,
        ]  # fmt: skip
        for r in c.itertuples()
    ]


def _qualitative(data: ReportData, filters: dict | None = None) -> list[dict]:
    filters = filters or {}
    if not data.include_comments:
        return [section("Qualitative material", empty="Comments were left out of this report.")]
    rows = qualitative_rows(data, **filters)
    sug = [
        [
            fmt(r.round),
            r.panelist,
            data.group_label(r.group),
            r.text,
            r.status,
            r.statement_code or "",
            r.decision_reason,
        ]  # fmt: skip
        for r in data.suggestions.itertuples()
    ]
    ans = [
        [
            fmt(r.round),
            r.prompt,
            r.panelist,
            data.group_label(r.group),
            r.text,
            getattr(r, "coded_as", "") or getattr(r, "unusable_reason", ""),
        ]  # fmt: skip
        for r in data.answers.itertuples()
    ]
    return [
        section(
            "Comments and reasons",
            tables=[
                table(
                    "Comments and reasons for band changes",
                    ["Round", "Item", "Panelist", "Group", "Kind", "Text"],
                    rows,
                )
            ]
            if rows
            else [],  # fmt: skip
            empty="" if rows else "No comments match.",
        ),
        section(
            "Suggestions",
            tables=[
                table(
                    "Panelists' suggestions and what became of them",
                    ["Round", "Panelist", "Group", "Suggestion", "Status", "Statement", "Reason"],
                    sug,
                )
            ]
            if sug
            else [],  # fmt: skip
            empty="" if sug else "No suggestions.",
        ),
        section(
            "Open-ended answers",
            tables=[
                table(
                    "Answers to open-ended prompts",
                    ["Round", "Prompt", "Panelist", "Group", "Answer", "Coded as"],
                    ans,
                )
            ]
            if ans
            else [],  # fmt: skip
            empty="" if ans else "No open-ended answers.",
        ),
    ]


def _text(data: ReportData) -> list[dict]:
    return [
        section(
            "Methods and results (English)", paragraphs=methods_text(data, "en"), sid="text-en"
        ),
        section(
            "Métodos y resultados (español)", paragraphs=methods_text(data, "es"), sid="text-es"
        ),
    ]


def _accord(data: ReportData) -> list[dict]:
    rows = [
        [
            r["section"],
            r["topic"],
            r["where"],
            r["answer"] or ("yes" if r["answered"] else "not yet"),
        ]
        for r in accord_rows(data)
    ]
    return [
        section(
            "ACCORD checklist",
            paragraphs=[
                "Where this report answers each topic of the ACCORD reporting guideline "
                "(Gattrell et al., PLoS Medicine 2024); topics the data cannot answer come from "
                "the study's reporting fields."
            ],
            tables=[table("ACCORD checklist map", ["Section", "Topic", "Where", "Answer"], rows)],
        )
    ]


BUILDERS = {
    "protocol": _protocol,
    "flow": _flow,
    "panel": _panel,
    "results": _results,
    "ledger": _ledger,
    "final": _final,
    "sensitivity": _sensitivity,
    "stability": _stability,
    "qualitative": _qualitative,
    "text": _text,
    "accord": _accord,
}


def part_sections(data: ReportData, part: str, **kwargs) -> list[dict]:
    return BUILDERS[part](data, **kwargs) if kwargs else BUILDERS[part](data)


__all__ = ["PARTS", "PRESETS", "part_sections", "qualitative_rows", "small_groups"]
