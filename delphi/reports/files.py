"""The report's files by kind: one function per file, shared by the web download and the CLI."""

from __future__ import annotations

from collections.abc import Callable

from delphi.reports.data import ReportData
from delphi.reports.tidy import tidy_zip

# kind -> (file name, content type, writer(data, progress) -> bytes)
FILES: dict[str, tuple[str, str, Callable[..., bytes]]] = {
    "zip": ("data.zip", "application/zip", tidy_zip),
}


def render_file(kind: str, data: ReportData, progress=None) -> bytes:
    return FILES[kind][2](data, progress=progress)
