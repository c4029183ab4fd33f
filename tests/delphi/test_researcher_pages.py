"""Researcher pages, told as stories: POST a payload, follow the redirect, check the rows."""

import pytest
from django.urls import reverse

from competencies.models import Domain, Provenance, Scenario, Statement
from delphi.models import (
    AuditEvent,
    ItemChange,
    Membership,
    Response,
    Round,
    RoundItem,
    Study,
    Suggestion,
)
from panels.models import Contact, StakeholderGroup
from tests import factories as f


def u(name, study, **kw):
    return reverse(name, kwargs={"study": study.uuid, **kw})


def ru(name, rnd, **kw):
    return reverse(name, kwargs={"study": rnd.study.uuid, "round": rnd.uuid, **kw})


# Studies ---------------------------------------------------------------------------------


def test_dashboard_lists_only_my_studies_with_role_and_counts(researcher, researcher_client):
    mine = f.make_study(title="Mine", researcher=researcher)
    f.make_panelist(mine)
    f.make_round(mine, statements=[f.make_statement(mine)])
    f.make_study(title="Someone else's")
    html = researcher_client.get(reverse("dashboard")).content.decode()
    assert "Mine" in html and "Someone else" not in html
    assert "Researcher" in html
    assert "1 panelist" in html and "3 groups" in html and "1 statement" in html
    assert "Round 1 · Draft" in html


def test_create_study_makes_panel_framework_and_researcher(researcher, researcher_client):
    response = researcher_client.post(
        reverse("study_create"),
        {"title": "Peer support competencies", "aims": "Agree what peers must do."},
    )
    study = Study.objects.get(title="Peer support competencies")
    assert response["Location"] == u("study_detail", study)
    assert study.panel.name == "Peer support competencies panel"
    assert study.framework is not None
    assert Membership.objects.get(study=study).user == researcher
    assert study.created_by == researcher
    assert study.bands == [[1, 3], [4, 6], [7, 9]]


