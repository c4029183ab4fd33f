"""The report's files by kind: one function per file, shared by the web download and the CLI."""

from __future__ import annotations

from collections.abc import Callable

from delphi.reports.data import ReportData
from delphi.reports.tidy import tidy_zip
from delphi.reports.workbook import workbook_bytes


def _pdf(data, progress=None):
    from delphi.reports.pdf import pdf_bytes  # WeasyPrint loads Pango: only when asked for

    return pdf_bytes(data, progress=progress)


# kind -> (file name, content type, writer(data, progress) -> bytes)
FILES: dict[str, tuple[str, str, Callable[..., bytes]]] = {
    "zip": ("data.zip", "application/zip", tidy_zip),
    "xlsx": (
        "workbook.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        workbook_bytes,
    ),
    "pdf": ("report.pdf", "application/pdf", _pdf),
}


def render_file(kind: str, data: ReportData, progress=None) -> bytes:
    return FILES[kind][2](data, progress=progress)
