"""A panelist on a 360x740 phone: open the link, consent, rate part, close the browser, come
back, find the answers kept, finish and submit; in Spanish too; round 2 shows feedback. axe-core
runs on every page; screenshots go to /tmp/shots/panelist/."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from delphi.models import Rating, Response, Round
from delphi.panelist.selectors import round_items
from tests import factories as f
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.panelist_setup import build_study, new_panelist

pytestmark = pytest.mark.django_db(transaction=True)


def rate(page, item, value):
    page.locator(f"#item-{item.uuid} label[for$='-{value}']").click()


def choice(page, item, value):
    return page.locator(f"#item-{item.uuid} input[value='{value}']")


def comment(page, item):
    return page.locator(f"#item-{item.uuid} textarea[name^='c']")


def wait_saved(page, text="Saved"):
    expect(page.locator("#save-status")).to_have_text(text, timeout=5000)


def test_panelist_rates_leaves_comes_back_and_submits(live_server, new_context, axe_check, shot):
    study, rnd = build_study()
    panelist, raw = new_panelist(study)
    items = round_items(round=rnd)
    link = f"{live_server.url}/p/t/{raw}/"

    context = new_context()
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="Information and consent")).to_be_visible()
    assert "/p/t/" not in page.url  # the token left the address bar
    axe_check(page, "consent")
    page.get_by_label("I agree to take part").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="About you")).to_be_visible()
    axe_check(page, "profile")
    page.get_by_label("Clinical").check()
    page.get_by_label("Years of experience").fill("9")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_text("0 of 5 rated")).to_be_visible()
    expect(page.get_by_text("A man shouting in the street")).to_be_visible()
    axe_check(page, "questionnaire page 1")
    shot(page, "panelist", "round1-page-1-en-phone")
    rate(page, items[0], 8)
    wait_saved(page)
    expect(page.get_by_text("1 of 5 rated")).to_be_visible()
    # Keyboard: arrow keys move within the radio group and save the new value.
    choice(page, items[1], 5).focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    wait_saved(page)
    page.get_by_text("Add a comment").first.click()
    comment(page, items[0]).fill("Essential on night shifts")
    comment(page, items[0]).blur()
    wait_saved(page)
    context.close()  # the browser is gone; nothing was "submitted"

    saved = {r.item_id: r for r in Rating.objects.filter(response__panelist=panelist)}
    assert saved[items[0].pk].value == 8
    assert saved[items[0].pk].comment == "Essential on night shifts"
    assert saved[items[1].pk].value == 6

    page = new_context().new_page()
    page.goto(link)  # a new browser: the link again
    expect(choice(page, items[0], 8)).to_be_checked()
    expect(choice(page, items[1], 6)).to_be_checked()
    expect(comment(page, items[0])).to_have_value("Essential on night shifts")
    expect(page.get_by_text("2 of 5 rated")).to_be_visible()
    rate(page, items[2], "unable")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="Coordination and referral")).to_be_visible()
    rate(page, items[3], 7)
    rate(page, items[4], 9)
    wait_saved(page)
    page.get_by_role("button", name="Save and review").click()
    expect(page.get_by_text("You have answered every statement.")).to_be_visible()
    axe_check(page, "review")
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("heading", name=re.compile("Thank you"))).to_be_visible()
    axe_check(page, "done")

    response = Response.objects.get(panelist=panelist, round=rnd)
    assert response.status == Response.Status.SUBMITTED
    assert Rating.objects.filter(response=response).count() == 5


def test_spanish_panelist_with_unanswered_items(live_server, new_context, axe_check, shot):
    study, rnd = build_study()
    panelist, raw = new_panelist(study, language="es")
    items = round_items(round=rnd)
    link = f"{live_server.url}/p/t/{raw}/"
    context = new_context()
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="Información y consentimiento")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_text("Sus respuestas son confidenciales.")).to_be_visible()
    page.get_by_label("acepto participar").check()
    page.get_by_role("button", name="Continuar").click()
    page.get_by_label("Clínico").check()
    page.get_by_role("button", name="Guardar y continuar").click()
    expect(page.get_by_text(STATEMENT_ES := "Usa un lenguaje calmado y sencillo")).to_be_visible()
    expect(page.get_by_text("Un hombre gritando en la calle")).to_be_visible()
    axe_check(page, "página 1")
    shot(page, "panelist", "round1-page-1-es-phone")
    rate(page, items[0], 3)
    wait_saved(page, "Guardado")
    context.close()

    page = new_context().new_page()
    page.goto(link)
    expect(choice(page, items[0], 3)).to_be_checked()
    expect(page.get_by_text(STATEMENT_ES)).to_be_visible()
    page.get_by_role("link", name="Revisar y enviar").click()
    expect(page.get_by_text("4 enunciados aún no tienen respuesta")).to_be_visible()
    axe_check(page, "revisar")
    page.get_by_label("Quiero enviar ahora").check()
    page.get_by_role("button", name="Enviar de todos modos").click()
    expect(page.get_by_role("heading", name=re.compile("Gracias"))).to_be_visible()
    response = Response.objects.get(panelist=panelist)
    assert response.status == Response.Status.SUBMITTED
    assert Rating.objects.get(response=response).value == 3


def _analysed_round_one(study, rnd, panelist):
    """Ten panelists rate round 1; the consensus engine analyses it; round 2 opens."""
    from delphi.consensus.services import consensus_compute_now, round_create_next

    items = round_items(round=rnd)
    groups = list(study.panel.groups.all())
    values = [[8, 5, 2, 7, 9], [7, 4, 3, 8, 9], [9, 6, 5, 7, 8], [3, 5, 8, 6, 9], [6, 5, 4, 8, 9]]
    per_group = max(2, 10 // len(groups))
    raters = [panelist] + [
        f.make_panelist(study, group=groups[i % len(groups)])
        for i in range(per_group * len(groups))
    ]
    for n, rater in enumerate(raters):
        row = values[n % len(values)]
        response = f.rate(rater, rnd, dict(zip(items, row)))
        if n == 3:
            response.ratings.filter(item=items[0]).update(comment="Training must come first")
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    rnd.refresh_from_db()
    run = consensus_compute_now(round=rnd)
    assert run.status == "done", run.error
    rnd2 = round_create_next(round=rnd)
    Round.objects.filter(pk=rnd2.pk).update(status=Round.Status.OPEN, opened_at=timezone.now())
    rnd2.refresh_from_db()
    return rnd2


def test_round_two_shows_feedback_and_asks_why_on_a_band_change(
    live_server, new_context, axe_check
):
    study, rnd = build_study(groups=("law", "clinical"))
    panelist, raw = new_panelist(study, consented=True)
    rnd2 = _analysed_round_one(study, rnd, panelist)
    items2 = round_items(round=rnd2)
    assert items2, "no item was carried forward"
    first = items2[0]
    previous = Rating.objects.get(item=first.carried_from, response__panelist=panelist).value

    page = new_context().new_page()
    page.goto(f"{live_server.url}/p/t/{raw}/")
    card = page.locator(f"#item-{first.uuid}")
    expect(card.get_by_role("heading", name="Last round")).to_be_visible()
    expect(card.locator(".mine-badge")).to_have_text(str(previous))
    expect(card.locator("figcaption strong").first).to_have_text(
        re.compile(r"^All panelists \(\d+\)$")
    )
    expect(card.locator("figcaption").first).to_contain_text(re.compile(r"% rated 7–9; median \d"))
    axe_check(page, "round 2 with feedback")
    reason = card.locator("[data-change-reason]")
    expect(reason).to_be_hidden()
    other_band = 2 if previous >= 4 else 8
    rate(page, first, other_band)
    expect(reason).to_be_visible()
    card.locator("textarea[name^='r']").fill("The peers' comments convinced me")
    card.locator("textarea[name^='r']").blur()
    wait_saved(page)
    rating = Rating.objects.get(item=first, response__panelist=panelist)
    assert (rating.value, rating.change_reason) == (other_band, "The peers' comments convinced me")


def test_a_round_two_card_fits_one_phone_screen_with_six_groups(
    live_server, new_context, axe_check, shot
):
    """At 360 x 740, from the top of a round-2 statement card to its last scale button is at
    most one screen, with the whole panel and five stakeholder groups in the feedback."""
    study, rnd = build_study(groups=("law", "clinical", "dispatch", "peer", "family"))
    study.min_group_size = 2
    study.save()
    panelist, raw = new_panelist(study, consented=True)
    rnd2 = _analysed_round_one(study, rnd, panelist)
    first = round_items(round=rnd2)[0]
    page = new_context(viewport=PHONE).new_page()
    page.goto(f"{live_server.url}/p/t/{raw}/")
    card = page.locator(f"#item-{first.uuid}")
    groups = card.locator(".fb-groups")
    expect(groups.locator("summary")).to_contain_text("5 groups")
    top = card.bounding_box()["y"]
    last = card.locator(".scale-btn").last.bounding_box()
    assert last["y"] + last["height"] - top <= PHONE["height"], (top, last)
    shot(page, "ux-panelist", "round2-card-phone")
    # The split by group is one tap away, in a table with the exact values, without colour.
    groups.locator("summary").click()
    table = groups.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(1 + 6)
    expect(table.get_by_role("columnheader", name="Middle half")).to_be_visible()
    axe_check(page, "round 2 card with the groups open")
    # The skip link lands on the first unanswered statement.
    page.get_by_role("link", name="Skip to the first unanswered statement").click()
    assert page.evaluate("document.activeElement.id") == f"item-{first.uuid}"


PAGES = ["consent", "profile", "page-1", "page-2", "review", "suggest", "done", "withdraw",
         "withdrawn", "link-invalid", "unsubscribe"]  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_panelist_page_passes_axe_at_both_widths_and_is_photographed(
    live_server, new_context, axe_check, shot, lang
):
    from delphi.services.invitations import unsubscribe_token

    study, rnd = build_study(groups=("law", "clinical"))
    panelist, raw = new_panelist(study, consented=True)
    rnd2 = _analysed_round_one(study, rnd, panelist)
    base = live_server.url
    for size_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        walker, link = new_panelist(study, language=lang)
        # Round 1 answers, so round 2 shows this walker's own previous ratings too.
        f.rate(walker, rnd, {item: 7 for item in round_items(round=rnd)})
        page = new_context(viewport=viewport).new_page()
        seen = {}

        def visit(name, url=None):
            if url:
                page.goto(base + url)
            page.wait_for_load_state("networkidle")
            axe_check(page, f"{name} {lang} {size_name}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} scrolls sideways: {width} px wide"
            shot(page, "panelist", f"{name}-{lang}-{size_name}")
            seen[name] = True

        page.goto(f"{base}/p/t/{link}/")
        visit("consent")
        page.locator("#id_agree").check()
        page.locator("button[type=submit]").last.click()
        visit("profile")
        # The walker rated round 1 already: the group is shown, not offered for change.
        expect(page.locator("#group-locked")).to_be_visible()
        assert page.locator("input[name=group]").count() == 0
        page.locator("form.calm-form button[type=submit]").click()
        visit("page-1")
        visit("page-2", f"/p/r/{rnd2.uuid}/page/2/") if len(
            {i.statement.domain_id for i in round_items(round=rnd2)}
        ) > 1 else seen.setdefault("page-2", True)
        visit("review", f"/p/r/{rnd2.uuid}/review/")
        visit("suggest", f"/p/r/{rnd2.uuid}/suggest/")
        page.goto(f"{base}/p/r/{rnd2.uuid}/review/")
        page.locator("#confirm_incomplete").check() if page.locator(
            "#confirm_incomplete"
        ).count() else None
        page.locator("main form button[type=submit]").last.click()
        visit("done")
        visit("withdraw", "/p/withdraw/")
        page.locator("input[name=keep_answers]").first.check()
        page.locator("#id_confirm").check()
        page.locator("form.calm-form button.btn-danger").click()
        visit("withdrawn")
        visit("link-invalid", "/p/t/no-such-link/")
        visit("unsubscribe", f"/p/unsubscribe/{unsubscribe_token(walker)}/")
        assert sorted(seen) == sorted(PAGES)


def test_without_javascript_the_form_posts_save_the_page(live_server, new_context):
    study, rnd = build_study()
    panelist, raw = new_panelist(study, consented=True)
    items = round_items(round=rnd)
    page = new_context(java_script_enabled=False).new_page()
    page.goto(f"{live_server.url}/p/t/{raw}/")
    rate(page, items[0], 9)
    rate(page, items[1], "unable")
    page.get_by_text("Add a comment").first.click()
    comment(page, items[0]).fill("Written without JavaScript")
    assert not Rating.objects.exists()  # nothing is autosaved without the script
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="Coordination and referral")).to_be_visible()
    expect(page.get_by_text("Your answers on this page are saved.")).to_be_visible()
    # (axe needs script, so it runs on these pages in the tests above, with JavaScript on.)
    saved = {r.item_id: r for r in Rating.objects.filter(response__panelist=panelist)}
    assert saved[items[0].pk].value == 9
    assert saved[items[0].pk].comment == "Written without JavaScript"
    assert saved[items[1].pk].unable
