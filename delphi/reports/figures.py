"""Report figures with matplotlib, readable without colour (grey shades, hatches, labels).

Each function takes ``ReportData`` (plus a round) and returns image bytes: PNG for pages, SVG for
the PDF. Small groups (below the study's minimum size) never get their own bar or cell.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from delphi.reports.data import ReportData  # noqa: E402

GREYS = ["#f0f0f0", "#bdbdbd", "#636363"]
HATCHES = ["", "..", "//"]
VERDICT_STYLE = {"in": ("#252525", ""), "none": ("#bdbdbd", ".."), "out": ("#ffffff", "//")}
plt.rcParams.update({"font.size": 8, "font.family": "DejaVu Sans", "svg.fonttype": "none"})


def _save(fig, fmt: str) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=130 if fmt == "png" else 72, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _empty(message: str, fmt: str) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 0.8))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return _save(fig, fmt)


def shown_groups(data: ReportData, round_number: int) -> list[str]:
    """Groups of a round large enough to be shown on their own (every item's n >= k)."""
    items = data.items[data.items["round"] == round_number]
    k = data.min_group_size
    out = []
    for code in data.groups["code"]:
        rows = items[items["group"] == code]
        if len(rows) and int(rows["n"].fillna(0).min()) >= k:
            out.append(code)
    return out


def flow_figure(data: ReportData, fmt: str = "png") -> bytes:
    flow = data.flow[data.flow["group"] == "all"] if len(data.flow) else data.flow
    if flow.empty:
        return _empty("No rounds yet.", fmt)
    stages = ["invited", "consented", "started", "submitted"]
    rounds = flow["round"].tolist()
    fig, ax = plt.subplots(figsize=(7, 0.55 + 0.45 * len(rounds) * 1.2))
    height = 0.8 / len(stages)
    for j, stage in enumerate(stages):
        values = flow[stage].fillna(0).astype(int).to_numpy()
        y = np.arange(len(rounds)) + j * height
        bars = ax.barh(
            y, values, height=height * 0.9, color=["#f7f7f7", "#cccccc", "#969696", "#525252"][j],
            edgecolor="black", linewidth=0.5, hatch=["", "..", "", "//"][j], label=stage,
        )  # fmt: skip
        for bar, v in zip(bars, values, strict=True):
            ax.text(bar.get_width() + 0.5, bar.get_y() + bar.get_height() / 2, f"{stage} {v}",
                    va="center", fontsize=7)  # fmt: skip
    ax.set_yticks(np.arange(len(rounds)) + 0.4 - height / 2)
    ax.set_yticklabels([f"Round {r}" for r in rounds])
    ax.invert_yaxis()
    ax.set_xlabel("Panelists")
    ax.set_xlim(0, max(1, int(flow["invited"].max())) * 1.35)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Participant flow: invited, consented, started, submitted")
    return _save(fig, fmt)


def band_bars(data: ReportData, round_number: int, fmt: str = "png", group: str = "all") -> bytes:
    """Stacked bars of the bottom / middle / top band per item, for one group (or all)."""
    items = data.items[(data.items["round"] == round_number) & (data.items["group"] == group)]
    if items.empty:
        return _empty("No results for this round.", fmt)
    labels = items["item"].astype(str).tolist()
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.17 * len(labels)))
    left = np.zeros(len(labels))
    for (col, name), grey, hatch in zip(
        (("pct_low", "bottom band"), ("pct_mid", "middle band"), ("pct_high", "top band")),
        GREYS, HATCHES, strict=True,
    ):  # fmt: skip
        values = items[col].fillna(0).to_numpy(dtype=float)
        ax.barh(labels, values, left=left, color=grey, edgecolor="black", linewidth=0.3,
                hatch=hatch, label=name, height=0.75)  # fmt: skip
        left += values
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel("% of valid ratings")
    ax.tick_params(axis="y", labelsize=6)
    ax.legend(ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    title = data.group_label(group)
    ax.set_title(f"Round {round_number}: band distribution, {title}", pad=18)
    return _save(fig, fmt)


def band_grid(data: ReportData, round_number: int, keys: list[str], fmt: str = "svg") -> bytes:
    """Per item, stacked band bars for the whole panel and each shown group, side by side."""
    groups = ["all", *shown_groups(data, round_number)]
    items = data.items[(data.items["round"] == round_number) & data.items["item"].isin(keys)]
    if items.empty:
        return _empty("No results for this round.", fmt)
    fig, axes = plt.subplots(
        1, len(groups), figsize=(1.2 + 1.15 * len(groups), 0.9 + 0.16 * len(keys)),
        sharey=True, squeeze=False,
    )  # fmt: skip
    for ax, group in zip(axes[0], groups, strict=True):
        rows = items[items["group"] == group].set_index("item").reindex(keys)
        left = np.zeros(len(keys))
        for (col, name), grey, hatch in zip(
            (("pct_low", "bottom band"), ("pct_mid", "middle band"), ("pct_high", "top band")),
            GREYS, HATCHES, strict=True,
        ):  # fmt: skip
            values = rows[col].astype(float).fillna(0).to_numpy()
            ax.barh(keys, values, left=left, color=grey, edgecolor="black", linewidth=0.25,
                    hatch=hatch, label=name, height=0.75)  # fmt: skip
            left += values
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 50, 100])
        ax.set_title(textwrap.fill(data.group_label(group), 18), fontsize=6.5)
        ax.set_ylim(len(keys) - 0.5, -0.5)
        ax.tick_params(axis="both", labelsize=6)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, ncol=3, loc="upper center", bbox_to_anchor=(0.5, 1.0),
               frameon=False, fontsize=6.5)  # fmt: skip
    fig.suptitle(f"Round {round_number}: % of valid ratings in each band, overall and by group",
                 fontsize=8, y=1.0 + 0.35 / fig.get_figheight())  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return _save(fig, fmt)


