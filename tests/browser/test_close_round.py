"""A researcher on a phone closes a round below quorum through the confirmation."""

import pytest

from delphi.models import Deviation, Round
from tests import factories as f
from tests.delphi.lifecycle import world

pytestmark = pytest.mark.browser


def test_researcher_closes_a_round_through_the_confirmation(
    live_server, page, axe_check, shot, transactional_db
):
    researcher = f.make_user("rosa", password="a-long-test-password")
    study = f.make_study(researcher=researcher, title="Closing study")
    rnd = world.open_round(study, researcher)
    world.populate(study, rnd)
    base = live_server.url

    page.goto(base + "/accounts/login/")
    page.fill("#id_username", "rosa")
    page.fill("#id_password", "a-long-test-password")
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")
    page.goto(base + f"/studies/{study.uuid}/rounds/{rnd.uuid}/")
    page.click("text=Close round now")
    page.wait_for_selector("h1:has-text('Close round 1?')")
    axe_check(page, "close confirmation")
    shot(page, "close", "close-confirmation-phone")
    # The confirmation counts every state, by group, and says it is below quorum.
    law = page.locator("#close-counts tbody tr", has_text="Law")
    assert law.locator("td").all_inner_texts() == ["3", "1", "0", "0", "4 / 3"]
    assert "Below quorum." in page.inner_text("#quorum-status")
    # The confirmation's own content fits a phone: its table scrolls inside its region, the
    # button and the reason field are within the 360 px viewport.
    for selector in ("#quorum-status", "text=Close round 1 below quorum", "#id_reason"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, selector

    # Without a reason the server refuses and the round stays open.
    page.evaluate("document.querySelector('main form').noValidate = true")
    page.click("text=Close round 1 below quorum")
    page.wait_for_selector("text=Write why you are closing it now")
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.OPEN

    page.fill("#id_reason", "The deadline was agreed with the funder.")
    page.click("text=Close round 1 below quorum")
    page.wait_for_selector("text=closed below its quorum: a deviation is recorded")
    shot(page, "close", "closed-round-phone")
    rnd.refresh_from_db()
    assert rnd.status != Round.Status.OPEN and rnd.below_quorum
    assert Deviation.objects.get(study=study).reason == "The deadline was agreed with the funder."
