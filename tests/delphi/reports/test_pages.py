"""Report pages: every part for analysts, outsiders 404, figures, filters, reporting fields."""

import pytest
from django.urls import reverse

from delphi.models import AuditEvent
from delphi.reports.parts import PARTS
from tests import factories as f
from tests.delphi.reports.conftest import FORMULA_COMMENT


def part_url(study, part):
    return reverse("study_report_part", kwargs={"study": study.uuid, "part": part})


EXPECT = {
    "protocol": ["Consensus definition", "Deviations", "Rounds"],
    "flow": ["Participant flow per round", "Response rate"],
    "panel": ["Years of experience", "Peer workers"],
    "results": ["Verdicts by round", "Round 2: % in the top band"],
    "ledger": ["Every item across rounds", "Panelists found it too long."],
    "final": ["Final list", "Items by domain"],
    "sensitivity": ["every preset x scope", "threshold sweep", "(chosen)"],
    "stability": ["Kendall", "Items stable against the previous rating round"],
    "qualitative": ["Depends on the setting.", "Knows the local crisis lines."],
    "text": ["We ran an online Delphi study", "Realizamos un estudio Delphi"],
    "accord": ["ACCORD checklist map", "Conflicts of interest"],
}


@pytest.mark.parametrize("part", [p for p, _ in PARTS])
def test_an_analyst_reads_every_part(report_world, analyst_client, part):
    page = analyst_client.get(part_url(report_world.study, part))
    assert page.status_code == 200
    html = page.content.decode()
    for text in EXPECT[part]:
        assert text in html, (part, text)
    assert "Generated at" in html and "from consensus run" in html
    for p in report_world.panelists:
        assert p.contact.email not in html


def test_outsiders_get_404(report_world, outsider_client):
    for part, _ in PARTS:
        assert outsider_client.get(part_url(report_world.study, part)).status_code == 404
    figure = reverse(
        "study_report_figure", kwargs={"study": report_world.study.uuid, "name": "flow"}
    )
    assert outsider_client.get(figure).status_code == 404


def test_a_study_with_no_analysed_round_says_so_in_each_part(study, analyst_client):
    f.make_round(study, statements=[f.make_statement(study)])
    for part in ("results", "final", "sensitivity", "stability", "text"):
        html = analyst_client.get(part_url(study, part)).content.decode()
        assert "No round of this study has been analysed yet" in html, part
    assert analyst_client.get(part_url(study, "ledger")).status_code == 200


def test_figures_are_png(report_world, analyst_client):
    for name in ("flow", "verdicts", "heatmap", "bands"):
        url = reverse(
            "study_report_figure", kwargs={"study": report_world.study.uuid, "name": name}
        )
        response = analyst_client.get(url + "?round=1")
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert response.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_small_groups_read_less_than_k(report_world, analyst_client):
    html = analyst_client.get(part_url(report_world.study, "panel")).content.decode()
    assert "&lt; 3" in html
    flow = analyst_client.get(part_url(report_world.study, "flow")).content.decode()
    assert "Peer workers</td><td>&lt; 3" in flow.replace("\n", "")


def test_qualitative_filters_and_csv_export(report_world, analyst_client):
    study = report_world.study
    item = report_world.r1.items.order_by("order")[2].key
    html = analyst_client.get(
        part_url(study, "qualitative") + f"?item={item}&round=1"
    ).content.decode()
    assert "Depends on the setting." in html
    assert "@SUM" not in html  # the other comment is on another item
    url = reverse("study_report_comments_csv", kwargs={"study": study.uuid})
    body = analyst_client.get(url + f"?item={item}").content.decode()
    assert "'" + FORMULA_COMMENT.replace('"', '""') in body
    assert body.splitlines()[0] == "round,item,panelist,group,kind,text"


def test_researchers_fill_the_reporting_fields_and_the_map_shows_them(
    report_world, researcher_client, analyst
):
    from django.test import Client

    analyst_client = Client()
    analyst_client.force_login(analyst)
    study = report_world.study
    url = reverse("study_report_fields", kwargs={"study": study.uuid})
    response = researcher_client.post(
        url, {"ethics_approval": "IRB 2026-114, approved 3 March 2026.", "funding": "None."}
    )
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.ethics_approval == "IRB 2026-114, approved 3 March 2026."
    assert AuditEvent.objects.filter(study=study, verb="study_reporting_update").exists()
    html = analyst_client.get(part_url(study, "accord")).content.decode()
    assert "IRB 2026-114" in html and "Save reporting fields" not in html
    assert analyst_client.post(url, {"funding": "x"}).status_code == 403


def test_the_results_page_shows_the_figures_with_their_tables(report_world, analyst_client):
    rnd = report_world.r1
    url = reverse("round_results", kwargs={"study": report_world.study.uuid, "round": rnd.uuid})
    html = analyst_client.get(url).content.decode()
    assert "figures/heatmap.png?round=1" in html and "figures/verdicts.png" in html
    assert "The heat map as a table" in html and "Items by verdict and round" in html
    assert "Peer workers" in html.split("Not shown on their own")[1][:200]


def test_pages_reuse_the_read_until_the_data_change(report_world, analyst_client, monkeypatch):
    from delphi.models import Deviation
    from delphi.reports import data as report_data_module

    calls = []
    real = report_data_module.report_data

    def counted(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(report_data_module, "report_data", counted)
    study = report_world.study
    for part in ("protocol", "flow", "results"):
        assert analyst_client.get(part_url(study, part)).status_code == 200
    assert len(calls) <= 1  # one read (none if an earlier test left it cached)
    before = len(calls)
    Deviation.objects.create(
        study=study, field="planned_rounds", old_value="3", new_value="4", reason="A new round."
    )
    html = analyst_client.get(part_url(study, "protocol")).content.decode()
    assert len(calls) == before + 1 and "A new round." in html