def test_create_study_error_keeps_what_was_typed(researcher_client):
    response = researcher_client.post(
        reverse("study_create"), {"title": "", "aims": "Long aims I typed", "contact_email": "x"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "title" in form.errors and "contact_email" in form.errors
    assert "Long aims I typed" in response.content.decode()
    assert not Study.objects.exists()


def test_edit_study(study, researcher_client):
    response = researcher_client.post(
        u("study_edit", study),
        {"title": "New title", "short_title": "CBHCR", "consent_text": study.consent_text},
    )
    assert response.status_code == 302
    study.refresh_from_db()
    assert (study.title, study.short_title, study.consent_version) == ("New title", "CBHCR", 1)
    assert AuditEvent.objects.filter(study=study, verb="study_update").exists()


def test_members_add_and_remove(study, researcher_client):
    newbie = f.make_user("nora-new")
    url = u("study_members", study)
    response = researcher_client.post(url, {"username": "nora-new", "role": "analyst"})
    assert response.status_code == 302
    assert Membership.objects.get(study=study, user=newbie).role == "analyst"
    assert AuditEvent.objects.filter(study=study, verb="member_add").exists()
    response = researcher_client.post(url, {"username": "nobody-here", "role": "analyst"})
    assert "No account is called “nobody-here”" in response.content.decode()
    response = researcher_client.post(url, {"username": "nora-new", "role": "researcher"})
    assert "already a member" in response.content.decode()
    researcher_client.post(u("study_member_remove", study), {"username": "nora-new"})
    assert not Membership.objects.filter(study=study, user=newbie).exists()


def test_last_researcher_cannot_be_removed(study, researcher, researcher_client):
    response = researcher_client.post(
        u("study_member_remove", study), {"username": researcher.username}, follow=True
    )
    assert "at least one researcher" in response.content.decode()
    assert Membership.objects.filter(study=study, user=researcher).exists()


# Panel ---------------------------------------------------------------------------------------


def test_panel_page_shows_target_and_actual(study, researcher_client):
    law = study.panel.groups.get(code="law")
    f.make_panelist(study, group=law)
    f.make_panelist(study, group=law)
    html = researcher_client.get(u("panel_detail", study)).content.decode()
    assert 'value="2" max="10">2 / 10</progress>' in html


def test_add_and_edit_group(study, researcher_client):
    response = researcher_client.post(
        u("group_create", study),
        {"code": "peer", "name": "Peer-support specialists", "target_size": 12},
    )
    assert response.status_code == 302
    group = StakeholderGroup.objects.get(panel=study.panel, code="peer")
    assert group.target_size == 12
    response = researcher_client.post(
        u("group_edit", study, code="peer"),
        {"code": "peer", "name": "Peer specialists", "target_size": 15, "order": 4},
    )
    group.refresh_from_db()
    assert (group.name, group.target_size) == ("Peer specialists", 15)


def test_group_code_clash_and_reserved_code_are_refused(study, researcher_client):
    response = researcher_client.post(
        u("group_create", study), {"code": "law", "name": "Police", "target_size": 1}
    )
    assert response.status_code == 200 and response.context["form"].errors
    response = researcher_client.post(
        u("group_create", study), {"code": "all", "name": "Everyone", "target_size": 1}
    )
    assert response.status_code == 200 and response.context["form"].errors
    assert study.panel.groups.count() == 3


def test_add_panelist_keeps_contact_apart(study, researcher_client):
    law = study.panel.groups.get(code="law")
    response = researcher_client.post(
        u("panelist_create", study),
        {
            "name": "Ana Ruiz",
            "email": "ana@example.org",
            "group": law.pk,
            "organisation": "Sheriff",
            "language": "es",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get(email="ana@example.org")
    assert contact.panelist.group == law and contact.panelist.language == "es"
    assert contact.panelist.public_id.startswith("P-")


def test_duplicate_panelist_email_keeps_what_was_typed(study, researcher_client):
    f.make_panelist(study, email="ana@example.org")
    law = study.panel.groups.get(code="law")
    response = researcher_client.post(
        u("panelist_create", study),
        {
            "name": "Ana Again",
            "email": "ANA@example.org",
            "group": law.pk,
            "organisation": "Typed org",
            "language": "en",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "already in this panel" in html and "Typed org" in html and "Ana Again" in html
    assert Contact.objects.count() == 1


def test_edit_panelist(study, researcher_client):
    p = f.make_panelist(study, email="old@example.org")
    clinical = study.panel.groups.get(code="clinical")
    response = researcher_client.post(
        u("panelist_edit", study, panelist=p.uuid),
        {
            "name": "N",
            "email": "new@example.org",
            "group": clinical.pk,
            "organisation": "",
            "language": "en",
        },
    )
    assert response.status_code == 302
    p.refresh_from_db()
    assert p.group == clinical and p.contact.email == "new@example.org"


# Framework -----------------------------------------------------------------------------------


def test_add_domain_statement_scenario(study, researcher_client):
    assert (
        researcher_client.post(
            u("domain_create", study), {"code": "ET", "name": "Engagement and trust"}
        ).status_code
        == 302
    )
    domain = Domain.objects.get(framework=study.framework, code="ET")
    response = researcher_client.post(
        u("statement_create", study),
        {
            "domain": domain.pk,
            "code": "ET1",
            "text": "Introduces themself by name.",
            "plain_text": "Says who they are.",
            "provenance": "focus_group",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    st = Statement.objects.get(code="ET1")
    assert st.provenance == Provenance.FOCUS_GROUP and st.plain_text == "Says who they are."
    response = researcher_client.post(
        u("scenario_create", study),
        {
            "code": "S1",
            "title": "Teen in distress",
            "risk_level": "low",
            "vignette": "A mother calls about her son.",
            "vignette_es": "Una madre llama.",
        },
    )
    assert response.status_code == 302
    assert Scenario.objects.get(code="S1").vignette_es == "Una madre llama."
    html = researcher_client.get(u("framework_detail", study)).content.decode()
    assert "Introduces themself by name." in html and "Teen in distress" in html


def test_statement_revision_and_edit(study, researcher_client):
    old = f.make_statement(study, code="A1")
    response = researcher_client.post(
        u("statement_edit", study, statement=old.uuid),
        {
            "domain": old.domain_id,
            "code": "A1",
            "text": "Edited text.",
            "provenance": "literature",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.text == "Edited text."


def test_empty_statement_is_refused(study, researcher_client):
    domain = f.make_domain(study)
    response = researcher_client.post(
        u("statement_create", study),
        {"domain": domain.pk, "code": "X1", "text": "", "provenance": "literature"},
    )
    assert response.status_code == 200 and "text" in response.context["form"].errors


# Rounds --------------------------------------------------------------------------------------


def test_round_story_create_choose_items_open_close(study, researcher_client):
    a = f.make_statement(study, code="A1")
    b = f.make_statement(study, code="B1")
    response = researcher_client.post(
        u("round_create", study),
        {"kind": "rating", "title": "Round one", "instructions": "Rate each statement."},
    )
    rnd = Round.objects.get(study=study, number=1)
    assert response["Location"] == ru("round_items", rnd)
    page = researcher_client.get(ru("round_items", rnd)).content.decode()
    assert "A1" in page and "B1" in page
    response = researcher_client.post(
        ru("round_items", rnd),
        {"statement": [str(a.uuid), str(b.uuid)], f"order-{a.uuid}": "2", f"order-{b.uuid}": "1"},
    )
    assert response.status_code == 302
    assert [i.statement.code for i in rnd.items.all()] == ["B1", "A1"]
    response = researcher_client.post(ru("round_open", rnd), follow=True)
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.OPEN
    assert "Close round now" in response.content.decode()
    # Nobody is on the panel: the confirmation says so and closing needs a reason.
    page = researcher_client.get(ru("round_close", rnd)).content.decode()
    assert "Below quorum." in page
    response = researcher_client.post(ru("round_close", rnd), {"reason": ""})
    assert "Write why you are closing it now" in response.content.decode()
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.OPEN
    response = researcher_client.post(
        ru("round_close", rnd), {"reason": "A dry run with no panel."}, follow=True
    )
    rnd.refresh_from_db()
    assert rnd.status in (Round.Status.CLOSED, Round.Status.ANALYSED)
    assert AuditEvent.objects.filter(study=study, verb="round_close").exists()


def test_bad_item_order_keeps_choices(study, researcher_client):
    a = f.make_statement(study, code="A1")
    rnd = f.make_round(study)
    response = researcher_client.post(
        ru("round_items", rnd), {"statement": [str(a.uuid)], f"order-{a.uuid}": "first"}
    )
    html = response.content.decode()
    assert "must be a whole number" in html and 'value="first"' in html
    assert not rnd.items.exists()


def test_items_of_an_open_round_cannot_change(study, researcher, researcher_client):
    a, b = f.make_statement(study), f.make_statement(study)
    rnd = f.make_round(study, statements=[a])
    from delphi.services.rounds import round_open

    round_open(round=rnd, by=researcher)
    response = researcher_client.post(ru("round_items", rnd), {"statement": [str(b.uuid)]})
    assert "has opened" in response.content.decode()
    assert [i.statement for i in rnd.items.all()] == [a]


def test_open_without_items_shows_message(study, researcher_client):
    rnd = f.make_round(study)
    response = researcher_client.post(ru("round_open", rnd), follow=True)
    assert "Choose the round&#x27;s items before opening it." in response.content.decode()
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.DRAFT


def test_generation_round_prompts(study, researcher_client):
    f.make_scenario(study, code="S1", title="Street")
    researcher_client.post(u("round_create", study), {"kind": "generation"})
    rnd = Round.objects.get(study=study)
    assert rnd.prompts.count() == 1
    response = researcher_client.post(
        ru("round_prompts", rnd), {"text": "What should a responder never do?"}
    )
    assert response.status_code == 302
    assert rnd.prompts.count() == 2
    first = rnd.prompts.first()
    researcher_client.post(ru("round_prompts", rnd), {"delete": first.pk})
    assert list(rnd.prompts.values_list("text", flat=True)) == ["What should a responder never do?"]


def test_round_edit_rejects_deadline_before_opening(study, researcher_client):
    rnd = f.make_round(study)
    response = researcher_client.post(
        ru("round_edit", rnd),
        {"title": "T", "opens_at": "2026-05-02T10:00", "closes_at": "2026-05-01T10:00"},
    )
    assert response.status_code == 200
    assert "must come after" in response.content.decode()


def test_round_detail_shows_counts_and_items(study, researcher_client):
    s = f.make_statement(study, text="Knows the local crisis lines.")
    rnd = f.make_round(study, statements=[s])
    p = f.make_panelist(study)
    f.rate(p, rnd, {rnd.items.first(): 8})
    html = researcher_client.get(ru("round_detail", rnd)).content.decode()
    assert "Knows the local crisis lines." in html
    assert "1 <span" in html  # one submitted


# Suggestions and lineage ---------------------------------------------------------------------


@pytest.fixture
def suggestion(study):
    domain = f.make_domain(study, code="CR", name="Connecting to resources")
    rnd = f.make_round(study, statements=[f.make_statement(study, domain=domain)])
    response = Response.objects.create(round=rnd, panelist=f.make_panelist(study))
    return Suggestion.objects.create(
        round=rnd, response=response, domain=domain, text="Knows the 988 line."
    )


def test_adopt_suggestion_creates_statement_and_lineage(study, suggestion, researcher_client):
    draft = f.make_round(study, number=2)
    response = researcher_client.post(
        ru("suggestion_decide", suggestion.round, suggestion=suggestion.uuid),
        {
            "action": "adopt",
            "reason": "New and distinct.",
            "code": "CR9",
            "domain": suggestion.domain_id,
            "text": "Knows and uses the 988 crisis line.",
        },
    )
    assert response.status_code == 302
    suggestion.refresh_from_db()
    st = Statement.objects.get(code="CR9")
    assert suggestion.status == "adopted" and suggestion.statement == st
    assert st.provenance == Provenance.PANELIST
    assert RoundItem.objects.filter(round=draft, statement=st).exists()
    change = ItemChange.objects.get(statement=st)
    assert change.action == "added" and change.reason == "New and distinct."


def test_merge_and_decline_need_a_reason(study, suggestion, researcher_client):
    url = ru("suggestion_decide", suggestion.round, suggestion=suggestion.uuid)
    response = researcher_client.post(url, {"action": "decline", "reason": ""})
    assert response.status_code == 200
    suggestion.refresh_from_db()
    assert suggestion.status == "new"
    target = Statement.objects.first()
    response = researcher_client.post(
        url, {"action": "merge", "reason": "Same as an existing item.", "statement": target.pk}
    )
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.status == "merged" and suggestion.statement == target
    response = researcher_client.post(url, {"action": "decline", "reason": "Again"})
    assert "already been decided" in response.content.decode()


def test_reword_and_drop_items_of_a_draft_round(study, researcher_client):
    a, b = f.make_statement(study, code="A1"), f.make_statement(study, code="B1")
    rnd = f.make_round(study, number=2, statements=[a, b])
    item_a, item_b = rnd.items.all()
    response = researcher_client.post(
        ru("item_change", rnd, item=item_a.uuid),
        {"action": "reword", "code": "A1r", "text": "Clearer wording.", "reason": "Ambiguous."},
    )
    assert response.status_code == 302
    item_a.refresh_from_db()
    assert item_a.statement.code == "A1r" and item_a.statement.revision_of == a
    researcher_client.post(
        ru("item_change", rnd, item=item_b.uuid), {"action": "drop", "reason": "Out of scope."}
    )
    assert not RoundItem.objects.filter(pk=item_b.pk).exists()
    actions = list(ItemChange.objects.filter(round=rnd).values_list("action", "reason"))
    assert actions == [("reworded", "Ambiguous."), ("dropped", "Out of scope.")]
    html = researcher_client.get(ru("round_detail", rnd)).content.decode()
    assert "Out of scope." in html


def test_analyst_reads_without_edit_controls(study, analyst_client):
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    overview = analyst_client.get(u("study_detail", study)).content.decode()
    assert "Your role: Analyst." in overview
    assert "New round" not in overview and "Edit study" not in overview
    protocol = analyst_client.get(u("study_protocol", study)).content.decode()
    assert "Save protocol" not in protocol and "Hyndman-Fan type" in protocol
    round_page = analyst_client.get(ru("round_detail", rnd)).content.decode()
    assert "Open round" not in round_page
    panel = analyst_client.get(u("panel_detail", study)).content.decode()
    assert "Add a panelist" not in panel
