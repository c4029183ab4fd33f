"""The demo study's report holds what the lifecycle and ranking rounds add: the messages sent
per round (with the reminder), the ranking round's W and ranks, and the rounds' flags."""

import io
import zipfile

import pandas as pd
import pytest
from pypdf import PdfReader

from delphi.demo.services import demo_load
from delphi.models import Round, Study
from delphi.reports.data import report_data, report_fingerprint
from delphi.reports.files import render_file
from delphi.reports.parts import part_sections


@pytest.fixture
def demo(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo_load()
    return Study.objects.get()


def test_the_zip_holds_communications_ranking_and_rounds(demo):
    data = report_data(study=demo)
    files = zipfile.ZipFile(io.BytesIO(render_file("zip", data)))
    comms = pd.read_csv(files.open("communications.csv"))
    reminders = comms[comms["kind"] == "reminder"].iloc[0]
    assert (reminders["round"], reminders["failed"]) == (4, 1)
    assert reminders["sent"] > 10 and reminders["submitted_after"] > 0
    ranking = pd.read_csv(files.open("ranking_concordance.csv"))
    whole = ranking[ranking["group"] == "all"].iloc[0]
    assert whole["round"] == 3 and 0 <= whole["kendall_w"] <= 1
    assert whole["consensus_threshold"] == pytest.approx(0.7)
    items = pd.read_csv(files.open("ranking_items.csv"))
    assert set(items["round"]) == {3} and items["mean_rank"].notna().all()
    rounds = pd.read_csv(files.open("rounds.csv"))
    assert list(rounds["kind"]) == ["generation", "rating", "ranking", "rating"]
    assert {"below_quorum", "inputs_changed"} <= set(rounds.columns)


def test_the_parts_and_the_pdf_show_them(demo):
    data = report_data(study=demo)
    flow = part_sections(data, "flow")
    comms = next(s for s in flow if s["id"] == "communications")
    assert comms["paragraphs"][0].endswith("submitted afterwards.")
    results = part_sections(data, "results")
    ranking = next(s for s in results if s["id"] == "ranking-3")
    assert "ranking consensus rule (W ≥ 0.70)" in ranking["paragraphs"][0]
    assert ranking["tables"][1]["rows"][0][0] == "1"
    text = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(render_file("pdf", data))).pages
    )
    assert "Communications and reminders" in text and "Round 3 (ranking)" in text


def test_a_round_closed_below_quorum_is_flagged_and_changes_the_fingerprint(demo):
    before = report_fingerprint(study=demo)
    Round.objects.filter(study=demo, number=2).update(below_quorum=True)
    assert report_fingerprint(study=demo) != before
    results = part_sections(report_data(study=demo), "results")
    round2 = next(s for s in results if s["id"] == "results-2")
    assert "closed below the protocol's quorum" in round2["paragraphs"][0]
