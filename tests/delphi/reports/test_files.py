"""The workbook and the PDF read back; the command line and the web download give the same files."""

import io

import pytest
from django.core.management import call_command

from delphi.reports.data import report_data
from delphi.reports.workbook import SHEETS_AFTER_ROUNDS, SHEETS_BEFORE_ROUNDS, workbook_bytes
from tests.delphi.reports.conftest import FORMULA_COMMENT, SPACED_FORMULA


@pytest.fixture
def data(report_world):
    return report_data(study=report_world.study)


def test_the_workbook_reads_back_with_openpyxl(report_world, data):
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(workbook_bytes(data)))
    assert wb.sheetnames == [*SHEETS_BEFORE_ROUNDS, "Round 1", "Round 2", *SHEETS_AFTER_ROUNDS]
    r1 = wb["Round 1"]
    header = [c.value for c in r1[1]]
    assert header[:6] == ["Item", "Statement", "Domain", "Group", "n", "Unable"]
    assert r1.freeze_panes == "A2" and r1.auto_filter.ref
    groups = {row[3] for row in r1.iter_rows(min_row=2, values_only=True)}
    assert {"Whole panel", "Balanced", "Law", "Peer workers"} <= groups
    peer = [row for row in r1.iter_rows(min_row=2, values_only=True) if row[3] == "Peer workers"]
    assert peer and all(row[4] == "< 3" for row in peer)
    law = next(row for row in r1.iter_rows(min_row=2, values_only=True) if row[3] == "Law")
    assert isinstance(law[4], int) and isinstance(law[6], float | int)
    comments = wb["Comments"]
    cells = [c for row in comments.iter_rows(min_row=2) for c in row if c.column == 7]
    texts = {c.value for c in cells}
    assert FORMULA_COMMENT in texts and SPACED_FORMULA in texts
    formula = next(c for c in cells if c.value == FORMULA_COMMENT)
    assert formula.data_type == "s"  # text, not a formula
    assert wb["Ledger"]["A1"].value == "lineage"
    assert "Generated at" in wb["README"]["A2"].value


def _zip_tables(content: bytes) -> dict:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        # datapackage.json carries the generation stamp; every table must be identical.
        return {n: zf.read(n) for n in zf.namelist() if n.endswith(".csv")}


def _sheet_values(content: bytes) -> dict:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(content))
    return {
        ws.title: [row for row in ws.iter_rows(values_only=True)]
        for ws in wb.worksheets
        if ws.title != "README"
    }


def _pdf_text(content: bytes) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return [line for line in text.splitlines() if "Generated at" not in line and "UTC" not in line]


@pytest.mark.usefixtures("eager")
def test_the_pdf_holds_every_section_and_the_cli_matches_the_web_download(
    report_world, tmp_path, client, analyst, django_capture_on_commit_callbacks
):
    """One PDF per route (the CLI and the web download); WeasyPrint is the slowest thing here."""
    from django.urls import reverse

    from delphi.models import ReportExport

    study = report_world.study
    call_command("report", str(study.uuid), "--out", str(tmp_path), stdout=io.StringIO())
    pdf = (tmp_path / "report.pdf").read_bytes()
    lines = _pdf_text(pdf)
    text = "\n".join(lines)
    assert text.count("Page ") > 5
    for heading in (
        "Contents", "Methods and results", "Protocol", "Participant flow", "Panel characteristics",
        "Results by round", "Item ledger", "Final list", "Sensitivity", "Stability and concordance",
        "Qualitative material", "ACCORD checklist", "Deviations", "We ran an online Delphi study",
    ):  # fmt: skip
        assert heading in text, heading
    for p in report_world.panelists:
        assert p.contact.email not in text

    client.force_login(analyst)
    web = {}
    for kind in ("zip", "xlsx", "pdf"):
        url = reverse("study_report_generate", kwargs={"study": study.uuid, "kind": kind})
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, {"language": "en", "comments": "include"})
        assert response.status_code == 302
        export = ReportExport.objects.get(study=study, kind=kind, language="en")
        assert export.status == "done", export.error
        assert export.stamp.startswith("Generated at") and "consensus run" in export.stamp
        download = reverse(
            "study_report_download", kwargs={"study": study.uuid, "export": export.uuid}
        )
        response = client.get(download)
        assert response.status_code == 200
        web[kind] = response.content
    assert _zip_tables(web["zip"]) == _zip_tables((tmp_path / "data.zip").read_bytes())
    assert _sheet_values(web["xlsx"]) == _sheet_values((tmp_path / "workbook.xlsx").read_bytes())
    assert _pdf_text(web["pdf"]) == lines

    # Unchanged inputs: asking again serves the cached file without generating it anew.
    export = ReportExport.objects.get(study=study, kind="zip", language="en")
    url = reverse("study_report_generate", kwargs={"study": study.uuid, "kind": "zip"})
    client.post(url, {"language": "en", "comments": "include"})
    again = ReportExport.objects.get(pk=export.pk)
    assert again.generated_at == export.generated_at


from tests.delphi.consensus.test_engine import eager  # noqa: E402, F401 (fixture)
