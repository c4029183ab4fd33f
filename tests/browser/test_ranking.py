"""A panelist on a 360x740 phone ranks ten statements by keyboard only, leaves, comes back on a
new device through a fresh personal link, finds the order kept, reviews and submits it. axe-core
runs on the ranking page, the review page and the round's results page (researcher) at 360 and
1280 px, and none of them scrolls sideways. Screenshots go to /tmp/shots/ranking/."""

import random
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from delphi.consensus.services import consensus_compute_now
from delphi.models import Ranking, Response, Round
from delphi.panelist.ranking import apply_move
from delphi.services.rounds import round_close
from panels.models import Panelist
from tests import factories as f
from tests.browser.conftest import PHONE
from tests.delphi.panelist.conftest import make_link

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "a-long-test-password"
STATEMENTS = [
    ("ENG-1", "Introduces themselves and explains why they have come."),
    ("COM-1", "Uses active listening so that the person feels heard."),
    ("COM-3", "Recognises rising agitation early and changes their approach."),
    ("RSK-1", "Asks directly and calmly about suicidal thoughts, plans and means."),
    ("RSK-2", "Assesses the risk of harm to others, including weapons and threats."),
    ("SYM-2", "Recognises a medical emergency that looks like a mental-health crisis."),
    ("FAM-1", "Gathers information from family members about what has helped before."),
    ("RES-1", "Connects the person to the right service through a warm hand-off."),
    ("SAF-1", "Assesses scene safety on arrival and positions themselves accordingly."),
    ("TRI-2", "Asks the caller about weapons, violence and medical needs before dispatch."),
]


def build():
    researcher = f.make_user("rita", password=PASSWORD)
    study = f.make_study(researcher=researcher, title="Ranking study")
    domain = f.make_domain(study, name="Core skills")
    statements = [
        f.make_statement(study, domain=domain, code=code, text=text, order=i)
        for i, (code, text) in enumerate(STATEMENTS)
    ]
    rnd = f.make_round(
        study,
        number=1,
        kind=Round.Kind.RANKING,
        statements=statements,
        status=Round.Status.OPEN,
        opened_at=timezone.now(),
        instructions="Put the ten competencies in order: 1 is the most important.",
    )
    law = study.panel.groups.get(code="law")
    panelist = f.make_panelist(study, group=law)
    now = timezone.now()
    Panelist.objects.filter(pk=panelist.pk).update(
        consented_at=now, consent_version=1, profile_confirmed_at=now
    )
    return researcher, study, rnd, panelist


def items_by_code(rnd):
    return {i.statement.code: str(i.uuid) for i in rnd.items.select_related("statement")}


def focused(page, predicate: str) -> bool:
    """Does the focused element (`el` in the JS predicate) satisfy the predicate?"""
    return page.evaluate(
        f"(() => {{ const el = document.activeElement; return !!({predicate}); }})()"
    )


def tab_to(page, predicate: str, what: str, key: str = "Tab", limit: int = 80):
    """Press Tab (or Shift+Tab) until the focused element satisfies the JS predicate."""
    for _ in range(limit):
        page.keyboard.press(key)
        if focused(page, predicate):
            return
    pytest.fail(f"{key} never reached {what}")


def select_of(uuid):
    return f"el.id === 'rank-{uuid}'"


def button_of(uuid, direction):
    return (
        f"el.dataset.move === '{direction}' && el.closest('li') "
        f"&& el.closest('li').dataset.item === '{uuid}'"
    )


def first_unranked_up():
    return (
        "el.dataset.move === 'up' && el.closest('li') "
        "&& el.closest('li').querySelector('[data-badge]').classList.contains('unranked')"
    )


def stored(panelist, rnd):
    return dict(
        Ranking.objects.filter(response__panelist=panelist, response__round=rnd).values_list(
            "item__uuid", "rank"
        )
    )


def assert_stored(panelist, rnd, expected):
    # Read once the page says "Saved": polling while the live server writes would lock SQLite.
    want = {k: v for k, v in expected.items() if v is not None}
    assert {str(k): v for k, v in stored(panelist, rnd).items()} == want


def dom_order(page):
    return page.eval_on_selector_all(
        "#ranking-list li[data-item]", "els => els.map(e => e.dataset.item)"
    )


def assert_no_sideways_scroll(page, width, label):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{label} scrolls sideways: {scroll} px wide at {width} px"


def sign_in(page, base):
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", "rita")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")


