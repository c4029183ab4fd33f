"""The round results page, its CSV, the run status view, "run again" and "start next round"."""

import csv
import io

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from delphi.consensus import services
from delphi.models import ConsensusRun, ItemResult, Round
from tests import factories as f
from tests.delphi.consensus.test_engine import build_round


@pytest.fixture
def eager(monkeypatch):
    from delphi.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)


@pytest.fixture
def analysed_round(study):
    rnd = build_round(study)
    run = services.consensus_compute_now(round=rnd)
    assert run.status == ConsensusRun.Status.DONE, run.error
    rnd.refresh_from_db()
    return rnd


def url(name, rnd, **extra):
    return reverse(name, kwargs={"study": rnd.study.uuid, "round": rnd.uuid, **extra})


def test_researcher_sees_statistics_verdicts_sensitivity_and_concordance(
    researcher_client, analysed_round
):
    page = researcher_client.get(url("round_results", analysed_round))
    assert page.status_code == 200
    html = page.content.decode()
    first = analysed_round.items.order_by("order").first()
    assert first.statement.code in html
    assert "Consensus in" in html and "Consensus out" in html and "No consensus" in html
    assert "Sensitivity to the consensus definition" in html
    assert "Kendall" in html
    assert "Download item results (CSV)" in html
    assert "Start round 2" in html
    assert len(page.context["rows"]) == 6


def test_analyst_can_read_but_not_run_or_start(analyst_client, analysed_round):
    page = analyst_client.get(url("round_results", analysed_round))
    assert page.status_code == 200
    assert b"Start round 2" not in page.content and b"Recompute" not in page.content
    assert analyst_client.get(url("round_results_csv", analysed_round)).status_code == 200
    assert analyst_client.post(url("consensus_run_again", analysed_round)).status_code == 403
    assert analyst_client.post(url("round_start_next", analysed_round)).status_code == 403
    assert not Round.objects.filter(study=analysed_round.study, number=2).exists()


def test_outsider_gets_404_everywhere(outsider_client, analysed_round):
    run = analysed_round.consensus_runs.first()
    for name, extra, method in [
        ("round_results", {}, "get"),
        ("round_results_csv", {}, "get"),
        ("consensus_run_status", {"run": run.uuid}, "get"),
        ("consensus_run_again", {}, "post"),
        ("round_start_next", {}, "post"),
    ]:
        response = getattr(outsider_client, method)(url(name, analysed_round, **extra))
        assert response.status_code == 404, name


def test_a_round_of_another_study_is_not_found(researcher_client, researcher, analysed_round):
    other = f.make_study(title="Another study", researcher=researcher)
    wrong = reverse("round_results", kwargs={"study": other.uuid, "round": analysed_round.uuid})
    assert researcher_client.get(wrong).status_code == 404


def test_signed_out_visitor_is_sent_to_sign_in(client, analysed_round):
    response = client.get(url("round_results", analysed_round))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_group_selector_shows_that_groups_rows(researcher_client, analysed_round):
    page = researcher_client.get(url("round_results", analysed_round) + "?group=law")
    assert page.context["group"] == "law"
    assert {row["result"].group_key for row in page.context["rows"]} == {"law"}
    assert all(row["result"].n + row["result"].n_unable == 4 for row in page.context["rows"])
    unknown = researcher_client.get(url("round_results", analysed_round) + "?group=nope")
    assert unknown.context["group"] == "all"


@pytest.mark.parametrize("sort", ["median", "-median", "pct_high", "-pct_change", "code"])
def test_sorting_is_done_on_the_server(researcher_client, analysed_round, sort):
    page = researcher_client.get(url("round_results", analysed_round) + f"?sort={sort}")
    field = sort.removeprefix("-")
    values = [
        (r["result"].item.statement.code if field == "code" else getattr(r["result"], field))
        for r in page.context["rows"]
    ]
    present = [v for v in values if v is not None]
    expected = sorted(present, reverse=sort.startswith("-"))
    assert present == expected
    # Undefined values sort last either way.
    assert values[: len(present)] == present


def test_query_count_does_not_grow_with_items(client, researcher, django_assert_num_queries):
    client.force_login(researcher)
    rounds = []
    for items in (3, 15):
        study = f.make_study(title=f"Study with {items}", researcher=researcher)
        rnd = build_round(study, items=items, per_group=2)
        services.consensus_compute_now(round=rnd)
        rounds.append(rnd)
    small_url, big_url = (url("round_results", r) for r in rounds)
    client.get(small_url)  # the session's first touch is not counted
    with CaptureQueriesContext(connection) as small:
        page = client.get(small_url)
    assert len(page.context["rows"]) == 3
    with django_assert_num_queries(len(small.captured_queries)):
        page = client.get(big_url)
    assert len(page.context["rows"]) == 15
    # 15 for the page (its domains, the page's count and the table's shape among them), 4 for
    # the stopping rule shown beside "Start next round" (its latest ranking round among them),
    # 2 for the tables beside the figures (templates/delphi/results/figures.html).
    assert len(small.captured_queries) <= 21


