"""The PDF report: WeasyPrint renders templates/delphi/report/pdf.html; figures are matplotlib PNG.

Title page, table of contents with page numbers, methods text, then every part of the report in
the order the reporting guidelines expect, with per-round figures (band bars overall and by
group, the heat map of % in the top band, verdict counts) and the flow figure. Grey shades and
hatches keep the figures readable without colour.
"""

from __future__ import annotations

import base64

from django.template.loader import render_to_string

from delphi.reports import figures
from delphi.reports.data import ReportData
from delphi.reports.parts import PARTS, part_sections
from delphi.reports.text import methods_text

# Per-round figures hold at most this many items (whole domains packed together), so a figure
# never outgrows a page; a round with more items than this gives its heat-map numbers in the
# figure's cells and points to the workbook and items.csv for the table (see _long_round).
ITEMS_PER_FIGURE = 60
TITLES_ES = {
    "protocol": "Protocolo",
    "flow": "Flujo de participantes",
    "panel": "Características del panel",
    "results": "Resultados por ronda",
    "ledger": "Registro de ítems",
    "final": "Lista final",
    "sensitivity": "Sensibilidad",
    "stability": "Estabilidad y concordancia",
    "qualitative": "Material cualitativo",
    "text": "Texto de métodos y resultados",
    "accord": "Lista de verificación ACCORD",
}
WORDS = {
    "en": {"contents": "Contents", "report": "Delphi study report",
           "methods": "Methods and results", "page": "Page"},
    "es": {"contents": "Índice", "report": "Informe del estudio Delphi",
           "methods": "Métodos y resultados", "page": "Página"},
}  # fmt: skip


# PNG: WeasyPrint lays raster figures out several times faster than hatched SVG, and the files
# stay a fraction of the size.
FORMAT = "png"


def _img(content: bytes) -> str:
    kind = "image/png" if FORMAT == "png" else "image/svg+xml"
    return f"data:{kind};base64," + base64.b64encode(content).decode()


def _round_figures(data: ReportData, n: int) -> list[dict]:
    chunks = figures.figure_chunks(data, n, ITEMS_PER_FIGURE)
    many = len(chunks) > 1
    return [
        {
            "src": _img(figures.round_panel(data, n, chunk, FORMAT)),
            "alt": f"Round {n}: band distribution per item and % in the top band, overall and "
            f"by group" + (f" (items {chunk[0]} to {chunk[-1]})" if many else ""),
        }
        for chunk in chunks
    ]


def _long_round(section: dict, n: int) -> None:
    """A round past one figure's worth of items: its heat-map table would run to pages of rows
    that the heat map's cells already print, so the PDF points to where the table is."""
    section["tables"] = []
    section["paragraphs"].append(
        f"The heat map beside the bars prints each item's % in the top band by group in its "
        "cells. As a table, "
        f"with every other statistic by group, it is in the workbook (sheet 'Round {n}') and in "
        "data.zip (items.csv)."
    )


def pdf_html(data: ReportData) -> str:
    lang = "es" if data.language == "es" else "en"
    parts = []
    for key, title in PARTS:
        if key == "text":
            continue  # the methods text opens the report
        sections = part_sections(data, key)
        for s in sections:
            s["figures"] = []  # the pages link PNG views; the PDF embeds its own, below
        if key == "flow":
            sections[0]["figures"] = [
                {"src": _img(figures.flow_figure(data, FORMAT)), "alt": "Participant flow"}
            ]
        if key == "results" and data.analysed:
            by_id = {s["id"]: s for s in sections}
            by_id["verdicts-by-round"]["figures"] = [
                {"src": _img(figures.verdict_counts(data, FORMAT)), "alt": "Verdicts by round"}
            ]
            for n in sorted(int(x) for x in data.rounds.loc[data.rounds["analysed"], "number"]):
                section = by_id[f"results-{n}"]
                section["figures"] = _round_figures(data, n)
                if len(data.items[(data.items["round"] == n) & (data.items["group"] == "all")]) > (
                    ITEMS_PER_FIGURE
                ):
                    _long_round(section, n)
        parts.append(
            {
                "key": key,
                "title": TITLES_ES.get(key, title) if lang == "es" else title,
                "sections": sections,
            }
        )
    return render_to_string(
        "delphi/report/pdf.html",
        {
            "data": data,
            "study": data.study,
            "lang": lang,
            "words": WORDS[lang],
            "methods": methods_text(data, lang),
            "methods_other": methods_text(data, "en" if lang == "es" else "es"),
            "parts": parts,
        },
    )


def pdf_bytes(data: ReportData, progress=None) -> bytes:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    html = pdf_html(data)
    if progress:
        progress(40)
    pdf = HTML(string=html, base_url=None).write_pdf()
    if progress:
        progress(100)
    return pdf
