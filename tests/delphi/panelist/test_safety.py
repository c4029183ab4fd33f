"""Bad input and safety: A never reaches B; refused writes store nothing; double submits leave
one set of rows; the questionnaire page's query count does not grow with the items."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delphi.models import ItemResult, Rating, Response, RoundItem
from delphi.panelist.selectors import round_items
from tests import factories as f
from tests.delphi.panelist.conftest import make_link, open_round, sign_in


def autosave(client, rnd_uuid, **payload):
    return client.post(
        f"/p/r/{rnd_uuid}/autosave/", json.dumps(payload), content_type="application/json"
    )


@pytest.fixture
def panelist_b(other_study, other_round):
    b = f.make_panelist(other_study)
    response = Response.objects.create(round=other_round, panelist=b)
    item = round_items(round=other_round)[0]
    Rating.objects.create(response=response, item=item, value=2, comment="B's private comment")
    return b


def test_a_cannot_read_or_change_b(panelist_client, rnd, other_round, panelist_b):
    b_item = round_items(round=other_round)[0]
    for url in (
        f"/p/r/{other_round.uuid}/",
        f"/p/r/{other_round.uuid}/page/1/",
        f"/p/r/{other_round.uuid}/review/",
        f"/p/r/{other_round.uuid}/suggest/",
    ):
        assert panelist_client.get(url).status_code == 404, url
    assert (
        autosave(panelist_client, other_round.uuid, item=str(b_item.uuid), value="9").status_code
        == 404
    )
    # B's item through A's own round: not in the round.
    assert autosave(panelist_client, rnd.uuid, item=str(b_item.uuid), value="9").status_code == 404
    response = panelist_client.post(
        f"/p/r/{other_round.uuid}/page/1/", {"v0": "9", "panelist": panelist_b.pk}
    )
    assert response.status_code == 404
    rating = Rating.objects.get(item=b_item)
    assert (rating.value, rating.comment) == (2, "B's private comment")
    assert Rating.objects.count() == 1
    assert not Response.objects.filter(round=other_round).exclude(panelist=panelist_b).exists()


def test_a_form_field_naming_b_is_ignored(panelist_client, panelist, rnd, panelist_b):
    item = round_items(round=rnd)[0]
    response = panelist_client.post(
        f"/p/r/{rnd.uuid}/page/1/",
        {"v0": "7", "panelist": panelist_b.pk, "response": "1", "action": "save"},
    )
    assert response.status_code == 302
    assert Rating.objects.get(item=item).response.panelist == panelist
    assert not Response.objects.filter(panelist=panelist_b, round=rnd).exists()


@pytest.mark.parametrize("value", ["0", "10", "-1", "7.5", "abc", "", True, None, ["7"], {"v": 7}])
def test_autosave_refuses_bad_values_and_stores_nothing(panelist_client, rnd, value):
    item = round_items(round=rnd)[0]
    payload = {"item": str(item.uuid), "value": value}
    response = autosave(panelist_client, rnd.uuid, **payload)
    if value == "":
        # An empty value clears the rating: allowed, and stores an empty row at most.
        assert response.status_code == 200
        assert not Rating.objects.filter(value__isnull=False).exists()
        return
    assert response.status_code == 400
    assert response.json()["error"]
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"item": "not-a-uuid", "value": "5"}', b'{"value": "5"}'],
)
def test_autosave_refuses_tampered_bodies(panelist_client, rnd, body):
    response = panelist_client.post(
        f"/p/r/{rnd.uuid}/autosave/", body, content_type="application/json"
    )
    assert response.status_code in (400, 404)
    assert not Rating.objects.exists()


def test_page_post_with_a_value_off_the_scale_saves_nothing_and_keeps_the_typing(
    panelist_client, rnd
):
    first, second = round_items(round=rnd)[:2]
    response = panelist_client.post(
        f"/p/r/{rnd.uuid}/page/1/",
        {"v0": "5", "v1": "12", "c1": "my words"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose a number from 1 to 9" in body
    assert "my words" in body
    assert not Rating.objects.exists()


def test_page_post_naming_an_item_not_on_the_page_saves_nothing(panelist_client, rnd):
    # Page 1 holds three statements (v0-v2); v3 names none of them.
    response = panelist_client.post(f"/p/r/{rnd.uuid}/page/1/", {"v0": "5", "v3": "5"})
    assert response.status_code == 400
    assert "not on this page" in response.content.decode()
    assert not Rating.objects.exists()


def test_replayed_post_after_the_link_is_revoked_is_refused(panelist_client, panelist, rnd, study):
    from delphi.services.invitations import invitation_revoke

    item = round_items(round=rnd)[0]
    assert autosave(panelist_client, rnd.uuid, item=str(item.uuid), value="5").status_code == 200
    invitation_revoke(panelist=panelist, by=None, study=study)
    assert autosave(panelist_client, rnd.uuid, item=str(item.uuid), value="9").status_code == 403
    assert Rating.objects.get().value == 5


def test_autosave_needs_the_csrf_header(panelist, rnd):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, panelist)
    item = round_items(round=rnd)[0]
    assert autosave(client, rnd.uuid, item=str(item.uuid), value="5").status_code == 403
    assert not Rating.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_double_submit_at_once_leaves_one_set_of_rows(study, panelist):
    if connection.vendor == "sqlite":
        # The in-memory shared-cache test database refuses concurrent writers outright
        # ("table is locked") instead of waiting; CI's PostgreSQL run exercises this.
        pytest.skip("concurrent writers need PostgreSQL (DATABASE_URL)")
    rnd = open_round(study, n_items=4, n_domains=1)
    clients = [sign_in(Client(), panelist) for _ in range(4)]
    page = round_items(round=rnd)
    data = {f"v{i}": "7" for i in range(len(page))} | {"action": "review"}
    barrier = threading.Barrier(len(clients))
    codes = []

    errors = []

    def post(client):
        try:
            barrier.wait()
            codes.append(client.post(f"/p/r/{rnd.uuid}/page/1/", data).status_code)
            codes.append(client.post(f"/p/r/{rnd.uuid}/review/", {}).status_code)
        except Exception as exc:  # reported below; a thread's exception would be lost
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(codes) == {302}
    assert Response.objects.filter(panelist=panelist, round=rnd).count() == 1
    assert Rating.objects.filter(response__panelist=panelist).count() == len(page)
    assert Response.objects.get(panelist=panelist).status == Response.Status.SUBMITTED


def test_the_same_page_posted_twice_leaves_one_set_of_rows(panelist_client, panelist, rnd):
    page = [i for i in round_items(round=rnd) if i.statement.domain.order == 0]
    data = {f"v{i}": "7" for i in range(len(page))} | {"action": "review"}
    for _ in range(2):
        assert panelist_client.post(f"/p/r/{rnd.uuid}/page/1/", data).status_code == 302
        panelist_client.post(f"/p/r/{rnd.uuid}/review/", {"confirm_incomplete": "1"})
    assert Response.objects.filter(panelist=panelist).count() == 1
    assert Rating.objects.count() == len(page)


def _questionnaire_queries(client, study, panelist, n_items):
    rnd1 = open_round(
        study, n_items=n_items, n_domains=3, status="analysed", closed_at=timezone.now()
    )
    rnd2 = f.make_round(study, number=2, status="open", opened_at=timezone.now())
    for old in round_items(round=rnd1):
        RoundItem.objects.create(
            round=rnd2, statement=old.statement, order=old.order, carried_from=old
        )
        ItemResult.objects.create(
            round=rnd1, item=old, group_key="all", n=5, median=7, q1=6, q3=8, iqr=2,
            histogram={"7": 3, "8": 2},
        )  # fmt: skip
    f.rate(panelist, rnd1, {old: 7 for old in round_items(round=rnd1)})
    sign_in(client, panelist)
    client.get(f"/p/r/{rnd2.uuid}/page/1/")  # warm: session, response
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/p/r/{rnd2.uuid}/page/2/")
    assert response.status_code == 200
    assert "Last round" in response.content.decode()
    return len(ctx.captured_queries)


def test_questionnaire_page_queries_do_not_grow_with_items(client, researcher):
    small = f.make_study(title="Small", researcher=researcher)
    large = f.make_study(title="Large", researcher=researcher)
    q10 = _questionnaire_queries(client, small, f.make_panelist(small), 10)
    client.logout()
    q150 = _questionnaire_queries(Client(), large, f.make_panelist(large), 150)
    assert q10 == q150
    assert q150 <= 14


def test_link_of_one_study_opens_nothing_of_another(client, panelist, rnd, other_round):
    raw = make_link(panelist)
    client.get(f"/p/t/{raw}/")
    assert client.get(f"/p/r/{other_round.uuid}/page/1/").status_code in (302, 404)
