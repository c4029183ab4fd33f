"""Point and band labels on the questionnaire, in the panelist's language (English fallback)."""

import re

from delphi.models import Study
from panels.models import Panelist
from tests.delphi.panelist.conftest import open_round, sign_in

AGREE = {
    "scale_min": 1,
    "scale_max": 5,
    "bands": [[1, 2], [3, 3], [4, 5]],
    "scale_anchors": {"1": "Disagree", "4": "Agree"},
    "scale_labels": {
        "bands_es": {"1": "En desacuerdo"},
        "points": {
            "1": "Strongly disagree",
            "2": "Disagree",
            "3": "Neutral",
            "5": "Strongly agree",
        },
        "points_es": {"1": "Muy en desacuerdo", "5": "Muy de acuerdo"},
    },
}


def labelled(study):
    Study.objects.filter(pk=study.pk).update(**AGREE)
    study.refresh_from_db()
    return open_round(study, n_items=2, n_domains=1)


def buttons(body):
    """value -> the visible text of the first card's scale button."""
    return {
        v: re.sub(r"<[^>]+>", "", text).strip()
        for v, text in re.findall(
            r'for="v0-(\d)">(.*?)<span class="visually-hidden">', body, flags=re.S
        )
    }


def test_english_panelist_sees_point_labels_and_band_labels(client, study, panelist):
    rnd = labelled(study)
    sign_in(client, panelist)
    body = client.get(f"/p/r/{rnd.uuid}/page/1/").content.decode()
    shown = buttons(body)
    assert shown["1"] == "1 Strongly disagree" and shown["5"] == "5 Strongly agree"
    assert shown["4"] == "4"  # no label on this point: the number alone
    assert "1–2: Disagree" in body and "4–5: Agree" in body and ">3</div>" in body
    assert 'class="scale-bands bands-3"' in body
    assert 'class="btn btn-outline-primary scale-btn has-point-label"' in body


def test_spanish_panelist_sees_spanish_labels_falling_back_to_english(client, study, panelist):
    rnd = labelled(study)
    Panelist.objects.filter(pk=panelist.pk).update(language="es")
    sign_in(client, panelist)
    body = client.get(f"/p/r/{rnd.uuid}/page/1/").content.decode()
    shown = buttons(body)
    assert shown["1"] == "1 Muy en desacuerdo" and shown["5"] == "5 Muy de acuerdo"
    assert shown["2"] == "2 Disagree"  # no Spanish label for 2: the English one
    assert "1–2: En desacuerdo" in body  # the band's Spanish label
    assert "4–5: Agree" in body  # no Spanish label, nothing in the catalogue: English


def test_default_scale_looks_as_before(client, study, panelist):
    rnd = open_round(study, n_items=2, n_domains=1)
    Panelist.objects.filter(pk=panelist.pk).update(language="es")
    sign_in(client, panelist)
    body = client.get(f"/p/r/{rnd.uuid}/page/1/").content.decode()
    assert buttons(body) == {str(v): str(v) for v in range(1, 10)}
    assert "has-point-label" not in body
    assert "1–3: No importante" in body  # the default anchors, from the catalogue


def test_two_bands_on_a_two_point_scale(client, study, panelist):
    Study.objects.filter(pk=study.pk).update(
        scale_min=0, scale_max=1, bands=[[0, 0], [1, 1]], scale_anchors={},
        scale_labels={"points": {"0": "No", "1": "Yes"}, "points_es": {"0": "No", "1": "Sí"}},
    )  # fmt: skip
    rnd = open_round(study, n_items=1, n_domains=1)
    sign_in(client, panelist)
    body = client.get(f"/p/r/{rnd.uuid}/page/1/").content.decode()
    assert buttons(body) == {"0": "0 No", "1": "1 Yes"}
    assert 'class="scale-bands bands-2"' in body