def test_csv_has_one_row_per_item_and_group_and_defuses_formulas(
    researcher_client, study, analysed_round
):
    first = analysed_round.items.order_by("order").first()
    first.statement.text = "=HYPERLINK('http://example.org','click')"
    first.statement.save()
    response = researcher_client.get(url("round_results_csv", analysed_round))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == ItemResult.objects.filter(round=analysed_round).count() == 6 * 5
    assert {"round", "item", "group", "median", "pct_high", "verdict", "decision"} <= set(rows[0])
    assert rows[0]["statement"].startswith("'=")
    balanced = next(r for r in rows if r["group"] == "balanced")
    assert balanced["median"] == ""  # undefined on the balanced aggregate: empty, never 0
    assert {r["carried_forward"] for r in rows} <= {"true", "false"}


def test_csv_flags_a_round_closed_below_quorum_and_changed_inputs(
    researcher_client, analysed_round
):
    def flags():
        response = researcher_client.get(url("round_results_csv", analysed_round))
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        return {(r["below_quorum"], r["inputs_changed_since_analysis"]) for r in rows}

    assert flags() == {("false", "false")}
    from django.utils import timezone

    Round.objects.filter(pk=analysed_round.pk).update(
        below_quorum=True, inputs_changed_at=timezone.now()
    )
    assert flags() == {("true", "true")}


def test_status_view_reports_the_run_row(researcher_client, analysed_round):
    run = analysed_round.consensus_runs.first()
    data = researcher_client.get(url("consensus_run_status", analysed_round, run=run.uuid)).json()
    assert data["status"] == "done" and data["progress"] == 100 and data["finished"] is True


def test_a_running_run_shows_progress_and_polls(researcher_client, study):
    rnd = build_round(study)
    ConsensusRun.objects.create(
        round=rnd, status=ConsensusRun.Status.RUNNING, progress=40, stage="Computing statistics"
    )
    page = researcher_client.get(url("round_results", rnd))
    html = page.content.decode()
    assert "Computing statistics" in html
    assert 'value="40"' in html
    assert "js/run_status.js" in html
    assert "Refresh now" in html  # works without script too
    assert "Run again" not in html


def test_a_failed_run_shows_its_reason_and_can_run_again(
    researcher_client, study, eager, django_capture_on_commit_callbacks
):
    rnd = build_round(study)
    ConsensusRun.objects.create(
        round=rnd,
        status=ConsensusRun.Status.FAILED,
        error="Round 1 has no submitted ratings to analyse.",
        attempts=1,
    )
    html = researcher_client.get(url("round_results", rnd)).content.decode()
    assert "The computation failed." in html and "no submitted ratings" in html
    assert "Run again" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post(url("consensus_run_again", rnd))
    assert response.status_code == 302
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.ANALYSED
    assert rnd.consensus_runs.filter(status=ConsensusRun.Status.DONE).count() == 1


def test_start_next_round_creates_the_draft_and_goes_to_it(researcher_client, analysed_round):
    response = researcher_client.post(url("round_start_next", analysed_round))
    new = Round.objects.get(study=analysed_round.study, number=2)
    try:
        expected = reverse("round_detail", kwargs={"study": new.study.uuid, "round": new.uuid})
    except NoReverseMatch:
        expected = url("round_results", new)
    assert response.status_code == 302 and response["Location"] == expected
    assert new.status == Round.Status.DRAFT
    assert new.items.filter(carried_from__round=analysed_round).count() == new.items.count() > 0
    again = researcher_client.post(url("round_start_next", analysed_round), follow=True)
    assert "Round 2 already exists" in again.content.decode()
    assert Round.objects.filter(study=analysed_round.study).count() == 2


def test_start_next_round_refuses_before_analysis(researcher_client, study):
    rnd = build_round(study)
    response = researcher_client.post(url("round_start_next", rnd), follow=True)
    assert "has not been analysed yet" in response.content.decode()
    assert not Round.objects.filter(study=study, number=2).exists()


# Filters, grouping, formats and scale ------------------------------------------------------


def _domains_round(study, *, per_domain=3):
    """Two domains (the second listed first by order), each with `per_domain` statements."""
    later = f.make_domain(study, code="ZZ", name="Working with families", order=2)
    first = f.make_domain(study, code="AA", name="Safety and risk", order=1)
    statements = [
        f.make_statement(study, domain=d, text=f"{d.name} statement {i}")
        for d in (later, first)
        for i in range(per_domain)
    ]
    rnd = build_round(study, statements=statements)
    assert services.consensus_compute_now(round=rnd).status == ConsensusRun.Status.DONE
    return rnd


