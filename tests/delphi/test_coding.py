"""Item generation end to end: researchers see the open-ended answers, code them into statements
(new or existing, whole or a fragment), mark some not usable, and start the first rating round."""

import csv
import io
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from competencies.models import Provenance, Statement
from delphi.models import (
    AnswerCode,
    ItemChange,
    PromptAnswer,
    Response,
    Round,
    RoundPrompt,
    Suggestion,
)
from delphi.services import coding
from tests import factories as f

ANSWERS = [
    "Stay calm and use plain words when the person is shouting.",
    "Know which crisis lines and mobile teams cover the county.",
    "Ask directly about suicide and listen without judging.",
    "Check the scene for weapons before approaching anyone.",
    '=HYPERLINK("http://x") keep the person talking',
]


def build(study, *, status=Round.Status.CLOSED):
    domain = f.make_domain(study, code="CD", name="Communication and de-escalation")
    existing = f.make_statement(study, domain=domain, code="CD1", text="Uses calm language.")
    scenario = f.make_scenario(study, code="SC1", title="Man shouting in the street")
    now = timezone.now()
    rnd = f.make_round(
        study,
        kind=Round.Kind.GENERATION,
        status=status,
        opened_at=now,
        closed_at=now if status != Round.Status.OPEN else None,
    )
    p_scenario = RoundPrompt.objects.create(
        round=rnd, scenario=scenario, text="For SC1: what must the responder be able to do?"
    )
    p_general = RoundPrompt.objects.create(round=rnd, text="What must a responder know?", order=1)
    groups = list(study.panel.groups.all())
    panelists = [f.make_panelist(study, group=groups[i % len(groups)]) for i in range(5)]
    answers = []
    for i, (p, text) in enumerate(zip(panelists, ANSWERS, strict=True)):
        response = Response.objects.create(round=rnd, panelist=p)
        answers.append(
            PromptAnswer.objects.create(
                response=response, prompt=p_scenario if i % 2 == 0 else p_general, text=text
            )
        )
    # An empty answer box is not an answer.
    PromptAnswer.objects.create(response=answers[0].response, prompt=p_general, text="")
    return SimpleNamespace(
        study=study,
        domain=domain,
        existing=existing,
        scenario=scenario,
        round=rnd,
        prompts=(p_scenario, p_general),
        panelists=panelists,
        answers=answers,
    )


@pytest.fixture
def world(study):
    return build(study)


def queue_url(study, **params):
    url = reverse("coding_queue", kwargs={"study": study.uuid})
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def keys(*answers):
    return [f"a{a.pk}" for a in answers]


# --- Seeing the answers ---------------------------------------------------------------------


def test_queue_lists_every_answer_with_panelist_id_group_and_counts(world, researcher_client):
    page = researcher_client.get(queue_url(world.study)).content.decode()
    assert "5 answers, 0 coded, 0 not usable, 5 to do" in page
    for a in world.answers:
        assert a.response.panelist.public_id in page
    assert world.panelists[1].group.name in page
    assert "Stay calm and use plain words" in page


def test_queue_search_and_filters_narrow_the_list_and_the_counts(world, researcher_client):
    page = researcher_client.get(queue_url(world.study, q="crisis+lines")).content.decode()
    assert "1 answer, 0 coded" in page
    assert "Know which crisis lines" in page and "Stay calm" not in page
    page = researcher_client.get(
        queue_url(world.study, prompt=world.prompts[0].pk)
    ).content.decode()
    assert "3 answers," in page and "Know which crisis lines" not in page
    page = researcher_client.get(
        queue_url(world.study, scenario=world.scenario.pk)
    ).content.decode()
    assert "3 answers," in page
    group = world.panelists[1].group
    page = researcher_client.get(queue_url(world.study, group=group.pk)).content.decode()
    assert "Know which crisis lines" in page and "Stay calm" not in page
    # Nonsense parameters are ignored, not a server error.
    assert researcher_client.get(queue_url(world.study, round="x", status="zz")).status_code == 200


