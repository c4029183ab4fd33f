"""Every researcher page, at phone and desktop widths: axe finds nothing serious; screenshots."""

import re

from django.urls import reverse

from delphi import urls_researcher
from tests import factories as f
from tests.browser.conftest import DESKTOP, PHONE
from tests.delphi.researcher_world import build_world, url_kwargs

POST_ONLY = {
    "round_open",
    "study_member_remove",
    "coding_withdraw",
    "round_start_rating",
    "coding_export",  # a CSV download, not a page
    "audit_log_csv",  # a CSV download, not a page
    "study_archive",  # a ZIP download, not a page
}


def _pages(world):
    kwargs = url_kwargs(world)
    for p in urls_researcher.urlpatterns:
        if p.name in POST_ONLY:
            continue
        params = re.findall(r"<(?:\w+:)?(\w+)>", str(p.pattern))
        kw = {k: kwargs[k] for k in params}
        if p.name.startswith("domain_") and "code" in kw:
            kw["code"] = world.domain.code
        yield p.name, reverse(p.name, kwargs=kw)


def test_every_researcher_page_passes_axe(live_server, new_context, axe_check, shot):
    researcher = f.make_user("rita", password="a-long-test-password")
    study = f.make_study(researcher=researcher, title="Axe study")
    world = build_world(study)
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = new_context(viewport=viewport)
        page = context.new_page()
        page.goto(live_server.url + "/accounts/login/")
        page.fill("#id_username", "rita")
        page.fill("#id_password", "a-long-test-password")
        page.click("main button[type=submit]")
        page.wait_for_url(live_server.url + "/")
        for name, path in _pages(world):
            response = page.goto(live_server.url + path)
            assert response.status == 200, (name, response.status)
            axe_check(page, f"{name} ({label})")
            # Wide tables scroll inside their own wrapper; the page itself never does.
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} scrolls sideways: {width} px wide"
            shot(page, "researcher", f"axe-{name}-{label}")
        context.close()


def _data_pages(study, rounds):
    s = {"study": study.uuid}
    for name, rnd in (
        ("round_results", rounds.rating),
        ("round_results", rounds.ranking),
        ("round_invitations", rounds.open),
        ("round_invitations", rounds.rating),
        ("round_communications", rounds.open),
        ("round_detail", rounds.open),
    ):
        yield f"{name}-r{rnd.number}", reverse(name, kwargs={**s, "round": rnd.uuid})
    for name in ("study_detail", "panel_detail", "study_participation", "audit_log"):
        yield name, reverse(name, kwargs=s)
    yield "study_report", reverse("study_report", kwargs=s)
    yield "study_report_downloads", reverse("study_report_downloads", kwargs=s)
    yield (
        "round_results-r1-filtered",
        reverse("round_results", kwargs={**s, "round": rounds.rating.uuid})
        + "?group=law&sort=-pct_high&q=Safety",
    )


def test_pages_of_a_study_with_data_pass_axe_and_fit_a_phone(
    live_server, new_context, axe_check, shot
):
    from tests.delphi.researcher_world import build_data_world

    researcher = f.make_user("rita", password="a-long-test-password")
    study = f.make_study(researcher=researcher, title="Axe study with data")
    rounds = build_data_world(study, researcher)
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = new_context(viewport=viewport)
        page = context.new_page()
        page.goto(live_server.url + "/accounts/login/")
        page.fill("#id_username", "rita")
        page.fill("#id_password", "a-long-test-password")
        page.click("main button[type=submit]")
        page.wait_for_url(live_server.url + "/")
        for name, path in _data_pages(study, rounds):
            response = page.goto(live_server.url + path)
            assert response.status == 200, (name, response.status)
            axe_check(page, f"{name} ({label})")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} scrolls sideways: {width} px wide"
            shot(page, "researcher-data", f"{name}-{label}")
        if label == "phone":
            # The results table keeps its priority columns; the rest is one tap away.
            page.goto(live_server.url + _results_path(study, rounds.rating))
            first = page.locator("table.results-table tbody tr.result-more").first
            assert first.locator("details dl").is_hidden()
            first.locator("details summary").click()
            assert first.locator("details dl").is_visible()
            assert "IQR" in first.locator("details dl").inner_text()
            shot(page, "researcher-data", f"round_results-details-{label}")
        context.close()


def _results_path(study, rnd):
    return reverse("round_results", kwargs={"study": study.uuid, "round": rnd.uuid})


def test_suggestion_form_shows_only_the_chosen_actions_fields(live_server, new_context):
    researcher = f.make_user("rita", password="a-long-test-password")
    study = f.make_study(researcher=researcher, title="Suggestion study")
    world = build_world(study)
    page = new_context(viewport=PHONE).new_page()
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "rita")
    page.fill("#id_password", "a-long-test-password")
    page.click("main button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.goto(
        live_server.url
        + reverse(
            "suggestion_decide",
            kwargs={
                "study": study.uuid,
                "round": world.round.uuid,
                "suggestion": world.suggestion.uuid,
            },
        )
    )
    adopt, merge = (
        page.locator("fieldset[data-action=adopt]"),
        page.locator("fieldset[data-action=merge]"),
    )
    assert adopt.is_hidden() and merge.is_hidden()  # nothing chosen yet
    page.check("input[name=action][value=merge]")
    assert merge.is_visible() and adopt.is_hidden()
    page.check("input[name=action][value=adopt]")
    assert adopt.is_visible() and merge.is_hidden()
    page.check("input[name=action][value=decline]")
    assert adopt.is_hidden() and merge.is_hidden()
