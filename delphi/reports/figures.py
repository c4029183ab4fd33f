"""Report figures with matplotlib, readable without colour (grey shades, hatches, labels).

Each function takes ``ReportData`` (plus a round) and returns image bytes: 8-bit grey PNG for the
pages and the PDF (SVG on request). Small groups (below the study's minimum size) never get their
own bar or cell.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from delphi.reports.data import ReportData  # noqa: E402

DPI = 130
GREYS = ["#f0f0f0", "#bdbdbd", "#636363"]
HATCHES = ["", "..", "//"]
VERDICT_STYLE = {"in": ("#252525", ""), "none": ("#bdbdbd", ".."), "out": ("#ffffff", "//")}
plt.rcParams.update({"font.size": 8, "font.family": "DejaVu Sans", "svg.fonttype": "none"})


def _save(fig, fmt: str, tight: bool = True) -> bytes:
    """The figure as bytes; a PNG is 8-bit grey without alpha.

    Every figure is drawn in greys, so nothing is lost, and WeasyPrint embeds a grey PNG as it
    is, where an RGBA one is decoded and split into colour and alpha and both re-encoded.
    ``tight=False`` for figures that lay themselves out: measuring the tight box draws the
    whole figure once more.
    """
    if fmt == "png" and not tight:
        fig.set_dpi(DPI)
        fig.canvas.draw()
        image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("L")
        plt.close(fig)
        grey = io.BytesIO()
        # WeasyPrint decodes and re-compresses every PNG anyway: compress lightly here.
        image.save(grey, format="PNG", compress_level=1)
        return grey.getvalue()
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format=fmt, dpi=DPI if fmt == "png" else 72,
        bbox_inches="tight" if tight else None, facecolor="white",
    )  # fmt: skip
    plt.close(fig)
    if fmt != "png":
        return buffer.getvalue()
    buffer.seek(0)
    grey = io.BytesIO()
    Image.open(buffer).convert("L").save(grey, format="PNG", compress_level=6)
    return grey.getvalue()


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


BANDS = (("pct_low", "bottom band"), ("pct_mid", "middle band"), ("pct_high", "top band"))


_GREY_LEVELS = np.array([int(c[1:3], 16) for c in GREYS], dtype=np.uint8)


def _axes_pixels(fig, ax) -> tuple[int, int]:
    box = ax.get_position()
    w, h = fig.get_size_inches()
    return max(1, round(box.width * w * DPI)), max(1, round(box.height * h * DPI))


def _bars_raster(values: np.ndarray, width: int, height: int) -> np.ndarray:
    """Stacked band bars as an 8-bit grey image, one bar per row of ``values`` (n x 3, %).

    Drawn with numpy, not as matplotlib patches: at 300 items x 6 groups x 3 bands the
    16,000 patches (and measuring them) took most of the PDF's time. The bands keep their
    grey shades and hatches (none, dots, diagonals) and a black outline.
    """
    n = len(values)
    values = np.nan_to_num(values.astype(float))
    x = (np.arange(width) + 0.5) * 100.0 / width  # each pixel column's centre, in %
    edges = np.cumsum(values, axis=1)  # n x 3
    band = (x[None, :] >= edges[:, 0:1]).astype(np.int8) + (x[None, :] >= edges[:, 1:2])
    inside = x[None, :] < edges[:, 2:3]
    # Rows of pixels: each item gets an equal slice; its bar fills the middle 75 %.
    y = (np.arange(height) + 0.5) * n / height
    item = np.minimum(y.astype(int), n - 1)
    within = y - item
    bar_rows = (within >= 0.125) & (within < 0.875)
    band_px = band[item]  # height x width
    img = np.where(inside[item] & bar_rows[:, None], _GREY_LEVELS[band_px], 255).astype(np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    filled = inside[item] & bar_rows[:, None]
    dots = filled & (band_px == 1) & (yy % 4 == 1) & (xx % 4 == 1)
    diagonals = filled & (band_px == 2) & ((xx + yy) % 6 == 0)
    img[dots | diagonals] = 0
    # Outline: where the band or the bar starts or ends along a row, and the bar's top and
    # bottom pixel rows.
    edge = np.zeros_like(filled)
    edge[:, 1:] = filled[:, 1:] & (band_px[:, 1:] != band_px[:, :-1])
    edge[:, :-1] |= filled[:, :-1] & ~filled[:, 1:]
    edge[:, 0] |= filled[:, 0]
    top = bar_rows & ~np.r_[False, bar_rows[:-1]]
    bottom = bar_rows & ~np.r_[bar_rows[1:], False]
    edge |= filled & (top | bottom)[:, None]
    img[edge] = 0
    return img


def _stacked_bars(fig, ax, rows: pd.DataFrame) -> None:
    """Stacked bottom / middle / top band bars, one row per item (top to bottom)."""
    n = len(rows)
    values = rows[[col for col, _ in BANDS]].to_numpy(dtype=float)
    width, height = _axes_pixels(fig, ax)
    ax.imshow(
        _bars_raster(values, width, height), cmap="gray", vmin=0, vmax=255,
        extent=(0, 100, n - 0.5, -0.5), aspect="auto", interpolation="none",
    )  # fmt: skip
    ax.set_xlim(0, 100)
    ax.set_ylim(n - 0.5, -0.5)


def _band_legend(fig, y: float) -> None:
    handles = [
        Patch(facecolor=grey, edgecolor="black", linewidth=0.4, hatch=hatch or None, label=name)
        for (_, name), grey, hatch in zip(BANDS, GREYS, HATCHES, strict=True)
    ]
    fig.legend(handles=handles, ncol=3, loc="upper center", bbox_to_anchor=(0.5, y),
               frameon=False, fontsize=6.5)  # fmt: skip


def _label_width(labels, fontsize: float) -> float:
    """Inches for the longest of ``labels`` at ``fontsize`` (DejaVu Sans averages ~0.6 em)."""
    longest = max((len(str(v)) for v in labels), default=4)
    return 0.15 + longest * fontsize * 0.62 / 72


def band_bars(data: ReportData, round_number: int, fmt: str = "png", group: str = "all") -> bytes:
    """Stacked bars of the bottom / middle / top band per item, for one group (or all)."""
    items = data.items[(data.items["round"] == round_number) & (data.items["group"] == group)]
    if items.empty:
        return _empty("No results for this round.", fmt)
    labels = items["item"].astype(str).tolist()
    return _grid(
        {group: items.set_index("item")},
        labels,
        f"Round {round_number}: band distribution, {data.group_label(group)}",
        data,
        fmt,
        width=7.0,
    )


def _grid(frames: dict, keys: list[str], title: str, data, fmt: str, width=None) -> bytes:
    """One column of stacked band bars per group (frames: group -> rows indexed by item)."""
    left_in = _label_width(keys, 6)
    col_in = 1.15 if width is None else width - left_in - 0.2
    fig_w = left_in + col_in * len(frames) + 0.2
    top_in, bottom_in = 0.75, 0.35
    fig_h = top_in + bottom_in + 0.16 * len(keys)
    # Not sharey: shared axes each build every item's tick, and ticks were most of the time.
    fig, axes = plt.subplots(1, len(frames), figsize=(fig_w, fig_h), squeeze=False)
    fig.subplots_adjust(
        left=left_in / fig_w, right=1 - 0.2 / fig_w, bottom=bottom_in / fig_h,
        top=1 - top_in / fig_h, wspace=0.25,
    )  # fmt: skip
    for ax, (group, rows) in zip(axes[0], frames.items(), strict=True):
        _stacked_bars(fig, ax, rows.reindex(keys))
        ax.set_xticks([0, 50, 100])
        if len(frames) > 1:
            ax.set_title(textwrap.fill(data.group_label(group), 18), fontsize=6.5)
        ax.tick_params(axis="both", labelsize=6)
        ax.set_yticks([])
    axes[0][0].set_yticks(np.arange(len(keys)))
    axes[0][0].set_yticklabels(keys)
    if len(frames) == 1:
        axes[0][0].set_xlabel("% of valid ratings", fontsize=7)
    _band_legend(fig, 1 - 0.28 / fig_h)
    fig.suptitle(title, fontsize=8, y=1 - 0.05 / fig_h, va="top")
    return _save(fig, fmt, tight=False)


def band_grid(data: ReportData, round_number: int, keys: list[str], fmt: str = "png") -> bytes:
    """Per item, stacked band bars for the whole panel and each shown group, side by side."""
    groups = ["all", *shown_groups(data, round_number)]
    items = data.items[(data.items["round"] == round_number) & data.items["item"].isin(keys)]
    if items.empty:
        return _empty("No results for this round.", fmt)
    frames = {g: items[items["group"] == g].set_index("item") for g in groups}
    return _grid(
        frames,
        keys,
        f"Round {round_number}: % of valid ratings in each band, overall and by group",
        data,
        fmt,
    )


def figure_chunks(data: ReportData, round_number: int, size: int = 60) -> list[list[str]]:
    """The round's item keys cut into figures of at most ``size`` items along domain lines.

    Whole domains are packed together in their order; a domain larger than ``size`` is split.
    """
    items = data.items[(data.items["round"] == round_number) & (data.items["group"] == "all")]
    chunks: list[list[str]] = []
    current: list[str] = []
    for _, rows in items.groupby("domain", sort=False):
        keys = rows["item"].astype(str).tolist()
        for start in range(0, len(keys), size):
            part = keys[start : start + size]
            if current and len(current) + len(part) > size:
                chunks.append(current)
                current = []
            current = current + part
    if current:
        chunks.append(current)
    return chunks


def heatmap_table(data: ReportData, round_number: int) -> pd.DataFrame:
    """% in the top band, item x group (+ whole panel); small groups left out."""
    items = data.items[data.items["round"] == round_number]
    groups = ["all", *shown_groups(data, round_number)]
    sub = items[items["group"].isin(groups)]
    table = sub.pivot_table(index="item", columns="group", values="pct_high", sort=False)
    return table.reindex(columns=groups)


def _heat_raster(values: np.ndarray, width: int, height: int) -> np.ndarray:
    """The heat map's cells as an 8-bit grey image, each cell's value printed in it.

    Drawn with Pillow: a matplotlib text artist per cell (2,100 per round at 300 items) took
    seconds to lay out; Pillow stamps the same DejaVu Sans glyphs in milliseconds.
    """
    n, g = values.shape
    cmap = plt.get_cmap("Greys")
    levels = np.array(cmap(np.linspace(0, 1, 101))[:, :3] @ [0.299, 0.587, 0.114] * 255)
    index = np.clip(np.nan_to_num(values, nan=0).round().astype(int), 0, 100)
    cells = np.where(np.isnan(values), 255, levels[index]).astype(np.uint8)
    rows = np.minimum(((np.arange(height) + 0.5) * n / height).astype(int), n - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * g / width).astype(int), g - 1)
    image = Image.fromarray(cells[rows][:, cols], mode="L")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), round(6 * DPI / 72))
    for (i, j), v in np.ndenumerate(values):
        if not np.isnan(v):
            xy = ((j + 0.5) * width / g, (i + 0.5) * height / n)
            draw.text(xy, f"{v:.0f}", fill=255 if v > 55 else 0, font=font, anchor="mm")
    return np.asarray(image)


def heatmap(data: ReportData, round_number: int, fmt: str = "png", keys=None) -> bytes:
    table = heatmap_table(data, round_number)
    if keys is not None:
        table = table.reindex(keys)
    if table.empty:
        return _empty("No results for this round.", fmt)
    values = table.to_numpy(dtype=float)
    labels = [data.group_label(c) for c in table.columns]
    left_in = _label_width(table.index, 6)
    bottom_in = 0.2 + _label_width(labels, 8) * 0.55  # the group labels are turned 30 degrees
    fig_w = left_in + 0.9 * table.shape[1] + 0.3
    fig_h = 0.45 + bottom_in + 0.17 * table.shape[0]
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    fig.subplots_adjust(left=left_in / fig_w, right=1 - 0.3 / fig_w, bottom=bottom_in / fig_h,
                        top=1 - 0.45 / fig_h)  # fmt: skip
    if fmt == "png":
        width, height = _axes_pixels(fig, ax)
        ax.imshow(_heat_raster(values, width, height), cmap="gray", vmin=0, vmax=255,
                  aspect="auto", interpolation="none",
                  extent=(-0.5, table.shape[1] - 0.5, table.shape[0] - 0.5, -0.5))  # fmt: skip
    else:  # vector output keeps real text
        ax.imshow(values, cmap="Greys", vmin=0, vmax=100, aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            if not np.isnan(v):
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if v > 55 else "black")  # fmt: skip
    ax.set_xticks(range(table.shape[1]))
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_yticks(range(table.shape[0]))
    ax.set_yticklabels(table.index, fontsize=6)
    ax.set_title(f"Round {round_number}: % rating in the top band, by group")
    return _save(fig, fmt, tight=False)


def round_panel(data: ReportData, round_number: int, keys: list[str], fmt: str = "png") -> bytes:
    """The PDF's per-round figure for a chunk of items: for each item (a row), stacked band bars
    for the whole panel and each shown group, then the heat map of % in the top band by group.

    One axes holding one raster (bars and cells drawn with numpy and Pillow): the per-figure
    cost of matplotlib is its axes, ticks and text, so a round of 300 items costs five of
    these rather than ten figures of six axes each.
    """
    groups = ["all", *shown_groups(data, round_number)]
    items = data.items[(data.items["round"] == round_number) & data.items["item"].isin(keys)]
    if items.empty or fmt != "png":
        return band_grid(data, round_number, keys, fmt)
    n, g = len(keys), len(groups)
    labels = [data.group_label(c) for c in groups]
    left_in, bar_in, gap_in, heat_in = _label_width(keys, 6), 1.0, 0.2, 0.34
    body_in = g * bar_in + g * gap_in + g * heat_in
    head_in = max(0.35, _label_width([t for lb in labels for t in textwrap.wrap(lb, 16)], 6))
    top_in, bottom_in, row_in = 0.4 + head_in, 0.3, 0.16
    fig_w, fig_h = left_in + body_in + 0.15, top_in + bottom_in + row_in * n
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=DPI)
    ax = fig.add_axes((left_in / fig_w, bottom_in / fig_h, body_in / fig_w, row_in * n / fig_h))
    ax.patch.set_visible(False)  # the raster lies under the axes, pixel for pixel
    width, height = round(body_in * DPI), round(row_in * n * DPI)
    canvas = np.full((height, width), 255, dtype=np.uint8)
    xticks, xlabels = [], []
    for j, (code, label) in enumerate(zip(groups, labels, strict=True)):
        x0 = round(j * (bar_in + gap_in) * DPI)
        x1 = x0 + round(bar_in * DPI)
        rows = items[items["group"] == code].set_index("item").reindex(keys)
        canvas[:, x0:x1] = _bars_raster(
            rows[[c for c, _ in BANDS]].to_numpy(dtype=float), x1 - x0, height
        )
        xticks += [x0, (x0 + x1) / 2, x1]
        xlabels += ["0", "50", "100"]
        ax.text((x0 + x1) / 2, -4, textwrap.fill(label, 16), ha="center", va="bottom",
                fontsize=6.5)  # fmt: skip
    h0 = round(g * (bar_in + gap_in) * DPI)
    heat = (
        items[items["group"].isin(groups)]
        .pivot_table(index="item", columns="group", values="pct_high", sort=False)
        .reindex(index=keys, columns=groups)
    )
    canvas[:, h0:width] = _heat_raster(heat.to_numpy(dtype=float), width - h0, height)
    cell = (width - h0) / g
    for j, label in enumerate(labels):
        ax.text(h0 + (j + 0.5) * cell, -4, textwrap.fill(label, 16), rotation=90, ha="center",
                va="bottom", fontsize=6)  # fmt: skip
    ax.text((h0 + width) / 2, height + 4, "% in the top band", ha="center", va="top",
            fontsize=6.5)  # fmt: skip
    # figimage copies the pixels as they are; imshow would resample the whole raster.
    fig.figimage(canvas, xo=round(left_in * DPI), yo=round(bottom_in * DPI), cmap="gray",
                 vmin=0, vmax=255, origin="upper")  # fmt: skip
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_xticks(xticks)
    ax.set_xticklabels(xlabels)
    ax.set_yticks((np.arange(n) + 0.5) * height / n)
    ax.set_yticklabels(keys)
    ax.tick_params(axis="both", labelsize=6, length=2)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    _band_legend(fig, 1 - 0.2 / fig_h)
    fig.suptitle(
        f"Round {round_number}: % of valid ratings in each band, and % in the top band, "
        "overall and by group", fontsize=8, y=1 - 0.03 / fig_h, va="top",
    )  # fmt: skip
    return _save(fig, fmt, tight=False)


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