def test_queue_is_paginated(world, researcher_client, monkeypatch):
    from delphi.views import coding as views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    page = researcher_client.get(queue_url(world.study)).content.decode()
    assert "showing 1–2" in page and "Page 1 of 3" in page
    page = researcher_client.get(queue_url(world.study, page=3)).content.decode()
    assert "showing 5–5" in page and "Check the scene for weapons" in page


def test_queue_query_count_is_flat(study, researcher, researcher_client):
    small = build(study)
    url = queue_url(study)
    researcher_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        researcher_client.get(url)
    for a in small.answers:
        coding.coding_link(study=study, by=researcher, keys=keys(a), statement=small.existing)
    more = [f.make_panelist(study) for _ in range(10)]
    for p in more:
        response = Response.objects.create(round=small.round, panelist=p)
        PromptAnswer.objects.create(response=response, prompt=small.prompts[1], text="More words.")
    with CaptureQueriesContext(connection) as after:
        researcher_client.get(url)
    assert len(after.captured_queries) == len(before.captured_queries)


# --- Coding into a new statement --------------------------------------------------------------


def test_three_answers_become_one_new_statement(world, researcher, researcher_client):
    a, b, c = world.answers[:3]
    response = researcher_client.post(
        queue_url(world.study, q="e"),
        {
            "entry": keys(a, b, c),
            "action": "new",
            "domain": world.domain.pk,
            "code": "",
            "text": "Communicates calmly and knows the local crisis services.",
            "plain_text": "Stays calm and knows who to call.",
            "text_es": "Se comunica con calma y conoce los servicios de crisis locales.",
            "plain_text_es": "Mantiene la calma y sabe a quién llamar.",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("?source=answers&q=e")
    st = Statement.objects.get(code="CD-P1")
    assert st.provenance == Provenance.PANELIST_ANSWER
    assert st.text_es.startswith("Se comunica") and st.plain_text_es.startswith("Mantiene")
    assert st.get_provenance_display() == "Panelist open-ended answer"
    codes = AnswerCode.objects.filter(statement=st)
    assert {x.answer_id for x in codes} == {a.pk, b.pk, c.pk}
    assert all(x.created_by == researcher and x.round == world.round for x in codes)
    page = researcher_client.get(queue_url(world.study)).content.decode()
    assert "5 answers, 3 coded, 0 not usable, 2 to do" in page
    assert "CD-P1" in page and researcher.username in page


def test_new_statement_needs_domain_and_text_and_keeps_the_selection(world, researcher_client):
    a, b = world.answers[:2]
    response = researcher_client.post(
        queue_url(world.study),
        {"entry": keys(a, b), "action": "new", "domain": "", "text": "  "},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose the new statement&#x27;s domain." in page
    assert "Write the new statement&#x27;s wording." in page
    assert page.count("checked") >= 2  # the two picks are still ticked
    assert not AnswerCode.objects.exists()


def test_nothing_selected_is_refused(world, researcher_client):
    response = researcher_client.post(
        queue_url(world.study), {"action": "link", "statement": world.existing.pk}
    )
    assert "Select at least one answer or suggestion first." in response.content.decode()
    assert not AnswerCode.objects.exists()


def test_duplicate_code_is_refused(world, researcher):
    with pytest.raises(ValidationError, match="already exists"):
        coding.coding_create_statement(
            study=world.study,
            by=researcher,
            keys=keys(world.answers[0]),
            domain=world.domain,
            code="CD1",
            text="x",
        )
    assert not AnswerCode.objects.exists()


# --- Linking, several statements, fragments ---------------------------------------------------


def test_an_answer_can_support_several_statements(world, researcher):
    a = world.answers[0]
    coding.coding_link(study=world.study, by=researcher, keys=keys(a), statement=world.existing)
    other = coding.coding_create_statement(
        study=world.study, by=researcher, keys=keys(a), domain=world.domain, text="Stays calm."
    )
    assert set(a.codes.values_list("statement__code", flat=True)) == {"CD1", other.code}
    with pytest.raises(ValidationError, match="already supports CD1"):
        coding.coding_link(study=world.study, by=researcher, keys=keys(a), statement=world.existing)
    assert a.codes.count() == 2


def test_a_fragment_of_an_answer_is_coded(world, researcher, researcher_client):
    a = world.answers[0]
    response = researcher_client.post(
        queue_url(world.study),
        {
            "entry": keys(a),
            f"fragment-a{a.pk}": "use  plain words",
            "action": "link",
            "statement": world.existing.pk,
        },
    )
    assert response.status_code == 302
    assert AnswerCode.objects.get().fragment == "use plain words"


def test_a_fragment_not_in_the_answer_is_refused(world, researcher_client):
    a = world.answers[0]
    response = researcher_client.post(
        queue_url(world.study),
        {
            "entry": keys(a),
            f"fragment-a{a.pk}": "words nobody wrote",
            "action": "link",
            "statement": world.existing.pk,
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "is not part of the answer by " + a.response.panelist.public_id in page
    assert "words nobody wrote" in page  # what was typed is still there
    assert not AnswerCode.objects.exists()


# --- Bad input: another study -----------------------------------------------------------------


def test_a_statement_of_another_study_is_refused(world, researcher, researcher_client):
    other = f.make_study(title="Another study", researcher=researcher)
    foreign = f.make_statement(other, code="X1")
    with pytest.raises(ValidationError, match="belongs to another study"):
        coding.coding_link(
            study=world.study, by=researcher, keys=keys(world.answers[0]), statement=foreign
        )
    response = researcher_client.post(
        queue_url(world.study),
        {"entry": keys(world.answers[0]), "action": "link", "statement": foreign.pk},
    )
    assert "answers can only support statements of their own study" in response.content.decode()
    assert not AnswerCode.objects.exists()


def test_an_answer_of_another_study_is_refused(world, researcher):
    other = build(f.make_study(title="Another study", researcher=researcher))
    with pytest.raises(ValidationError, match="not answers of this study"):
        coding.coding_link(
            study=world.study,
            by=researcher,
            keys=keys(world.answers[0], other.answers[0]),
            statement=world.existing,
        )
    with pytest.raises(ValidationError, match="not an answer"):
        coding.coding_link(study=world.study, by=researcher, keys=["x1"], statement=world.existing)
    assert not AnswerCode.objects.exists()


# --- Not usable, withdrawing, working together ------------------------------------------------


def test_not_usable_needs_a_reason(world, researcher, researcher_client):
    a = world.answers[4]
    response = researcher_client.post(
        queue_url(world.study), {"entry": keys(a), "action": "unusable", "reason": " "}
    )
    assert "Say why these answers are not usable" in response.content.decode()
    assert not AnswerCode.objects.exists()
    researcher_client.post(
        queue_url(world.study),
        {"entry": keys(a), "action": "unusable", "reason": "Not a competency."},
    )
    mark = AnswerCode.objects.get()
    assert mark.statement is None and mark.unusable_reason == "Not a competency."
    page = researcher_client.get(queue_url(world.study, status="unusable")).content.decode()
    assert "5 answers, 0 coded, 1 not usable, 4 to do" in page  # counts ignore the status filter
    assert "keep the person talking" in page and "Stay calm" not in page
    with pytest.raises(ValidationError, match="marked not usable"):
        coding.coding_link(study=world.study, by=researcher, keys=keys(a), statement=world.existing)


def test_a_linked_answer_cannot_be_marked_not_usable(world, researcher):
    a = world.answers[0]
    coding.coding_link(study=world.study, by=researcher, keys=keys(a), statement=world.existing)
    with pytest.raises(ValidationError, match="already support a statement"):
        coding.coding_mark_unusable(study=world.study, by=researcher, keys=keys(a), reason="r")


def test_withdrawing_a_code_keeps_it_with_who_and_why(world, researcher, researcher_client):
    a = world.answers[0]
    (row,) = coding.coding_link(
        study=world.study, by=researcher, keys=keys(a), statement=world.existing
    )
    url = reverse("coding_withdraw", kwargs={"study": world.study.uuid})
    researcher_client.post(url, {"code_id": row.pk, "reason": ""})
    row.refresh_from_db()
    assert row.withdrawn_at is None
    response = researcher_client.post(url, {"code_id": row.pk, "reason": "Misread the answer."})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.withdrawn_by == researcher and row.withdraw_reason == "Misread the answer."
    page = researcher_client.get(queue_url(world.study)).content.decode()
    assert "0 coded" in page and "Misread the answer." in page
    # Linking again after a withdrawal is a new row; the old one stays.
    coding.coding_link(study=world.study, by=researcher, keys=keys(a), statement=world.existing)
    assert a.codes.count() == 2


def test_two_researchers_see_each_others_coding(world, researcher, client):
    colleague = f.make_user("carmen-coder")
    from delphi.models import Membership

    Membership.objects.create(study=world.study, user=colleague, role="researcher")
    coding.coding_link(
        study=world.study, by=researcher, keys=keys(world.answers[0]), statement=world.existing
    )
    client.force_login(colleague)
    page = client.get(queue_url(world.study)).content.decode()
    assert "1 coded" in page
    assert "rita-researcher" in page and "Latest coding, by everyone" in page


# --- Suggestions join the queue ---------------------------------------------------------------


def test_suggestions_from_rating_rounds_join_the_queue(world, researcher, researcher_client):
    rating = f.make_round(world.study, number=2, statements=[world.existing])
    response = Response.objects.create(round=rating, panelist=world.panelists[0])
    sug = Suggestion.objects.create(
        round=rating, response=response, text="Knows the county's mobile crisis team."
    )
    page = researcher_client.get(queue_url(world.study, source="suggestions")).content.decode()
    assert "1 suggestion, 0 coded" in page and "mobile crisis team" in page
    researcher_client.post(
        queue_url(world.study, source="suggestions"),
        {"entry": [f"s{sug.pk}"], "action": "link", "statement": world.existing.pk},
    )
    sug.refresh_from_db()
    assert sug.status == Suggestion.Status.MERGED and sug.statement == world.existing
    code = AnswerCode.objects.get(suggestion=sug)
    assert code.round == rating


# --- A statement's sources, lineage, the next round, exports ----------------------------------


def test_statement_shows_the_answers_it_came_from(world, researcher, researcher_client):
    st = coding.coding_create_statement(
        study=world.study,
        by=researcher,
        keys=keys(*world.answers[:3]),
        domain=world.domain,
        text="Communicates calmly.",
    )
    url = reverse("statement_sources", kwargs={"study": world.study.uuid, "statement": st.uuid})
    page = researcher_client.get(url).content.decode()
    assert "derived from 3 answers in round 1" in page
    for a in world.answers[:3]:
        assert a.response.panelist.public_id in page and a.text[:20] in page


def test_derivation_phrase():
    assert coding.derivation_phrase({1: 7}) == "derived from 7 answers in round 1"
    assert coding.derivation_phrase({1: 1}) == "derived from 1 answer in round 1"
    assert (
        coding.derivation_phrase({3: 2, 1: 7})
        == "derived from 7 answers in round 1 and 2 in round 3"
    )
    assert coding.derivation_phrase({}) == ""


def test_start_the_first_rating_round_from_a_closed_generation_round(
    study, researcher, researcher_client
):
    w = build(study, status=Round.Status.OPEN)
    st = coding.coding_create_statement(
        study=study, by=researcher, keys=keys(*w.answers[:3]), domain=w.domain, text="Calm."
    )
    coding.coding_link(study=study, by=researcher, keys=keys(w.answers[3]), statement=w.existing)
    url = reverse("round_start_rating", kwargs={"study": study.uuid, "round": w.round.uuid})
    researcher_client.post(url)
    assert study.rounds.count() == 1  # still open: refused
    Round.objects.filter(pk=w.round.pk).update(status=Round.Status.CLOSED, closed_at=timezone.now())
    detail = reverse("round_detail", kwargs={"study": study.uuid, "round": w.round.uuid})
    page = researcher_client.get(detail).content.decode()
    assert "Start the first rating round" in page and "4 coded" in page
    response = researcher_client.post(url)
    new = study.rounds.get(number=2)
    assert response["Location"] == reverse(
        "round_items", kwargs={"study": study.uuid, "round": new.uuid}
    )
    assert new.kind == Round.Kind.RATING and new.status == Round.Status.DRAFT
    assert [i.statement for i in new.items.order_by("order")] == [w.existing, st]
    change = ItemChange.objects.get(round=new, statement=st)
    assert change.action == ItemChange.Action.ADDED
    assert change.reason == "Derived from 3 answers in round 1."
    items_page = researcher_client.get(response["Location"]).content.decode()
    assert items_page.count("checked") >= 2
    # A second press does not draft another round.
    researcher_client.post(url)
    assert study.rounds.count() == 2
    # Coding more answers now adds the new statement to that draft round, with its lineage.
    late = coding.coding_create_statement(
        study=study, by=researcher, keys=keys(w.answers[4]), domain=w.domain, text="Late."
    )
    assert new.items.filter(statement=late).exists()
    assert ItemChange.objects.get(statement=late).reason == "Derived from 1 answer in round 1."


def test_start_rating_refused_for_a_rating_round(world, researcher):
    rating = f.make_round(world.study, number=2, statements=[world.existing])
    with pytest.raises(ValidationError, match="Only an item-generation round"):
        coding.round_start_rating(round=rating, by=researcher)


def test_export_has_every_answer_and_code(world, researcher, analyst_client):
    coding.coding_link(
        study=world.study, by=researcher, keys=keys(world.answers[0]), statement=world.existing
    )
    coding.coding_mark_unusable(
        study=world.study, by=researcher, keys=keys(world.answers[4]), reason="Off topic."
    )
    response = analyst_client.get(reverse("coding_export", kwargs={"study": world.study.uuid}))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 5
    first = next(r for r in rows if r["text"].startswith("Stay calm"))
    assert first["statement"] == "CD1" and first["coded_by"] == researcher.username
    assert first["panelist"] == world.answers[0].response.panelist.public_id
    assert first["scenario"] == "SC1"
    odd = next(r for r in rows if "keep the person talking" in r["text"])
    assert odd["text"].startswith("'=") and odd["not_usable_reason"] == "Off topic."


def test_analyst_sees_the_queue_without_coding_controls(world, analyst_client):
    page = analyst_client.get(queue_url(world.study)).content.decode()
    assert "5 answers" in page and "Save the code" not in page
    response = analyst_client.post(
        queue_url(world.study),
        {"entry": keys(world.answers[0]), "action": "link", "statement": world.existing.pk},
    )
    assert response.status_code == 403 and not AnswerCode.objects.exists()


def test_deciding_a_suggestion_on_its_own_page_is_a_code_too(world, researcher):
    from delphi.services.review import suggestion_adopt, suggestion_decline

    rating = f.make_round(world.study, number=2, statements=[world.existing])
    response = Response.objects.create(round=rating, panelist=world.panelists[0])
    kept = Suggestion.objects.create(round=rating, response=response, text="Knows the mobile team.")
    dropped = Suggestion.objects.create(round=rating, response=response, text="Likes pizza.")
    st = suggestion_adopt(
        suggestion=kept,
        by=researcher,
        code="CD9",
        domain=world.domain,
        text="Knows the mobile crisis team.",
        reason="New and specific.",
    )
    suggestion_decline(suggestion=dropped, by=researcher, reason="Not a competency.")
    assert AnswerCode.objects.get(suggestion=kept).statement == st
    assert AnswerCode.objects.get(suggestion=dropped).unusable_reason == "Not a competency."
    assert coding.derivations([st.pk]) == {st.pk: {2: 1}}


def test_framework_page_says_what_a_statement_was_derived_from(
    world, researcher, researcher_client
):
    coding.coding_link(
        study=world.study,
        by=researcher,
        keys=keys(*world.answers[:2]),
        statement=world.existing,
    )
    url = reverse("framework_detail", kwargs={"study": world.study.uuid})
    assert "derived from 2 answers in round 1" in researcher_client.get(url).content.decode()
