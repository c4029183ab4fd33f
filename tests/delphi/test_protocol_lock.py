"""The protocol lock: opening round 1 freezes the protocol; later changes need a reason."""

import pytest
from django.urls import reverse
from django.utils import timezone

from delphi.forms import ProtocolForm
from delphi.models import Deviation, Round, Study
from delphi.services.rounds import round_open
from tests import factories as f


def protocol_payload(study, **changes):
    data = {k: v for k, v in ProtocolForm.initial_for(study).items() if v is not None}
    data.update(changes)
    return data


@pytest.fixture
def locked_study(study, researcher):
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    round_open(round=rnd, by=researcher)
    study.refresh_from_db()
    assert study.is_locked
    return study


def test_before_the_lock_the_protocol_changes_freely(study, researcher_client):
    url = reverse("study_protocol", kwargs={"study": study.uuid})
    page = researcher_client.get(url)
    assert "reason" not in page.context["form"].fields
    response = researcher_client.post(
        url, protocol_payload(study, scale_max=5, bands="1-2, 3, 4-5", planned_rounds=2)
    )
    assert response.status_code == 302
    study.refresh_from_db()
    assert (study.scale_max, study.bands, study.planned_rounds) == (5, [[1, 2], [3, 3], [4, 5]], 2)
    assert not Deviation.objects.exists()


def test_opening_round_one_locks_the_protocol(study, researcher, researcher_client):
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    response = researcher_client.post(
        reverse("round_open", kwargs={"study": study.uuid, "round": rnd.uuid}), follow=True
    )
    assert "The protocol is now locked" in response.content.decode()
    study.refresh_from_db()
    rnd.refresh_from_db()
    assert study.protocol_locked_at is not None
    assert rnd.status == Round.Status.OPEN
    assert rnd.rule_snapshot["scale_max"] == 9


def test_locked_change_without_reason_is_refused_and_nothing_changes(
    locked_study, researcher_client
):
    url = reverse("study_protocol", kwargs={"study": locked_study.uuid})
    before = Study.objects.values().get(pk=locked_study.pk)
    payload = protocol_payload(
        locked_study, preset="percent", threshold=80, planned_rounds=4, reason=""
    )
    response = researcher_client.post(url, payload)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Write why you are changing it" in html
    assert "Nothing was saved" in html
    # What the user typed is still in the form.
    assert response.context["form"]["threshold"].value() in (80, "80")
    assert Study.objects.values().get(pk=locked_study.pk) == before
    assert not Deviation.objects.exists()


def test_locked_change_with_reason_records_one_deviation_per_field(
    locked_study, researcher, researcher_client
):
    url = reverse("study_protocol", kwargs={"study": locked_study.uuid})
    reason = "Ethics board asked for a stricter consensus threshold."
    response = researcher_client.post(
        url,
        protocol_payload(
            locked_study, preset="percent", threshold=80, planned_rounds=4, reason=reason
        ),
    )
    assert response.status_code == 302
    devs = list(Deviation.objects.filter(study=locked_study).order_by("field"))
    assert [d.field for d in devs] == ["consensus_definition", "planned_rounds"]
    assert devs[0].old_value == {"preset": "comet", "scope": "all"}
    assert devs[0].new_value == {"preset": "percent", "scope": "all", "threshold": 80}
    assert devs[1].old_value == 3 and devs[1].new_value == 4
    assert all(d.reason == reason and d.by == researcher for d in devs)
    locked_study.refresh_from_db()
    assert locked_study.planned_rounds == 4
    page = researcher_client.get(reverse("study_detail", kwargs={"study": locked_study.uuid}))
    html = page.content.decode()
    assert "Protocol deviations" in html
    assert reason in html and "planned_rounds" in html


def test_unchanged_locked_protocol_saves_without_reason(locked_study, researcher_client):
    url = reverse("study_protocol", kwargs={"study": locked_study.uuid})
    response = researcher_client.post(url, protocol_payload(locked_study, reason=""))
    assert response.status_code == 302
    assert not Deviation.objects.exists()


def test_consent_change_bumps_version_and_is_not_a_deviation(locked_study, researcher_client):
    url = reverse("study_edit", kwargs={"study": locked_study.uuid})
    response = researcher_client.post(
        url, {"title": locked_study.title, "consent_text": "New wording of the consent."}
    )
    assert response.status_code == 302
    locked_study.refresh_from_db()
    assert locked_study.consent_version == 2
    assert locked_study.consent_text == "New wording of the consent."
    assert not Deviation.objects.exists()


def test_invalid_protocol_is_refused_with_messages(study, researcher_client):
    url = reverse("study_protocol", kwargs={"study": study.uuid})
    response = researcher_client.post(url, protocol_payload(study, bands="1-3, 5-6, 7-9"))
    assert response.status_code == 200
    assert "without gaps or overlaps" in response.content.decode()
    response = researcher_client.post(
        url, protocol_payload(study, preset="custom", criteria_in="pct_high >>> 70")
    )
    assert response.status_code == 200
    assert "one criterion per line" in response.content.decode()
    study.refresh_from_db()
    assert study.bands == [[1, 3], [4, 6], [7, 9]]


def test_custom_definition_round_trips(study, researcher_client):
    url = reverse("study_protocol", kwargs={"study": study.uuid})
    response = researcher_client.post(
        url,
        protocol_payload(
            study,
            preset="custom",
            scope="every_group",
            criteria_in="pct_high >= 70\npct_low <= 15",
            criteria_out="pct_low >= 70",
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    study.refresh_from_db()
    assert study.consensus_definition == {
        "preset": "custom",
        "scope": "every_group",
        "in": [
            {"measure": "pct_high", "op": ">=", "value": 70},
            {"measure": "pct_low", "op": "<=", "value": 15},
        ],
        "out": [{"measure": "pct_low", "op": ">=", "value": 70}],
    }


def test_second_round_open_does_not_move_the_lock(locked_study, researcher):
    first_lock = locked_study.protocol_locked_at
    r1 = locked_study.rounds.get(number=1)
    Round.objects.filter(pk=r1.pk).update(status="closed", closed_at=timezone.now())
    r2 = f.make_round(locked_study, number=2, statements=[f.make_statement(locked_study)])
    round_open(round=r2, by=researcher)
    locked_study.refresh_from_db()
    assert locked_study.protocol_locked_at == first_lock


def test_saving_unchanged_multiline_text_is_not_a_change(locked_study, researcher_client):
    Study.objects.filter(pk=locked_study.pk).update(
        consent_text="First paragraph.\n\nSecond paragraph.\n",
        stopping_rule_detail="Stop after round 3,\nor earlier when all items are decided.",
    )
    locked_study.refresh_from_db()
    # Browsers send CRLF line breaks; the form strips trailing whitespace.
    response = researcher_client.post(
        reverse("study_edit", kwargs={"study": locked_study.uuid}),
        {"title": locked_study.title, "consent_text": "First paragraph.\r\n\r\nSecond paragraph."},
    )
    assert response.status_code == 302
    payload = protocol_payload(locked_study, reason="")
    payload["stopping_rule_detail"] = payload["stopping_rule_detail"].replace("\n", "\r\n")
    response = researcher_client.post(
        reverse("study_protocol", kwargs={"study": locked_study.uuid}), payload
    )
    assert response.status_code == 302
    locked_study.refresh_from_db()
    assert locked_study.consent_version == 1
    assert not Deviation.objects.exists()
