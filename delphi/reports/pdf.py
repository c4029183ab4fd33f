"""The PDF report: WeasyPrint renders templates/delphi/report/pdf.html; figures are matplotlib SVG.

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

# Band bars are split so one figure never outgrows a page.
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
    out = []
    items = data.items[(data.items["round"] == n) & (data.items["group"] == "all")]
    keys = items["item"].tolist()
    for start in range(0, len(keys), ITEMS_PER_FIGURE):
        chunk = keys[start : start + ITEMS_PER_FIGURE]
        out.append(
            {
                "src": _img(figures.band_grid(data, n, chunk, FORMAT)),
                "alt": f"Round {n}: band distribution per item, overall and by group"
                + (f" (items {start + 1}-{start + len(chunk)})" if len(keys) > len(chunk) else ""),
            }
        )
    out.append({"src": _img(figures.heatmap(data, n, FORMAT)), "alt": f"Round {n}: heat map"})
    return out


def pdf_html(data: ReportData) -> str:
    lang = "es" if data.language == "es" else "en"
    parts = []
    for key, title in PARTS:
        if key == "text":
            continue  # the methods text opens the report
        sections = part_sections(data, key)
        figs = []
        if key == "flow":
            figs = [{"src": _img(figures.flow_figure(data, FORMAT)), "alt": "Participant flow"}]
        if key == "results" and data.analysed:
            figs = [{"src": _img(figures.verdict_counts(data, FORMAT)), "alt": "Verdicts by round"}]
            for n in sorted(int(x) for x in data.rounds.loc[data.rounds["analysed"], "number"]):
                figs += _round_figures(data, n)
        for s in sections:
            s["figures"] = []  # pages' PNG links are replaced by embedded SVG below
        parts.append(
            {
                "key": key,
                "title": TITLES_ES.get(key, title) if lang == "es" else title,
                "sections": sections,
                "figures": figs,
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