def heatmap_table(data: ReportData, round_number: int) -> pd.DataFrame:
    """% in the top band, item x group (+ whole panel); small groups left out."""
    items = data.items[data.items["round"] == round_number]
    groups = ["all", *shown_groups(data, round_number)]
    sub = items[items["group"].isin(groups)]
    table = sub.pivot_table(index="item", columns="group", values="pct_high", sort=False)
    return table.reindex(columns=groups)


def heatmap(data: ReportData, round_number: int, fmt: str = "png") -> bytes:
    table = heatmap_table(data, round_number)
    if table.empty:
        return _empty("No results for this round.", fmt)
    fig, ax = plt.subplots(figsize=(1.6 + 0.9 * table.shape[1], 0.8 + 0.17 * table.shape[0]))
    ax.imshow(table.to_numpy(dtype=float), cmap="Greys", vmin=0, vmax=100, aspect="auto")
    for (i, j), v in np.ndenumerate(table.to_numpy(dtype=float)):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6,
                    color="white" if v > 55 else "black")  # fmt: skip
    ax.set_xticks(range(table.shape[1]))
    ax.set_xticklabels([data.group_label(c) for c in table.columns], rotation=30, ha="right")
    ax.set_yticks(range(table.shape[0]))
    ax.set_yticklabels(table.index, fontsize=6)
    ax.set_title(f"Round {round_number}: % rating in the top band, by group")
    return _save(fig, fmt)


def verdict_table(data: ReportData) -> pd.DataFrame:
    d = data.decisions
    if d.empty:
        return pd.DataFrame(columns=["round", "in", "out", "none"])
    table = d.pivot_table(index="round", columns="verdict", values="item", aggfunc="count")
    return table.reindex(columns=["in", "out", "none"]).fillna(0).astype(int).reset_index()


def verdict_counts(data: ReportData, fmt: str = "png") -> bytes:
    table = verdict_table(data)
    if table.empty:
        return _empty("No analysed round yet.", fmt)
    fig, ax = plt.subplots(figsize=(6, 0.8 + 0.5 * len(table)))
    left = np.zeros(len(table))
    labels = [f"Round {r}" for r in table["round"]]
    names = {"in": "consensus in", "out": "consensus out", "none": "no consensus"}
    for verdict in ("in", "out", "none"):
        colour, hatch = VERDICT_STYLE[verdict]
        values = table[verdict].to_numpy(dtype=float)
        bars = ax.barh(labels, values, left=left, color=colour, hatch=hatch, edgecolor="black",
                       linewidth=0.5, label=names[verdict])  # fmt: skip
        for bar, v in zip(bars, values, strict=True):
            if v:
                ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2,
                        f"{int(v)}", ha="center", va="center", fontsize=7,
                        color="white" if verdict == "in" else "black",
                        bbox=None if verdict == "in" else {"facecolor": "white", "pad": 0.5,
                                                          "linewidth": 0})  # fmt: skip
        left += values
    ax.invert_yaxis()
    ax.set_xlabel("Items")
    ax.legend(ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, fmt)


FIGURES = {
    "flow": lambda data, rnd, fmt: flow_figure(data, fmt),
    "verdicts": lambda data, rnd, fmt: verdict_counts(data, fmt),
    "heatmap": lambda data, rnd, fmt: heatmap(data, rnd, fmt),
    "bands": lambda data, rnd, fmt: band_bars(data, rnd, fmt),
}
