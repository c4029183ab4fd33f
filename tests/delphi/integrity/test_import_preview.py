"""A ratings import that would change answers given online: the page lists the panelists and
offers the overwrite tick-box, nothing is stored until it is ticked; then one `rating.import`
audit row per panelist holds the old and new values."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from delphi.models import AuditEvent, Rating, Response
from tests import factories as f

CODES = ("A1", "A2")


@pytest.fixture
def rnd(study):
    domain = f.make_domain(study, code="CD")
    return f.make_round(
        study, statements=[f.make_statement(study, domain=domain, code=c) for c in CODES]
    )


def _upload(client, study, rnd, content, **extra):
    url = reverse("round_import", kwargs={"study": study.uuid, "round": rnd.uuid})
    return client.post(
        url, {"file": SimpleUploadedFile("RATINGS.csv", content, "text/csv"), **extra}
    )


def _state():
    return (
        list(
            Rating.objects.order_by("pk").values_list("response_id", "item_id", "value", "unable")
        ),
        list(Response.objects.order_by("pk").values_list("pk", "status")),
        AuditEvent.objects.count(),
    )


def test_the_refusal_preview_lists_the_online_panelists_and_the_tick_box_imports(
    researcher_client, study, rnd
):
    law = study.panel.groups.get(code="law")
    a1, a2 = (rnd.items.get(statement__code=c) for c in CODES)
    rated = f.make_panelist(study, group=law)
    drafted = f.make_panelist(study, group=law)
    f.rate(rated, rnd, {a1: 3, a2: 4})
    Rating.objects.filter(response__panelist=rated).update(seq=1)  # given on the questionnaire
    Response.objects.create(round=rnd, panelist=drafted)  # a draft started online
    content = (
        "panelist,round,item,rating,group\n"
        f"{rated.public_id},1,A1,9,law\n{rated.public_id},1,A2,4,law\n"
        f"{drafted.public_id},1,A1,unable,law\n"
        "NEW-01,1,A1,5,law\nNEW-01,1,A2,6,law\n"
    ).encode()
    before = _state()
    page = _upload(researcher_client, study, rnd, content)
    assert page.status_code == 200
    html = page.content.decode()
    assert "RATINGS.csv would change the answers of 2 panelists who answered online." in html
    assert "Nothing was imported." in html
    assert 'id="import-online"' in html
    assert f"<code>{rated.public_id}</code></td><td>0</td><td>1</td><td>no</td>" in html
    assert f"<code>{drafted.public_id}</code></td><td>1</td><td>0</td><td>yes</td>" in html
    # The tick-box is on the page, unticked, with what it does.
    assert 'name="overwrite_online"' in html and "Overwrite answers panelists gave online" in html
    assert 'name="overwrite_online" checked' not in html
    assert _state() == before

    done = _upload(researcher_client, study, rnd, content, overwrite_online="on")
    assert done.status_code == 302
    assert Rating.objects.get(response__panelist=rated, item=a1).value == 9
    rows = {r.object_id: r for r in AuditEvent.objects.filter(study=study, verb="rating.import")}
    assert (rows[rated.public_id].old, rows[rated.public_id].new) == ({"A1": 3}, {"A1": 9})
    assert rows[rated.public_id].detail["online_answer"] is True
    assert (rows[drafted.public_id].old, rows[drafted.public_id].new) == (None, {"A1": "unable"})
    new_id = next(k for k in rows if k not in (rated.public_id, drafted.public_id))
    assert (rows[new_id].old, rows[new_id].new) == (None, {"A1": 5, "A2": 6})
    assert rows[new_id].detail["online_answer"] is False
    assert all(r.source == "import" and r.actor_label == "rita-researcher" for r in rows.values())
    summary = AuditEvent.objects.get(study=study, verb="ratings_import")
    assert summary.detail["online_overwritten"] == sorted([rated.public_id, drafted.public_id])