def test_panelist_ranks_ten_by_keyboard_leaves_and_finds_the_order_on_a_new_device(
    live_server, new_context, axe_check, shot
):
    researcher, study, rnd, panelist = build()
    uuid = items_by_code(rnd)
    codes = {v: k for k, v in uuid.items()}
    ranks: dict[str, int | None] = dict.fromkeys(uuid.values())

    def expect_move(item, action, value=None):
        nonlocal ranks
        ranks = apply_move(ranks, item, action, limit=10, value=value)

    context = new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/p/t/{make_link(panelist)}/")
    expect(page.get_by_role("heading", name="Rank the statements")).to_be_visible()
    expect(page.locator("#progress-text")).to_have_text("0 of 10 places filled")
    axe_check(page, "ranking page, nothing ranked (phone)")
    assert_no_sideways_scroll(page, PHONE["width"], "the ranking page")

    # The rank selector: arrow keys choose, Enter applies (no mouse anywhere below).
    tab_to(page, select_of(uuid["RSK-1"]), "RSK-1's rank selector")
    page.keyboard.press("ArrowDown")  # "Rank 1"
    page.keyboard.press("Enter")
    expect_move(uuid["RSK-1"], "set", 1)
    expect(page.locator("#save-status")).to_have_text("RSK-1: rank 1. Saved")
    # Focus stays on the selector of the row that moved.
    assert page.evaluate("document.activeElement.id") == f"rank-{uuid['RSK-1']}"

    tab_to(page, select_of(uuid["SAF-1"]), "SAF-1's rank selector")
    for _ in range(2):
        page.keyboard.press("ArrowDown")  # "Rank 2"
    page.keyboard.press("Enter")
    expect_move(uuid["SAF-1"], "set", 2)
    expect(page.locator("#save-status")).to_have_text("SAF-1: rank 2. Saved")
    assert_stored(panelist, rnd, ranks)

    # "Move up" on each unranked statement, with Space then Enter, fills the next places.
    for n in range(8):
        tab_to(page, first_unranked_up(), "an unranked statement's Move up button")
        item = page.evaluate("document.activeElement.closest('li').dataset.item")
        page.keyboard.press("Space" if n % 2 else "Enter")
        expect_move(item, "up")
        expect(page.locator("#save-status")).to_have_text(f"{codes[item]}: rank {n + 3}. Saved")
        # Focus follows the statement to its new place.
        assert focused(page, button_of(item, "up"))
    expect(page.locator("#progress-text")).to_have_text("10 of 10 places filled")

    # Rearrange: Move down on rank 3, Move up twice on rank 10, then the selector of rank 1
    # set to rank 4 (the statements swap).
    third = next(k for k, r in ranks.items() if r == 3)
    tab_to(page, button_of(third, "down"), "rank 3's Move down", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect_move(third, "down")
    expect(page.locator("#save-status")).to_have_text(f"{codes[third]}: rank 4. Saved")
    last = next(k for k, r in ranks.items() if r == 10)
    tab_to(page, button_of(last, "up"), "rank 10's Move up")
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    expect_move(last, "up")
    expect_move(last, "up")
    expect(page.locator("#save-status")).to_have_text(f"{codes[last]}: rank 8. Saved")
    tab_to(page, select_of(uuid["RSK-1"]), "rank 1's selector", key="Shift+Tab")
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # Rank 1 -> Rank 4
    page.keyboard.press("Enter")
    expect_move(uuid["RSK-1"], "set", 4)
    expect(page.locator("#save-status")).to_have_text("RSK-1: rank 4. Saved")

    expected = [k for k, _ in sorted(ranks.items(), key=lambda kv: kv[1])]
    assert sorted(ranks.values()) == list(range(1, 11))
    assert dom_order(page) == expected
    assert_stored(panelist, rnd, ranks)
    axe_check(page, "ranking page, ranked (phone)")
    assert_no_sideways_scroll(page, PHONE["width"], "the ranked page")
    shot(page, "ranking", "ranking-phone")
    context.close()  # gone without submitting

    # A new device, through a fresh personal link: the order is there.
    context = new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/p/t/{make_link(panelist)}/")
    expect(page.locator("#progress-text")).to_have_text("10 of 10 places filled")
    assert dom_order(page) == expected
    for item, r in ranks.items():
        expect(page.locator(f"#rank-{item}")).to_have_value(str(r))
    axe_check(page, "ranking page (desktop)")
    assert_no_sideways_scroll(page, DESKTOP["width"], "the ranking page")
    shot(page, "ranking", "ranking-desktop")

    # Review by keyboard: the page lists the ranking in order, then submit.
    tab_to(page, "el.value === 'review'", "Save and review")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
    texts = dict(STATEMENTS)
    listed = page.locator("ol.review-ranking li").all_inner_texts()
    assert listed == [texts[codes[k]] for k in expected]
    axe_check(page, "ranking review (desktop)")
    assert_no_sideways_scroll(page, DESKTOP["width"], "the review page")
    tab_to(page, "el.textContent.trim() === 'Submit my ranking'", "Submit my ranking")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
    response = Response.objects.get(panelist=panelist, round=rnd)
    assert response.status == Response.Status.SUBMITTED
    assert {str(k): v for k, v in stored(panelist, rnd).items()} == ranks

    # The researcher's results page of the ranking round, once others have ranked and the
    # round is closed and analysed.
    _others_rank(study, rnd)
    round_close(round=rnd, by=researcher)
    consensus_compute_now(round=rnd)
    results = live_server.url + reverse(
        "round_results", kwargs={"study": study.uuid, "round": rnd.uuid}
    )
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = new_context(viewport=viewport).new_page()
        sign_in(page, live_server.url)
        page.goto(results)
        expect(page.get_by_text("Kendall").first).to_be_visible()
        axe_check(page, f"ranking results ({name})")
        assert_no_sideways_scroll(page, viewport["width"], f"the ranking results ({name})")
        shot(page, "ranking", f"results-{name}")


def _others_rank(study, rnd):
    """Five more panelists (law and clinicians) submitted full rankings."""
    rng = random.Random(7)
    items = list(rnd.items.order_by("order"))
    now = timezone.now()
    groups = ["law", "law", "clinical", "clinical", "clinical"]
    for code in groups:
        p = f.make_panelist(study, group=study.panel.groups.get(code=code))
        Panelist.objects.filter(pk=p.pk).update(consented_at=now, consent_version=1)
        response = Response.objects.create(
            round=rnd, panelist=p, status=Response.Status.SUBMITTED, submitted_at=now
        )
        order = sorted(items, key=lambda i: i.order + rng.gauss(0, 3))
        Ranking.objects.bulk_create(
            Ranking(response=response, item=item, rank=r + 1) for r, item in enumerate(order)
        )
