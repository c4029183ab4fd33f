"""Researcher pages run a fixed number of queries, however many items and panelists there are."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from competencies.models import Statement
from delphi.models import Rating, Response, Round, RoundItem
from delphi.participation import participation_flow
from panels.models import Contact, Panelist
from tests import factories as f


def grow(study, n):
    """n statements in 2 domains, n panelists over the groups, a round of n items with answers."""
    domains = [f.make_domain(study, code=f"D{i}", name=f"Domain {i}") for i in range(2)]
    statements = Statement.objects.bulk_create(
        Statement(
            framework=study.framework,
            domain=domains[i % 2],
            code=f"S{i}",
            text=f"Statement {i}",
            order=i,
        )
        for i in range(n)
    )
    f.make_scenario(study)
    groups = list(study.panel.groups.all())
    panelists = Panelist.objects.bulk_create(
        Panelist(panel=study.panel, group=groups[i % len(groups)]) for i in range(n)
    )
    Contact.objects.bulk_create(
        Contact(panelist=p, panel=study.panel, email=f"p{i}@example.org")
        for i, p in enumerate(panelists)
    )
    rnd = f.make_round(study)
    items = RoundItem.objects.bulk_create(
        RoundItem(round=rnd, statement=s, order=i) for i, s in enumerate(statements)
    )
    responses = Response.objects.bulk_create(Response(round=rnd, panelist=p) for p in panelists)
    Rating.objects.bulk_create(
        Rating(response=r, item=it, value=5) for r in responses[:5] for it in items
    )
    return rnd


PAGES = [
    "dashboard",
    "study_detail",
    "study_protocol",
    "panel_detail",
    "framework_detail",
    "round_detail",
    "round_items",
    "round_suggestions",
]


def _url(name, rnd):
    if name == "dashboard":
        return reverse("dashboard")
    if name.startswith("round"):
        return reverse(name, kwargs={"study": rnd.study.uuid, "round": rnd.uuid})
    return reverse(name, kwargs={"study": rnd.study.uuid})


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", PAGES)
def test_query_count_is_flat_in_items_and_panelists(
    name, researcher, researcher_client, django_assert_num_queries
):
    small = grow(f.make_study(title="Small", researcher=researcher), 10)
    big = grow(f.make_study(title="Big", researcher=researcher), 100)
    n_small = _count(researcher_client, _url(name, small))
    with django_assert_num_queries(n_small):
        researcher_client.get(_url(name, big))
    print(f"QUERIES {name}: {n_small}")
    assert n_small <= 16, f"{name} runs {n_small} queries"


def test_dashboard_is_flat_in_the_number_of_studies(researcher, researcher_client):
    for i in range(3):
        f.make_study(title=f"A{i}", researcher=researcher)
    n3 = _count(researcher_client, reverse("dashboard"))
    for i in range(30):
        f.make_study(title=f"B{i}", researcher=researcher)
    assert _count(researcher_client, reverse("dashboard")) == n3


def _opened(rnd):
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.OPEN, opened_at=timezone.now())
    return rnd


def test_participation_is_flat_and_counts_only_drafts_answers(
    researcher, researcher_client, django_assert_num_queries
):
    small = _opened(grow(f.make_study(title="Small", researcher=researcher), 10))
    big = _opened(grow(f.make_study(title="Big", researcher=researcher), 60))
    # A submitted response counts as started and submitted whatever it holds.
    unrated = Response.objects.filter(round=big, ratings__isnull=True).order_by("pk")[0]
    Response.objects.filter(pk=unrated.pk).update(
        status=Response.Status.SUBMITTED, submitted_at=timezone.now()
    )
    url = reverse("study_participation", kwargs={"study": small.study.uuid})
    n_small = _count(researcher_client, url)
    with django_assert_num_queries(n_small):
        researcher_client.get(reverse("study_participation", kwargs={"study": big.study.uuid}))
    everyone = next(r for r in participation_flow(study=big.study) if r["group"] == "all")
    assert (everyone["started"], everyone["submitted"]) == (6, 1)