def test_statements_are_grouped_by_domain_in_item_order(researcher_client, study):
    rnd = _domains_round(study)
    page = researcher_client.get(url("round_results", rnd))
    codes = [r["result"].item.statement.domain.code for r in page.context["rows"]]
    assert codes == ["AA"] * 3 + ["ZZ"] * 3  # by domain order, then item order
    html = page.content.decode()
    assert html.index("Safety and risk") < html.index("Working with families")
    assert 'scope="rowgroup"' in html
    # Sorted on a column, items are ranked across domains, without domain rows.
    ranked = researcher_client.get(url("round_results", rnd) + "?sort=-pct_high")
    assert ranked.context["by_domain"] is False
    assert 'scope="rowgroup"' not in ranked.content.decode()


def test_filter_by_verdict_domain_and_search(researcher_client, study):
    from delphi.models import ItemDecision

    rnd = _domains_round(study)
    base = url("round_results", rnd)

    def keys(query):
        return {
            r["result"].item.statement.code
            for r in researcher_client.get(base + query).context["rows"]
        }

    in_codes = set(
        ItemDecision.objects.filter(round=rnd, verdict="in").values_list(
            "item__statement__code", flat=True
        )
    )
    assert in_codes and keys("?verdict=in") == in_codes
    assert all(c.startswith("S") for c in keys("?domain=AA"))
    assert len(keys("?domain=AA")) == 3
    one = rnd.items.order_by("order").first().statement
    assert keys(f"?q={one.code}") >= {one.code}
    assert keys("?q=families+statement+1") == {
        s.code for s in study.framework.statements.filter(text__icontains="families statement 1")
    }
    assert keys("?q=nothing-like-this") == set()
    page = researcher_client.get(base + "?domain=AA&group=law&sort=-median")
    html = page.content.decode()
    # Sort links keep the filters; page links keep the filters and the sort.
    assert "?sort=median&amp;group=law&amp;domain=AA" in html
    assert page.context["query"] == "group=law&domain=AA&sort=-median"
    assert "No items match." in researcher_client.get(base + "?q=zzzz").content.decode()


def test_group_labels_p_values_and_one_format_per_column(researcher_client, analysed_round):
    from delphi.models import GroupConcordance

    GroupConcordance.objects.filter(round=analysed_round, group_key="law").update(p=0.00001)
    page = researcher_client.get(url("round_results", analysed_round))
    html = page.content.decode()
    labels = {c.group_key: c.label for c in page.context["concordance"]}
    assert labels["all"] == "Everyone" and labels["law"] == "Law"
    assert '<th scope="row">law</th>' not in html
    assert "0.0000" not in html and "&lt; 0.001" in html
    cells = [row["cell"] for row in page.context["rows"]]
    for name, places in (("median", 1), ("iqr", 2), ("mean", 2), ("pct_high", 1)):
        shown = [c[name] for c in cells if c[name] != "–"]
        assert shown and all(len(v.split(".")[1]) == places for v in shown), (name, shown)
    # At 360 px the priority columns stay; every statistic is in the row's details.
    assert html.count("<summary>All statistics") == len(cells)
    assert 'tabindex="0" role="region" aria-labelledby="items-heading"' in html


def test_results_pages_and_query_count_stay_flat_at_scale(
    client, researcher, django_assert_num_queries
):
    client.force_login(researcher)
    rounds = []
    for items in (3, 130):
        study = f.make_study(title=f"Scale {items}", researcher=researcher)
        rnd = build_round(study, items=items, per_group=2)
        services.consensus_compute_now(round=rnd)
        rounds.append(rnd)
    small_url, big_url = (url("round_results", r) for r in rounds)
    client.get(small_url)
    # Building the rounds filled Django's query log (9,000 entries) and each request resets
    # it: start the capture from an empty log.
    reset_queries()
    with CaptureQueriesContext(connection) as small:
        client.get(small_url + "?q=S&verdict=none")
    n = len(small.captured_queries)  # each request resets the log, so count it now
    assert n > 10
    with django_assert_num_queries(n):
        page = client.get(big_url + "?q=S&verdict=none")
    assert page.context["page"].paginator.num_pages >= 1
    first = client.get(big_url)
    assert len(first.context["rows"]) == 100
    assert "?page=2" in first.content.decode()
    with django_assert_num_queries(n):
        second = client.get(big_url + "?page=2&q=S&verdict=none")
    assert second.status_code == 200
    assert len(client.get(big_url + "?page=2").context["rows"]) == 30
