"""The demo study gives every page something real to show, labelled as demo data."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from delphi.demo import content
from delphi.models import Study

BANNER = "Demo study: the panelists and their ratings are simulated"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eager():
    # `make run` has no broker, so invitations go out in-process; do the same in both CI modes.
    from delphi.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)
    return Study.objects.get(uuid=content.DEMO_STUDY_UUID)


def signed_in(client, username):
    client.force_login(get_user_model().objects.get(username=username))
    return client


def study_pages(demo):
    from competencies.models import Statement

    gen = demo.rounds.get(number=1)
    r1 = demo.rounds.get(number=2)
    # The demo's last rating round: open, with simulated answers (or a draft in older demos).
    r2 = demo.rounds.filter(kind="rating", status__in=["open", "draft"]).latest("number")
    s = {"study": demo.uuid}
    return {
        "study_detail": (reverse("study_detail", kwargs=s), [content.TITLE]),
        "panel_detail": (
            reverse("panel_detail", kwargs=s),
            ["Law enforcement", "911 call-takers and dispatchers", "Peer-support specialists"],
        ),
        "framework_detail": (
            reverse("framework_detail", kwargs=s),
            ["Communication and de-escalation", "ENG-1", "barricaded"],
        ),
        # Round 1 asked open-ended questions; its answers were coded into statements.
        "round_detail_gen": (
            reverse("round_detail", kwargs={**s, "round": gen.uuid}),
            ["what must the responder be able to do", "answers", "coded", "statements derived"],
        ),
        "coding_queue": (
            reverse("coding_queue", kwargs=s),
            ["Talk to the mother first", "Que el traslado al hospital", "not usable"],
        ),
        "statement_sources": (
            reverse(
                "statement_sources",
                kwargs={
                    **s,
                    "statement": Statement.objects.get(framework=demo.framework, code="ENG-5").uuid,
                },
            ),
            ["ENG-5", "Get an interpreter on the line early", "intérpretes profesionales"],
        ),
        "round_detail_1": (reverse("round_detail", kwargs={**s, "round": r1.uuid}), ["ENG-1"]),
        # Round 4 holds the statements round 2 carried forward.
        "round_detail_2": (
            reverse("round_detail", kwargs={**s, "round": r2.uuid}),
            [item.statement.code for item in r2.items.select_related("statement")[:3]],
        ),
        "round_results": (
            reverse("round_results", kwargs={**s, "round": r1.uuid}),
            ["ENG-1", "LIV-6"],
        ),
    }


@pytest.mark.parametrize(
    "page",
    [
        "study_detail",
        "panel_detail",
        "framework_detail",
        "round_detail_gen",
        "coding_queue",
        "statement_sources",
        "round_detail_1",
        "round_detail_2",
        "round_results",
    ],
)
@pytest.mark.parametrize("username", ["researcher", "analyst"])
def test_demo_pages_show_the_study_with_the_demo_banner(client, demo, page, username):
    url, expected = study_pages(demo)[page]
    response = signed_in(client, username).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert BANNER in html
    for text in expected:
        assert text in html, f"{text!r} not on {page}"


def test_dashboard_lists_the_demo_study(client, demo):
    response = signed_in(client, "researcher").get(reverse("dashboard"))
    assert response.status_code == 200
    assert content.TITLE in response.content.decode()


def test_results_csv_has_a_row_per_item_and_group(client, demo):
    r1 = demo.rounds.get(number=2)
    url = reverse("round_results_csv", kwargs={"study": demo.uuid, "round": r1.uuid})
    response = signed_in(client, "analyst").get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    lines = body.decode().strip().splitlines()
    assert len(lines) - 1 >= r1.items.count()


def test_a_newcomer_can_open_round4_and_answer_it_as_a_simulated_panelist(
    client, demo, eager, mailoutbox, django_capture_on_commit_callbacks
):
    """Round 4 is open and invited; a fresh link (a re-send) leads into it."""
    from delphi.services.invitations import invitation_resend
    from panels.models import Contact

    researcher = get_user_model().objects.get(username="researcher")
    r2 = demo.rounds.get(kind="rating", status="open")

    # Someone who answered the rating round (round 2) sees their own rating and the panel's.
    answered = Contact.objects.filter(
        panelist__responses__round__number=2,
        panelist__responses__status="submitted",
        panelist__status="active",
        panelist__language="en",
    ).values_list("email", flat=True)
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(
            round=r2, panelist=Contact.objects.get(email=answered[0]).panelist, by=researcher
        )
    mail = next(m for m in mailoutbox if m.to == [answered[0]])
    link = re.search(r"https?://\S+/p/\S+", mail.body).group(0)
    response = client.get(link, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert BANNER in html
    first = r2.items.select_related("statement").first().statement
    assert first.text in html
    assert "Peer-support specialists" in html  # the per-group feedback from round 2
    # The statement adopted from a round-2 suggestion is on the questionnaire too, new.
    adopted = r2.items.filter(carried_from__isnull=True).get().statement
    pages = [html] + [
        client.get(f"{response.request['PATH_INFO']}?page={n}").content.decode()
        for n in range(2, 8)
    ]
    assert any(adopted.text in page for page in pages)
