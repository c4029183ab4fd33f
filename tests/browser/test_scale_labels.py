"""A fully labelled 5-point scale on a 360 px phone, in English and Spanish: the point labels are
on the buttons, nothing scrolls sideways, the keyboard rates, and axe finds nothing serious."""

import pytest
from playwright.sync_api import expect

from delphi.models import Rating, Study
from delphi.panelist.selectors import round_items
from tests.browser.conftest import PHONE
from tests.browser.panelist_setup import build_study, new_panelist

pytestmark = pytest.mark.django_db(transaction=True)

AGREE = {
    "scale_min": 1,
    "scale_max": 5,
    "bands": [[1, 2], [3, 3], [4, 5]],
    "scale_anchors": {"1": "Disagree", "3": "Neutral", "4": "Agree"},
    "scale_labels": {
        "bands_es": {"1": "En desacuerdo", "3": "Neutral", "4": "De acuerdo"},
        "points": {
            "1": "Strongly disagree", "2": "Disagree", "3": "Neither agree nor disagree",
            "4": "Agree", "5": "Strongly agree",
        },
        "points_es": {
            "1": "Totalmente en desacuerdo", "2": "En desacuerdo",
            "3": "Ni de acuerdo ni en desacuerdo", "4": "De acuerdo",
            "5": "Totalmente de acuerdo",
        },
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("language", "label"), [("en", "Strongly agree"), ("es", "Totalmente de acuerdo")]
)
def test_labelled_scale_on_a_phone(live_server, new_context, axe_check, shot, language, label):
    study, rnd = build_study()
    Study.objects.filter(pk=study.pk).update(**AGREE)
    panelist, raw = new_panelist(study, language=language, consented=True)
    items = round_items(round=rnd)
    page = new_context(viewport=PHONE).new_page()
    page.goto(f"{live_server.url}/p/t/{raw}/")
    page.goto(f"{live_server.url}/p/r/{rnd.uuid}/page/1/")
    card = page.locator(f"#item-{items[0].uuid}")
    expect(card.locator("label[for$='-5']")).to_contain_text(label)
    expect(card.get_by_role("radio", name=label)).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    axe_check(page, f"labelled scale ({language})")
    shot(page, "panelist", f"labelled-scale-{language}-phone")
    card.locator("input[value='4']").focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#save-status")).to_have_text(
        "Saved" if language == "en" else "Guardado", timeout=5000
    )
    assert Rating.objects.get(response__panelist=panelist, item=items[0]).value == 5
