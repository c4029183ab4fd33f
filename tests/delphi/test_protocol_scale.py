"""The protocol's scale: 2-11 points, one to five bands checked with messages naming the band,
labels on every point and band in English and Spanish, and the preview of the scale."""

import html

import pytest
from django.urls import reverse

from delphi.models import Deviation, Study
from delphi.services.rounds import round_open
from tests import factories as f
from tests.delphi.test_protocol_lock import protocol_payload


@pytest.fixture
def locked_study(study, researcher):
    round_open(round=f.make_round(study, statements=[f.make_statement(study)]), by=researcher)
    study.refresh_from_db()
    return study


def post(client, study, **changes):
    url = reverse("study_protocol", kwargs={"study": study.uuid})
    return client.post(url, protocol_payload(study, **changes))


def errors_of(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (
            "1-3, 5-6, 7-9",
            "The bands must follow on without gaps or overlaps: between band 1 (1-3) and "
            "band 2 (5-6), 4 would be in no band.",
        ),
        (
            "1-4, 4-6, 7-9",
            "The bands must follow on without gaps or overlaps: band 1 (1-4) and band 2 (4-6) "
            "overlap at 4.",
        ),
        ("1, 2, 3, 4, 5-6, 7-9", "Use at most 5 bands; you gave 6."),
        ("2-3, 4-6, 7-9", "Band 1 (2-3) starts at 2, but the scale starts at 1: 1 would be"),
        ("1-3, 4-6, 7-8", "Band 3 (7-8) ends at 8, but the scale ends at 9: 9 would be in no"),
        ("1-3, 4-6, 7-10", "Band 3 (7-10) lies outside the scale 1-9."),
        ("4-9, 1-3", "Band 2 (1-3) comes before band 1 (4-9)"),
        ("1-3, 6-4, 7-9", "Band 2 (6-4) runs backwards"),
        ("1-3, four-6", "Band 2 (“four-6”) is not a range"),
    ],
)
def test_bad_bands_are_refused_naming_the_band(study, researcher_client, bands, message):
    response = post(researcher_client, study, bands=bands)
    assert message in errors_of(response)
    study.refresh_from_db()
    assert study.bands == [[1, 3], [4, 6], [7, 9]]


def test_one_band_with_comet_is_refused_at_validation(study, researcher_client):
    response = post(researcher_client, study, bands="1-9", preset="comet")
    body = errors_of(response)
    assert "compares the top band with the bottom band, but this scale has a single band" in body
    assert response.context["form"].errors["preset"]  # shown next to the definition
    study.refresh_from_db()
    assert study.bands == [[1, 3], [4, 6], [7, 9]]


def test_one_band_with_a_median_rule_is_accepted(study, researcher_client):
    response = post(
        researcher_client, study, bands="1-9", band_label_1="Importance",
        preset="custom", criteria_in="median >= 7", criteria_out="median <= 3",
    )  # fmt: skip
    assert response.status_code == 302, response.context["form"].errors
    study.refresh_from_db()
    assert study.bands == [[1, 9]] and study.scale_anchors == {"1": "Importance"}


@pytest.mark.parametrize(("top", "message"), [(12, "has 12"), (21, "has 21")])
def test_more_than_eleven_points_is_refused(study, researcher_client, top, message):
    response = post(researcher_client, study, scale_max=top, bands=f"1-3, 4-6, 7-{top}")
    assert "A scale has 2 to 11 points" in errors_of(response) and message in errors_of(response)


def test_a_label_too_long_is_refused_naming_the_band(study, researcher_client):
    response = post(researcher_client, study, band_label_es_2="x" * 81, point_label_3="y" * 41)
    body = errors_of(response)
    assert "The label of band 2 is too long: keep it to 80 characters (it has 81)." in body
    assert "The label of point 3 is too long: keep it to 40 characters (it has 41)." in body


