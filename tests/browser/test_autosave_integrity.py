"""The page's script against the live server: of two taps whose saves cross on the network the
later stays, and a refused save shows on the page, not only in the console. Screenshots go to
/tmp/shots/autosave/."""

import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from delphi.models import Rating, Round
from delphi.panelist.selectors import round_items
from tests.browser.conftest import DESKTOP
from tests.browser.panelist_setup import build_study, new_panelist

pytestmark = pytest.mark.django_db(transaction=True)


def tap(page, item, value):
    page.locator(f"#item-{item.uuid} label[for$='-{value}']").click()


def test_quick_taps_whose_saves_cross_leave_the_last_tap(live_server, new_context, shot):
    study, rnd = build_study()
    panelist, raw = new_panelist(study, consented=True)
    item = round_items(round=rnd)[0]
    page = new_context().new_page()
    page.goto(f"{live_server.url}/p/t/{raw}/")
    calls = []

    def slow_first(route):
        calls.append(route.request.post_data_json)
        if len(calls) == 1:
            time.sleep(0.4)  # the first tap's request is overtaken by the second's
        route.continue_()

    page.route("**/autosave/", slow_first)
    tap(page, item, 3)
    tap(page, item, 7)
    expect(page.locator("#save-status")).to_have_text("Saved", timeout=5000)
    page.wait_for_timeout(600)  # let the overtaken request land too
    assert [c["value"] for c in calls] == ["3", "7"]
    assert calls[1]["seq"] == calls[0]["seq"] + 1
    row = Rating.objects.get(item=item, response__panelist=panelist)
    assert (row.value, row.seq) == (7, calls[1]["seq"])
    # A fresh page continues the count from the stored sequence.
    page.unroute("**/autosave/")
    page.reload()
    with page.expect_request("**/autosave/") as request:
        tap(page, item, 5)
    assert request.value.post_data_json["seq"] == row.seq + 1


@pytest.mark.parametrize("viewport", [None, DESKTOP], ids=["phone", "desktop"])
def test_a_refused_save_is_shown_on_the_statement_and_the_page(
    live_server, new_context, shot, viewport
):
    study, rnd = build_study()
    panelist, raw = new_panelist(study, consented=True)
    items = round_items(round=rnd)
    page = new_context(viewport=viewport).new_page()
    page.goto(f"{live_server.url}/p/t/{raw}/")
    tap(page, items[0], 8)
    expect(page.locator("#save-status")).to_have_text("Saved", timeout=5000)
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    tap(page, items[1], 4)
    card_error = page.locator(f"#item-{items[1].uuid} .autosave-error")
    expect(card_error).to_contain_text("Not saved: This round has closed")
    expect(page.locator("#autosave-page-error")).to_contain_text("This round has closed")
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    shot(page, "autosave", f"refused-{'desktop' if viewport else 'phone'}")
    assert not Rating.objects.filter(item=items[1]).exists()
