"""A researcher, in a real browser on a phone: sign in, set up a study, open round 1.

axe-core runs on every page on the way (no serious or critical violations).
"""

from delphi.models import Round, Study
from panels.models import Contact
from tests import factories as f


def test_researcher_sets_up_a_study_and_opens_round_one(live_server, page, axe_check, shot):
    f.make_user("rosa", password="a-long-test-password")
    base = live_server.url

    page.goto(base + "/accounts/login/")
    axe_check(page, "login")
    page.fill("#id_username", "rosa")
    page.fill("#id_password", "a-long-test-password")
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")
    axe_check(page, "dashboard")

    page.click("text=New study")
    axe_check(page, "study create")
    page.fill("#id_title", "Peer responders study")
    page.click("main button[type=submit]")
    page.wait_for_selector("h1:has-text('Peer responders study')")
    study = Study.objects.get(title="Peer responders study")
    axe_check(page, "study detail")
    shot(page, "researcher", "flow-study-detail-phone")

    # Panel: a group, then a panelist.
    page.click(".study-tabs >> text=Panel")
    axe_check(page, "panel")
    page.click("text=Add a group")
    page.fill("#id_code", "peer")
    page.fill("#id_name", "Peer-support specialists")
    page.fill("#id_target_size", "12")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Group “Peer-support specialists” saved.")
    page.click("text=Add a panelist")
    axe_check(page, "panelist form")
    page.fill("#id_name", "Ana Ruiz")
    page.fill("#id_email", "ana@example.org")
    page.select_option("#id_group", label="Peer-support specialists")
    page.click("main button[type=submit] >> text=Save")
    page.wait_for_selector("text=ana@example.org")
    assert Contact.objects.filter(panel=study.panel, email="ana@example.org").exists()
    axe_check(page, "panel with a panelist")

    # Framework: a domain and a statement.
    page.click(".study-tabs >> text=Framework")
    page.click("text=Add a domain")
    page.fill("#id_code", "CD")
    page.fill("#id_name", "Communication and de-escalation")
    page.click("main button[type=submit]")
    page.click("text=Add a statement")
    page.select_option("#id_domain", label="CD Communication and de-escalation")
    page.fill("#id_code", "CD1")
    page.fill("#id_text", "Uses calm, plain language to de-escalate.")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Uses calm, plain language to de-escalate.")
    axe_check(page, "framework")

    # Round 1: create, choose the item, open.
    page.click(".study-tabs >> text=Overview")
    page.click("text=New round")
    axe_check(page, "round create")
    page.fill("#id_title", "Rate the competencies")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Items of round 1")
    axe_check(page, "round items")
    page.check("input[name=statement]")
    page.click("text=Save items")
    page.wait_for_selector("text=Round 1 now has 1 items.")
    axe_check(page, "round detail (draft)")
    page.click("text=Open round")
    page.wait_for_selector("text=The protocol is now locked")
    axe_check(page, "round detail (open)")
    shot(page, "researcher", "flow-round-open-phone")

    rnd = Round.objects.get(study=study, number=1)
    assert rnd.status == Round.Status.OPEN
    study.refresh_from_db()
    assert study.protocol_locked_at is not None

    # The locked protocol refuses a change without a reason, and says so.
    page.click(".study-tabs >> text=Protocol")
    page.fill("#id_planned_rounds", "4")
    page.evaluate("document.querySelector('main form').noValidate = true")
    page.click("main button[type=submit] >> text=Save protocol")
    page.wait_for_selector("text=Nothing was saved")
    axe_check(page, "protocol refused")
    study.refresh_from_db()
    assert study.planned_rounds == 3

    # A CSV import with a bad row lists it and keeps the text.
    page.click(".study-tabs >> text=Panel")
    page.click("text=Import CSV")
    page.fill("#id_text", "email,name,group,organisation,language\nnot-an-email,B,peer,,en\n")
    page.click("main button[type=submit] >> text=Import")
    page.wait_for_selector("text=Nothing was imported.")
    axe_check(page, "import errors")
    assert "not-an-email" in page.input_value("#id_text")
