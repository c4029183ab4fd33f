"""A ranking round on the results page and in the round's CSV export."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from delphi.consensus import services
from delphi.models import RankingConcordance, Round
from tests.delphi.consensus.test_engine import build_round
from tests.delphi.consensus.test_ranking_engine import ranking_round


@pytest.fixture
def analysed(study):
    rnd = ranking_round(study)
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    assert services.consensus_compute_now(round=rnd).status == "done"
    rnd.refresh_from_db()
    return rnd


def url(name, rnd):
    return reverse(name, kwargs={"study": rnd.study.uuid, "round": rnd.uuid})


def test_results_page_shows_the_ranking(researcher_client, analysed, django_assert_max_num_queries):
    with django_assert_max_num_queries(30):
        page = researcher_client.get(url("round_results", analysed))
    html = page.content.decode()
    assert page.status_code == 200
    overall = RankingConcordance.objects.get(round=analysed, group_key="all")
    assert "Ranking results" in html
    assert f"Kendall's W = <strong>{overall.kendall_w:.3f}</strong>" in html
    assert "Ranking consensus rule (W ≥ 0.7)" in html
    for item in analysed.items.select_related("statement"):
        assert item.statement.code in html
    assert "Download ranking results (CSV)" in html
    # A ranking round offers no "start the next round with the carried items".
    assert "carried item(s)</button>" not in html


def test_csv_export_of_a_ranking_round(analyst_client, analysed):
    response = analyst_client.get(url("round_results_csv", analysed))
    assert response.status_code == 200
    assert "ranking-results" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0])[:7] == [
        "round", "item", "statement", "group", "n", "n_ranked", "mean_rank",
    ]  # fmt: skip
    n_items = analysed.items.count()
    assert len(rows) == n_items * 4  # all + three groups
    overall = RankingConcordance.objects.get(round=analysed, group_key="all")
    everyone = [r for r in rows if r["group"] == "all"]
    assert {float(r["kendall_w"]) for r in everyone} == {overall.kendall_w}
    assert {r["consensus_reached"] for r in rows} == {
        "true" if overall.consensus_reached else "false"
    }
    # Mean ranks over every item sum to n (n + 1) / 2 for complete rankings.
    assert sum(float(r["mean_rank"]) for r in everyone) == pytest.approx(
        n_items * (n_items + 1) / 2
    )


def test_outsider_gets_404(outsider_client, analysed):
    assert outsider_client.get(url("round_results", analysed)).status_code == 404
    assert outsider_client.get(url("round_results_csv", analysed)).status_code == 404


def test_next_rating_round_comes_after_the_ranking_round(study, researcher):
    r1 = build_round(study, items=4)
    services.consensus_compute_now(round=r1)
    statements = [i.statement for i in r1.items.order_by("order")]
    ranking_round(study, number=2, statements=statements)
    new = services.round_create_next(round=r1, by=researcher)
    assert new.number == 3 and new.kind == Round.Kind.RATING
    assert {i.carried_from.round_id for i in new.items.all()} <= {r1.pk}
    with pytest.raises(Exception, match="Round 3 already exists"):
        services.round_create_next(round=r1, by=researcher)


def test_ranking_results_name_groups_and_write_p_like_the_rest(researcher_client, analysed):
    RankingConcordance.objects.filter(round=analysed).update(p=0.00002)
    html = researcher_client.get(url("round_results", analysed)).content.decode()
    section = html.split('id="ranking-w-caption"')[1]
    assert '<th scope="row">Everyone</th>' in section and '<th scope="row">Law</th>' in section
    assert '<th scope="row">law</th>' not in section
    assert "&lt; 0.001" in html and "0.0001" not in html