def test_five_point_scale_with_every_label_round_trips(study, researcher_client):
    labels = {
        "band_label_1": "Disagree", "band_label_es_1": "En desacuerdo",
        "band_label_2": "Neutral",
        "band_label_3": "Agree", "band_label_es_3": "De acuerdo",
        "point_label_1": "Strongly disagree", "point_label_es_1": "Muy en desacuerdo",
        "point_label_5": "Strongly agree", "point_label_es_5": "Muy de acuerdo",
        # Rows beyond the new scale (left from the 1-9 form) are dropped, not stored.
        "point_label_9": "Ninth", "band_label_es_4": "Cuarta",
    }  # fmt: skip
    response = post(researcher_client, study, scale_max=5, bands="1-2, 3, 4-5", **labels)
    assert response.status_code == 302, response.context["form"].errors
    study.refresh_from_db()
    assert study.bands == [[1, 2], [3, 3], [4, 5]]
    assert study.scale_anchors == {"1": "Disagree", "3": "Neutral", "4": "Agree"}
    assert study.scale_labels == {
        "bands_es": {"1": "En desacuerdo", "4": "De acuerdo"},
        "points": {"1": "Strongly disagree", "5": "Strongly agree"},
        "points_es": {"1": "Muy en desacuerdo", "5": "Muy de acuerdo"},
    }
    page = researcher_client.get(reverse("study_protocol", kwargs={"study": study.uuid}))
    form = page.context["form"]
    assert [r[0] for r in form.band_rows()] == ["1-2", "3", "4-5"]
    assert [r[0] for r in form.point_rows()] == [1, 2, 3, 4, 5]
    body = page.content.decode()
    # The preview: the panelist's buttons in English and in Spanish.
    assert '1<span class="point-label"> Strongly disagree</span>' in body
    assert '1<span class="point-label"> Muy en desacuerdo</span>' in body
    assert "1–2: En desacuerdo" in body and "1–2: Disagree" in body


def test_preview_shows_the_typed_scale_without_saving(study, researcher_client):
    response = post(
        researcher_client, study, scale_min=0, scale_max=10, bands="0-3, 4-6, 7-10",
        point_label_1="Not at all", point_label_11="Completely", preview="1",
    )  # fmt: skip
    body = errors_of(response)
    assert "Preview only: nothing was saved." in body
    assert '0<span class="point-label"> Not at all</span>' in body
    assert '10<span class="point-label"> Completely</span>' in body
    assert len(response.context["form"].point_rows()) == 11
    study.refresh_from_db()
    assert (study.scale_min, study.scale_max, study.scale_labels) == (1, 9, {})


def test_preview_of_bad_bands_shows_the_errors(study, researcher_client):
    response = post(researcher_client, study, bands="1-3, 5-9", preview="1")
    body = errors_of(response)
    assert "4 would be in no band" in body and "Preview only" not in body


def test_default_protocol_saves_unchanged(study, researcher_client):
    before = Study.objects.values().get(pk=study.pk)
    response = post(researcher_client, study)
    assert response.status_code == 302
    assert Study.objects.values().get(pk=study.pk) == before


def test_labels_changed_after_the_lock_are_a_deviation(locked_study, researcher_client):
    response = post(researcher_client, locked_study, point_label_es_9="Crítico", reason="")
    assert "Write why you are changing it" in errors_of(response)
    response = post(
        researcher_client, locked_study, point_label_es_9="Crítico", reason="Spanish panel."
    )
    assert response.status_code == 302
    deviation = Deviation.objects.get(study=locked_study)
    assert deviation.field == "scale_labels"
    assert (deviation.old_value, deviation.new_value) == ({}, {"points_es": {"9": "Crítico"}})


def test_a_read_only_member_sees_the_preview(study, analyst_client):
    page = analyst_client.get(reverse("study_protocol", kwargs={"study": study.uuid}))
    body = page.content.decode()
    assert "The scale as panelists see it" in body and "1–3: Not important" in body
    assert "1–3: No importante" in body
