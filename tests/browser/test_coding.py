"""A researcher, on a phone, codes three open-ended answers into one new statement.

axe-core runs on the coding queue before and after, and on the new statement's sources page.
"""

from competencies.models import Provenance, Statement
from delphi.models import AnswerCode
from tests import factories as f
from tests.browser.conftest import DESKTOP, PHONE
from tests.delphi.test_coding import build


def _sign_in(page, base):
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", "rita")
    page.fill("#id_password", "a-long-test-password")
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")


def test_researcher_codes_three_answers_into_one_new_statement(
    live_server, new_context, axe_check, shot
):
    researcher = f.make_user("rita", password="a-long-test-password")
    world = build(f.make_study(researcher=researcher, title="Coding study"))
    base = live_server.url
    page = new_context(viewport=PHONE).new_page()
    _sign_in(page, base)

    page.goto(base + f"/studies/{world.study.uuid}/")
    page.click(".study-tabs >> text=Coding")
    page.wait_for_selector("#queue-counts")
    assert "5 answers, 0 coded" in page.inner_text("#queue-counts")
    axe_check(page, "coding queue (phone)")
    shot(page, "gen", "coding-queue-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the coding page scrolls sideways: {width} px"

    a, b, c = world.answers[:3]
    for answer in (a, b, c):
        page.check(f"#e-a{answer.pk}")
    assert page.inner_text("#coding-selected") == "3 selected"
    page.check("input[name=action][value=new]")
    page.select_option("#id_domain", label=str(world.domain))
    page.fill("#id_text", "Communicates calmly and knows the local crisis services.")
    page.fill("#id_plain_text", "Stays calm and knows who to call.")
    page.fill("#id_text_es", "Se comunica con calma y conoce los servicios de crisis locales.")
    page.click("text=Save the code")
    page.wait_for_selector("text=New statement CD-P1 created from 3 entries.")
    assert "5 answers, 3 coded, 0 not usable, 2 to do" in page.inner_text("#queue-counts")
    axe_check(page, "coding queue after coding (phone)")
    shot(page, "gen", "coding-queue-coded-phone")

    st = Statement.objects.get(code="CD-P1")
    assert st.provenance == Provenance.PANELIST_ANSWER
    assert set(AnswerCode.objects.filter(statement=st).values_list("answer_id", flat=True)) == {
        a.pk,
        b.pk,
        c.pk,
    }

    page.click("main article a:has-text('CD-P1') >> nth=0")
    page.wait_for_selector("text=derived from 3 answers in round 1")
    axe_check(page, "statement sources (phone)")
    shot(page, "gen", "coding-sources-phone")

    desk = new_context(viewport=DESKTOP).new_page()
    _sign_in(desk, base)
    desk.goto(base + f"/studies/{world.study.uuid}/coding/")
    axe_check(desk, "coding queue (desktop)")
    shot(desk, "gen", "coding-queue-desktop")
