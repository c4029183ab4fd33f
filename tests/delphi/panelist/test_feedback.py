"""Round 2 feedback: own previous rating, distributions with median and IQR (small groups
hidden), verdict, other panelists' anonymous comments, and the band-crossing reason."""

import pytest
from django.utils import timezone

from delphi.models import ItemDecision, ItemResult, RoundItem
from delphi.panelist.selectors import round_items
from tests import factories as f
from tests.delphi.panelist.conftest import open_round, sign_in


@pytest.fixture
def two_rounds(study, panelist):
    rnd1 = open_round(study, n_items=2, n_domains=1, status="analysed", closed_at=timezone.now())
    first, second = round_items(round=rnd1)
    law, clinical = study.panel.groups.all()[:2]
    others = [f.make_panelist(study, group=law) for _ in range(3)] + [
        f.make_panelist(study, group=clinical)
    ]
    f.rate(panelist, rnd1, {first: 8, second: None})
    for i, other in enumerate(others):
        response = f.rate(other, rnd1, {first: 5 + i})
        if i == 0:
            response.ratings.filter(item=first).update(comment="Needs training first")
    response = f.rate(panelist, rnd1, {}, submitted=True)
    response.ratings.filter(item=first).update(comment="My own words")
    study.min_group_size = 3
    study.save()
    ItemResult.objects.create(
        round=rnd1, item=first, group_key="all", n=5, median=7, q1=6, q3=8, iqr=2,
        histogram={"5": 1, "6": 1, "7": 1, "8": 2},
    )  # fmt: skip
    ItemResult.objects.create(
        round=rnd1, item=first, group_key=law.code, group=law, n=4, median=6.5, q1=5.75,
        q3=7.25, iqr=1.5, histogram={"5": 1, "6": 1, "7": 1, "8": 1},
    )  # fmt: skip
    ItemResult.objects.create(
        round=rnd1, item=first, group_key=clinical.code, group=clinical, n=1, median=8,
        q1=8, q3=8, iqr=0, histogram={"8": 1},
    )  # fmt: skip
    ItemDecision.objects.create(round=rnd1, item=first, verdict="none", carried_forward=True)
    rnd2 = f.make_round(study, number=2, status="open", opened_at=timezone.now())
    RoundItem.objects.create(round=rnd2, statement=first.statement, carried_from=first)
    return rnd1, rnd2, law, clinical


def test_round_two_shows_feedback(client, panelist, two_rounds):
    rnd1, rnd2, law, clinical = two_rounds
    sign_in(client, panelist)
    body = client.get(f"/p/r/{rnd2.uuid}/page/1/").content.decode()
    assert 'You rated it <strong class="mine-badge">8</strong>' in body
    assert "No consensus yet" in body
    # The whole panel in plain whole numbers: share in the top band (2 of 5 rated 7-9), the
    # median as it is, the middle half rounded outward.
    assert (
        "<strong>All panelists (5)</strong>: 60% rated 7–9; median 7; the middle half rated "
        "between 6 and 8." in body
    )
    # The groups are one tap away, with the exact values (law's quartiles 5.75 and 7.25).
    assert "By stakeholder group (1 group) and exact values" in body
    assert (
        f'<th scope="row">{law.name}</th><td>4</td><td>50%</td><td>6.5</td><td>5.75–7.25</td>'
        in body
    )
    assert clinical.name not in body.split("fb-groups", 1)[1]  # 1 < 3: hidden on its own
    assert "Needs training first" in body
    assert "My own words" not in body  # others' comments only
    # Each comment says which language it was written in.
    assert (
        '<li lang="en"><span class="lang-tag"><span aria-hidden="true">EN</span>'
        '<span class="visually-hidden">Written in English:</span></span> Needs training first'
    ) in body
    # The accessible table carries the numbers, and marks the panelist's own rating.
    assert '<th scope="row">8 (your rating)</th><td>2</td><td>40%</td>' in body
    # The reason field is there for a band change; the script reveals it when one happens.
    assert 'data-prev-band="2"' in body
    item = rnd2.items.get()
    assert f'data-item="{item.uuid}"' in body and 'name="r0"' in body


def test_no_identity_in_feedback(client, panelist, two_rounds, study):
    rnd1, rnd2, *_ = two_rounds
    sign_in(client, panelist)
    body = client.get(f"/p/r/{rnd2.uuid}/page/1/").content.decode()
    for other in study.panel.panelists.exclude(pk=panelist.pk):
        assert other.public_id not in body
        assert other.contact.email not in body


def test_change_reason_is_saved(client, panelist, two_rounds):
    import json

    _, rnd2, *_ = two_rounds
    item = rnd2.items.get()
    sign_in(client, panelist)
    for payload in ({"value": "4"}, {"change_reason": "Heard the peers' argument"}):
        response = client.post(
            f"/p/r/{rnd2.uuid}/autosave/",
            json.dumps({"item": str(item.uuid), **payload}),
            content_type="application/json",
        )
        assert response.status_code == 200
    rating = item.ratings.get()
    assert (rating.value, rating.change_reason) == (4, "Heard the peers' argument")


def test_feedback_waits_for_results(client, panelist, two_rounds):
    rnd1, rnd2, *_ = two_rounds
    ItemResult.objects.all().delete()
    sign_in(client, panelist)
    body = client.get(f"/p/r/{rnd2.uuid}/page/1/").content.decode()
    assert "The results of the last round are not ready yet." in body
