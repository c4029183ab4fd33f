"""The results page in a real browser: the demo study's rating round (round 2), and a run
finishing live."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from delphi.consensus import services
from delphi.models import ConsensusRun, Round, Study
from tests import factories as f
from tests.browser.conftest import DESKTOP, PHONE
from tests.delphi.consensus.test_engine import build_round

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, username, password):
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state()


def test_demo_rating_round_results_read_well_on_phone_and_desktop(
    live_server, new_context, axe_check, shot
):
    call_command("load_demo", verbosity=0)
    study = Study.objects.get(is_demo=True)
    rnd = study.rounds.get(number=2)  # round 1 is the open-ended round
    assert rnd.status == Round.Status.ANALYSED
    results_url = live_server.url + reverse(
        "round_results", kwargs={"study": study.uuid, "round": rnd.uuid}
    )
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = new_context(viewport=viewport).new_page()
        sign_in(page, live_server, "researcher", "delphi-demo")
        page.goto(results_url)
        assert page.locator("h1").inner_text() == "Round 2 results"
        assert page.locator("table.results-table tbody tr.has-more").count() == rnd.items.count()
        assert page.get_by_text("Demo study").count() >= 1
        shot(page, "engine", f"results-round2-{size}")
        axe_check(page, f"results page ({size})")

    # A group from the selector, then sorting by median, highest first.
    page.select_option("#group-select", "peer")
    with page.expect_navigation():
        page.get_by_role("button", name="Show", exact=True).click()
    assert "group=peer" in page.url
    for _ in range(2):  # ascending, then descending
        with page.expect_navigation():
            page.locator("table.results-table thead").get_by_role("link", name="Median").click()
    assert "sort=-median" in page.url
    assert page.locator("th[aria-sort=descending]").count() == 1
    shot(page, "engine", "results-round2-peer-by-median-desktop")
    axe_check(page, "results page, one group sorted")


def test_the_page_follows_a_running_run_until_it_finishes(
    live_server, new_context, axe_check, shot, researcher
):
    study = f.make_study(title="Live run study", researcher=researcher)
    researcher.set_password("pw-live-123")
    researcher.save()
    rnd = build_round(study, items=4)
    run = ConsensusRun.objects.create(
        round=rnd,
        status=ConsensusRun.Status.RUNNING,
        attempts=1,
        progress=40,
        stage="Computing statistics",
        heartbeat_at=timezone.now(),
        started_at=timezone.now(),
    )
    page = new_context(viewport=DESKTOP).new_page()
    sign_in(page, live_server, researcher.username, "pw-live-123")
    page.goto(
        live_server.url + reverse("round_results", kwargs={"study": study.uuid, "round": rnd.uuid})
    )
    assert page.locator("#run-progress").get_attribute("value") == "40"
    shot(page, "engine", "results-running-desktop")
    axe_check(page, "results page while running")

    # The worker moves on: the page's script picks up the new stage from the status view.
    ConsensusRun.objects.filter(pk=run.pk).update(progress=80, stage="Saving results")
    page.wait_for_function("() => document.getElementById('run-progress').value === 80")
    assert "Saving results" in page.locator("#run-status").inner_text()

    # The run finishes (here: the stale-free attempt completes it) and the page reloads.
    ConsensusRun.objects.filter(pk=run.pk).update(status=ConsensusRun.Status.QUEUED)
    services.consensus_run_execute(run_id=run.pk)
    page.wait_for_selector("table.results-table", timeout=15_000)
    assert page.locator("table.results-table tbody tr.has-more").count() == 4
    assert "Done" in page.locator("#run-status").inner_text()
