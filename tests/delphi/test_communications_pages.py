"""The researcher's side of messages: the round page's reminder plan and "remind now", custom
messages, the deadline change that can notify, and the communications log."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delphi.celery import app as celery_app
from delphi.models import AuditEvent, Communication, CustomMessage, Round
from panels.models import Panelist
from tests import factories as f
from tests.delphi.panelist.conftest import open_round
from tests.delphi.test_reminders import invite

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def eager():
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def live(study):
    now = timezone.now()
    rnd = open_round(study, n_items=4, opened_at=now - 2 * DAY, closes_at=now + 5 * DAY)
    groups = list(study.panel.groups.all())
    people = [
        f.make_panelist(study, group=groups[i % 2], language="es" if i == 0 else "en")
        for i in range(4)
    ]
    for p in people:
        invite(p, at=now - 2 * DAY + timedelta(minutes=1))
    f.rate(people[3], rnd, {i: 8 for i in rnd.items.all()})  # submitted
    return rnd, people


def u(rnd, tail=""):
    return f"/studies/{rnd.study.uuid}/rounds/{rnd.uuid}/{tail}"


def test_outsider_404_analyst_403(client, outsider, analyst, live):
    rnd, _ = live
    client.force_login(outsider)
    for tail in ("communications/", "communications/message/"):
        assert client.get(u(rnd, tail)).status_code == 404
    assert client.post(u(rnd, "communications/remind-now/")).status_code == 404
    client.force_login(analyst)
    assert client.get(u(rnd, "communications/")).status_code == 200
    assert client.get(u(rnd, "communications/message/")).status_code == 403
    assert client.post(u(rnd, "communications/remind-now/")).status_code == 403
    assert not Communication.objects.exists()


def test_round_page_shows_plan_and_remind_now(
    researcher_client, live, django_capture_on_commit_callbacks
):
    rnd, people = live
    body = researcher_client.get(u(rnd)).content.decode()
    assert "3 days after opening" in body and "1 day before the deadline" in body
    assert "Remind non-completers now (3)" in body
    nonce = re.search(r'name="nonce" value="([0-9a-f]+)"', body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post(u(rnd, "communications/remind-now/"), {"nonce": nonce})
    assert response.status_code == 302
    assert len(mail.outbox) == 3
    # The same form posted twice (a double click, a reload) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        researcher_client.post(u(rnd, "communications/remind-now/"), {"nonce": nonce})
    assert len(mail.outbox) == 3
    body = researcher_client.get(u(rnd)).content.decode()
    assert "Sent by hand" in body and "3 reminded" in body


def test_custom_message_refused_when_empty_then_sent_in_each_language(
    researcher_client, live, django_capture_on_commit_callbacks
):
    rnd, people = live
    response = researcher_client.post(
        u(rnd, "communications/message/"),
        {"audience": "noncompleters", "subject": "", "body": "", "subject_es": "Hola"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Write a subject." in page and "Write the message." in page
    assert 'value="Hola"' in page  # what was typed stays in the form
    assert not CustomMessage.objects.exists() and not Communication.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post(
            u(rnd, "communications/message/"),
            {
                "audience": "noncompleters",
                "subject": "Halfway there",
                "body": "Thank you & keep going.",
                "subject_es": "A mitad de camino",
                "body_es": "Gracias; siga adelante.",
            },
        )
    assert response.status_code == 302
    by_to = {m.to[0]: m for m in mail.outbox}
    assert len(by_to) == 3  # the panelist who submitted is not a non-completer
    spanish = by_to[people[0].contact.email]
    assert spanish.subject == "A mitad de camino" and "Gracias; siga adelante." in spanish.body
    english = by_to[people[1].contact.email]
    assert english.subject == "Halfway there" and "Thank you & keep going." in english.body
    assert "/p/t/" in english.body  # a fresh personal link while the round is open
    assert english.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    log = researcher_client.get(u(rnd, "communications/")).content.decode()
    assert "Custom message" in log and "Halfway there" in log


def test_custom_message_to_one_group(researcher_client, live, django_capture_on_commit_callbacks):
    rnd, people = live
    group = people[1].group
    with django_capture_on_commit_callbacks(execute=True):
        researcher_client.post(
            u(rnd, "communications/message/"),
            {"audience": "group", "group": group.pk, "subject": "S", "body": "B"},
        )
    expected = {p.contact.email for p in people if p.group_id == group.pk}
    assert {m.to[0] for m in mail.outbox} == expected
    response = researcher_client.post(
        u(rnd, "communications/message/"), {"audience": "group", "subject": "S", "body": "B"}
    )
    assert "Choose the stakeholder group." in response.content.decode()


def _edit(client, rnd, **extra):
    data = {
        "title": rnd.title,
        "instructions": "",
        "instructions_es": "",
        "closes_at": rnd.closes_at.strftime("%Y-%m-%dT%H:%M"),
        "remind_after_open": "3",
        "remind_before_deadline": "1",
    }
    data.update(extra)
    return client.post(u(rnd, "edit/"), data)


def test_reminder_after_deadline_and_past_deadline_are_refused(researcher_client, live):
    rnd, _ = live
    response = _edit(researcher_client, rnd, remind_after_open="30")
    assert response.status_code == 200
    assert "would fall after the deadline" in response.content.decode()
    past = (timezone.now() - DAY).strftime("%Y-%m-%dT%H:%M")
    response = _edit(researcher_client, rnd, closes_at=past)
    assert "The deadline is in the past" in response.content.decode()
    fresh = Round.objects.get(pk=rnd.pk)
    assert fresh.closes_at == rnd.closes_at and fresh.reminder_plan == rnd.reminder_plan


def test_plan_saved_from_the_form(researcher_client, live):
    rnd, _ = live
    response = _edit(researcher_client, rnd, remind_after_open="1, 4", remind_before_deadline="")
    assert response.status_code == 302
    assert Round.objects.get(pk=rnd.pk).reminder_plan == [
        {"anchor": "open", "days": 1},
        {"anchor": "open", "days": 4},
    ]


def test_extending_the_deadline_is_logged_and_can_notify(
    researcher_client, live, django_capture_on_commit_callbacks
):
    rnd, people = live
    later = (rnd.closes_at + 3 * DAY).strftime("%Y-%m-%dT%H:%M")
    with django_capture_on_commit_callbacks(execute=True):
        response = _edit(researcher_client, rnd, closes_at=later, notify_deadline="on")
    assert response.status_code == 302
    assert len(mail.outbox) == 3
    assert "New deadline" in mail.outbox[0].subject or "Nueva fecha" in mail.outbox[0].subject
    event = AuditEvent.objects.get(verb="round.deadline_change")
    assert event.detail["notified"] is True and event.new != event.old  # old/new are audit columns
    assert Communication.objects.filter(kind="deadline", status="sent").count() == 3
    # Without the box ticked: logged, nobody e-mailed.
    rnd.refresh_from_db()
    even_later = (rnd.closes_at + DAY).strftime("%Y-%m-%dT%H:%M")
    with django_capture_on_commit_callbacks(execute=True):
        _edit(researcher_client, rnd, closes_at=even_later)
    assert len(mail.outbox) == 3
    assert AuditEvent.objects.filter(verb="round.deadline_change").count() == 2


def test_summary_counts_opened_and_submitted_after(
    client, researcher_client, live, django_capture_on_commit_callbacks
):
    rnd, people = live
    with django_capture_on_commit_callbacks(execute=True):
        researcher_client.post(u(rnd, "communications/remind-now/"))
    # One reminded panelist follows the link and submits.
    message = next(m for m in mail.outbox if m.to[0] == people[1].contact.email)
    link = next(line for line in message.body.splitlines() if "/p/t/" in line).strip()
    client.get("/" + link.split("://", 1)[1].split("/", 1)[1])
    f.rate(people[1], rnd, {i: 5 for i in rnd.items.all()})
    from delphi.services.communications import communications_summary

    (row,) = communications_summary(round=rnd)
    assert (row["kind"], row["sent"], row["failed"], row["opened"], row["submitted_after"]) == (
        "reminder",
        3,
        0,
        1,
        1,
    )


def test_open_round_page_queries_flat_in_panel_size(
    researcher_client, live, django_capture_on_commit_callbacks
):
    rnd, _ = live

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert researcher_client.get(u(rnd)).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    now = timezone.now()
    for _ in range(15):
        invite(f.make_panelist(rnd.study), at=now - DAY)
    with django_capture_on_commit_callbacks(execute=True):
        researcher_client.post(u(rnd, "communications/remind-now/"))
    assert count() == small
    assert Panelist.objects.count() == 19
