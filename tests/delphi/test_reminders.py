"""Reminders and the deadline sweep, told as stories: a round with a reminder plan, a panel of
non-completers and completers, and the sweep run as beat (or the embedded server) would."""

import smtplib
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from delphi.celery import app as celery_app
from delphi.models import Communication, ReminderSent, Response, Round, Study
from delphi.services import reminders, sweeps
from delphi.services.communications import communications_resume
from panels.models import Invitation, Panelist
from tests import factories as f
from tests.delphi.panelist.conftest import open_round

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def eager():
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def invite(panelist, *, at):
    """A link sent to this round at ``at`` (what the invitation task leaves behind)."""
    from panels.tokens import token_mint

    _raw, hashed = token_mint()
    return Invitation.objects.create(
        panelist=panelist,
        token_hash=hashed,
        status=Invitation.Status.SENT,
        sent_at=at,
        expires_at=at + 60 * DAY,
    )


@pytest.fixture
def cast(study):
    """Round opened 4 days ago, deadline in 3 days, plan: 3 days after opening, 1 before."""
    now = timezone.now()
    rnd = open_round(
        study, n_items=6, opened_at=now - 4 * DAY, closes_at=now + 3 * DAY
    )  # default plan: open+3d, deadline-1d
    people = {
        name: f.make_panelist(study, email=f"{name}@example.org", **extra)
        for name, extra in {
            "ana": {"language": "es"},
            "ben": {},
            "cleo": {},  # submitted
            "dev": {"status": Panelist.Status.WITHDRAWN, "withdrawn_at": now},
            "eve": {"unsubscribed_at": now},
            "finn": {},  # never invited to this round
            "gus": {},  # invited after the slot fell due
        }.items()
    }
    for name in ("ana", "ben", "cleo", "dev", "eve"):
        invite(people[name], at=now - 4 * DAY + timedelta(minutes=5))
    invite(people["gus"], at=now - 2 * timedelta(hours=1))
    items = list(rnd.items.all())
    f.rate(people["cleo"], rnd, {i: 7 for i in items})
    f.rate(people["ben"], rnd, {items[0]: 5, items[1]: None}, submitted=False)
    return rnd, people


def sweep(capture):
    with capture(execute=True):
        return sweeps.sweep_due()


def test_reminder_reaches_exactly_the_noncompleters_once(cast, django_capture_on_commit_callbacks):
    rnd, people = cast
    result = sweep(django_capture_on_commit_callbacks)
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@example.org", "ben@example.org"]
    assert result.reminders_queued == 2
    # One row per (round, panelist, slot), each with its logged message.
    rows = ReminderSent.objects.filter(round=rnd)
    assert {(r.panelist.contact.email, r.slot) for r in rows} == {
        ("ana@example.org", "open+3d"),
        ("ben@example.org", "open+3d"),
    }
    assert all(r.communication.status == Communication.Status.SENT for r in rows)
    # A second sweep, and a third, find nothing new to send.
    sweep(django_capture_on_commit_callbacks)
    sweep(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2


def test_reminder_content_language_link_and_unsubscribe_headers(
    client, cast, django_capture_on_commit_callbacks
):
    rnd, people = cast
    sweep(django_capture_on_commit_callbacks)
    by_to = {m.to[0]: m for m in mail.outbox}
    ben, ana = by_to["ben@example.org"], by_to["ana@example.org"]
    assert "Reminder: round 1" in ben.subject
    assert "You still have 4 statements to rate." in ben.body  # 6 items, 2 answered
    assert "Recordatorio" in ana.subject
    assert "Todavía le quedan 6 enunciados por puntuar." in ana.body
    assert ben.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ben.extra_headers["List-Unsubscribe"].startswith("<http")
    # The fresh link works, and opening it is logged as the first visit after the reminder.
    link = next(line for line in ben.body.splitlines() if "/p/t/" in line).strip()
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 302
    comm = Communication.objects.get(kind="reminder", panelist=people["ben"])
    assert comm.first_visit_at is not None and comm.first_visit_at >= comm.sent_at
    # The invitation's own link still works too: a reminder does not revoke it.
    assert Invitation.objects.filter(panelist=people["ben"], status="revoked").count() == 0


def test_only_the_latest_missed_slot_is_sent(study, django_capture_on_commit_callbacks):
    now = timezone.now()
    rnd = open_round(study, opened_at=now - 10 * DAY, closes_at=now + timedelta(hours=12))
    Round.objects.filter(pk=rnd.pk).update(
        reminder_plan=[{"anchor": "open", "days": 2}, {"anchor": "open", "days": 5}]
    )
    p = f.make_panelist(study)
    invite(p, at=now - 10 * DAY + timedelta(minutes=1))
    sweep(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    slots = dict(ReminderSent.objects.filter(round=rnd).values_list("slot", "communication"))
    assert set(slots) == {"open+2d", "open+5d"}
    assert slots["open+2d"] is None and slots["open+5d"] is not None


def test_racing_claim_falls_back_and_never_duplicates(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    """Another sweep claims one panelist's slot between our read and our insert."""
    rnd, people = cast
    real_filter = ReminderSent.objects.filter

    def sneaky_filter(*args, **kwargs):
        qs = real_filter(*args, **kwargs)
        if kwargs.get("slot") == "open+3d" and not real_filter(round=rnd).exists():
            ReminderSent.objects.create(round=rnd, panelist=people["ana"], slot="open+3d")
        return qs

    monkeypatch.setattr(ReminderSent.objects, "filter", sneaky_filter)
    sweep(django_capture_on_commit_callbacks)
    monkeypatch.undo()
    assert [m.to[0] for m in mail.outbox] == ["ben@example.org"]
    assert ReminderSent.objects.filter(round=rnd).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_racing_send_each_slot_once(study):
    """Real concurrency needs a database two connections share: PostgreSQL."""
    if connection.vendor != "postgresql":
        pytest.skip("racing sweeps need PostgreSQL (runs in the PostgreSQL + Redis pass)")
    now = timezone.now()
    rnd = open_round(study, opened_at=now - 4 * DAY, closes_at=now + 3 * DAY)
    panelists = [f.make_panelist(study) for _ in range(40)]
    for p in panelists:
        invite(p, at=now - 4 * DAY + timedelta(minutes=1))
    barrier = threading.Barrier(4)
    errors = []

    def run():
        from django.db import connection as conn

        try:
            barrier.wait()
            sweeps.sweep_due()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.contact.email for p in panelists)
    assert Communication.objects.filter(kind="reminder", status="sent").count() == 40
    assert ReminderSent.objects.filter(round=rnd).count() == 40


def test_deadline_closes_after_the_last_reminder(cast, django_capture_on_commit_callbacks):
    rnd, people = cast
    # At quorum (none required here), so only the reminder slot holds the close back.
    Study.objects.filter(pk=rnd.study_id).update(quorum_pct=0, quorum_min_per_group=0)
    # The deadline has just passed; the "1 day before" slot was due and never sent.
    Round.objects.filter(pk=rnd.pk).update(
        closes_at=timezone.now() - timedelta(minutes=1),
        reminder_plan=[{"anchor": "deadline", "days": 1}],
    )
    celery_app.conf.task_always_eager = False  # a worker that has not picked them up yet
    try:
        with django_capture_on_commit_callbacks(execute=False):
            result = sweeps.sweep_due()
    finally:
        celery_app.conf.task_always_eager = True
    assert result.reminders_queued == 2  # ana and ben (gus was invited after the slot)
    assert result.waiting == [rnd] and not result.closed
    assert Round.objects.get(pk=rnd.pk).status == Round.Status.OPEN
    # The worker sends them; the next sweep closes the round.
    from delphi.services.communications import communication_deliver

    for comm in Communication.objects.filter(kind="reminder"):
        communication_deliver(communication_id=comm.pk)
    assert len(mail.outbox) == 2
    result = sweep(django_capture_on_commit_callbacks)
    assert [r.pk for r in result.closed] == [rnd.pk]
    assert Round.objects.get(pk=rnd.pk).closed_at is not None  # closed (and analysed)


def test_below_quorum_stays_open_a_day_and_researcher_is_told(
    cast, monkeypatch, researcher, django_capture_on_commit_callbacks
):
    rnd, people = cast
    researcher.email = "rita@example.org"
    researcher.save()
    deadline = timezone.now() - timedelta(minutes=1)
    Round.objects.filter(pk=rnd.pk).update(closes_at=deadline, reminder_plan=[])
    monkeypatch.setattr(sweeps, "round_below_quorum", lambda rnd: True)
    result = sweep(django_capture_on_commit_callbacks)
    rnd.refresh_from_db()
    assert result.extended and rnd.status == Round.Status.OPEN
    assert abs((rnd.closes_at - timezone.now()) - DAY) < timedelta(minutes=1)
    assert [m.to for m in mail.outbox] == [["rita@example.org"]]
    assert "below quorum" in mail.outbox[0].subject
    # Only once: at the new deadline it closes whatever the response rate.
    Round.objects.filter(pk=rnd.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    result = sweep(django_capture_on_commit_callbacks)
    assert result.closed and len(mail.outbox) == 1


def test_grace_zero_closes_below_quorum(
    cast, monkeypatch, settings, django_capture_on_commit_callbacks
):
    rnd, _ = cast
    settings.ROUND_QUORUM_GRACE_HOURS = 0
    Round.objects.filter(pk=rnd.pk).update(closes_at=timezone.now(), reminder_plan=[])
    monkeypatch.setattr(sweeps, "round_below_quorum", lambda rnd: True)
    assert sweep(django_capture_on_commit_callbacks).closed


def test_smtp_down_halfway_resumes_without_duplicates(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    """The SMTP server drops after the first message: that one is logged sent once, the other
    waits with its backoff, and a later sweep sends it."""
    rnd, people = cast
    from django.core.mail.backends.locmem import EmailBackend

    real_send = EmailBackend.send_messages
    calls = {"n": 0}

    def flaky(self, messages):
        calls["n"] += 1
        if calls["n"] > 1:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", flaky)
    result = sweep(django_capture_on_commit_callbacks)
    assert result.reminders_queued == 2 and len(mail.outbox) == 1
    waiting = Communication.objects.get(kind="reminder", status="queued")
    assert "SMTPServerDisconnected" in waiting.error and waiting.next_attempt_at > timezone.now()
    # Too early: the backoff holds it.
    sweep(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    monkeypatch.setattr(EmailBackend, "send_messages", real_send)
    with django_capture_on_commit_callbacks(execute=True):
        resumed = communications_resume(now=timezone.now() + timedelta(minutes=5))
    assert resumed.requeued == 1
    assert len(mail.outbox) == 2
    assert Communication.objects.filter(kind="reminder", status="sent").count() == 2
    assert len({m.to[0] for m in mail.outbox}) == 2


def test_permanent_failure_is_shown_against_the_panelist(
    researcher_client, cast, monkeypatch, django_capture_on_commit_callbacks
):
    rnd, people = cast
    from django.core.mail.backends.locmem import EmailBackend

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused(
            {messages[0].to[0]: (550, b"5.1.1 mailbox unavailable")}
        )

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    sweep(django_capture_on_commit_callbacks)
    failed = Communication.objects.filter(kind="reminder", status="failed")
    assert failed.count() == 2 and all(c.failed_at for c in failed)
    assert "mailbox unavailable" in failed[0].error
    page = researcher_client.get(
        f"/studies/{rnd.study.uuid}/rounds/{rnd.uuid}/invitations/"
    ).content.decode()
    assert "reminder failed" in page and "mailbox unavailable" in page


def test_a_worker_killed_mid_send_is_not_sent_again(cast, django_capture_on_commit_callbacks):
    rnd, people = cast
    comm = Communication.objects.create(
        study=rnd.study,
        round=rnd,
        panelist=people["ben"],
        kind="reminder",
        status="sending",
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )
    resumed = communications_resume()
    comm.refresh_from_db()
    assert resumed.interrupted == 1 and comm.status == "failed"
    assert "interrupted" in comm.error and not mail.outbox


@pytest.mark.django_db(transaction=True)
def test_sweep_due_command_prints_what_it_did(cast, capsys):
    """Outside a test transaction, as in real use: delivery runs in-process at each commit."""
    rnd, _ = cast
    other = open_round(
        f.make_study(title="Other", quorum_pct=0, quorum_min_per_group=0),
        closes_at=timezone.now() - timedelta(hours=1),
        number=1,
    )
    Round.objects.filter(pk=other.pk).update(opened_at=timezone.now() - 3 * DAY)
    call_command("sweep_due")
    out = capsys.readouterr().out
    assert out.startswith("closed 1 round, sent 2 reminders")
    assert "closed round 1 of “Other”" in out
    assert Round.objects.get(pk=other.pk).status == Round.Status.CLOSED


def test_reminder_skips_a_panelist_who_submitted_after_queueing(
    cast, django_capture_on_commit_callbacks
):
    rnd, people = cast
    celery_app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=False):
            sweeps.sweep_due()
    finally:
        celery_app.conf.task_always_eager = True
    Response.objects.filter(panelist=people["ben"], round=rnd).update(
        status="submitted", submitted_at=timezone.now()
    )
    from delphi.services.communications import communication_deliver

    results = {
        c.panelist_id: communication_deliver(communication_id=c.pk)
        for c in Communication.objects.filter(kind="reminder")
    }
    assert results[people["ben"].pk] == "failed" and results[people["ana"].pk] == "sent"
    assert "submitted meanwhile" in Communication.objects.get(panelist=people["ben"]).error


def test_plan_validation():
    now = timezone.now()
    plan = reminders.plan_from_text(after_open="3, 1", before_deadline="1")
    assert [s.key for s in reminders.plan_slots(plan)] == ["open+1d", "open+3d", "deadline-1d"]
    with pytest.raises(Exception, match="after the deadline"):
        reminders.plan_check(
            plan=reminders.plan_from_text(after_open="9", before_deadline=""),
            opens_at=now,
            closes_at=now + 7 * DAY,
        )
    with pytest.raises(Exception, match="before the round opens"):
        reminders.plan_check(
            plan=reminders.plan_from_text(after_open="", before_deadline="10"),
            opens_at=now,
            closes_at=now + 7 * DAY,
        )
    with pytest.raises(Exception, match="not a number of days"):
        reminders.plan_from_text(after_open="three", before_deadline="")


def test_real_quorum_keeps_a_thin_round_open(cast, django_capture_on_commit_callbacks):
    """No stand-in: the study's own quorum (50 % by default) decides."""
    from delphi.services.lifecycle import round_quorum

    rnd, _ = cast
    Round.objects.filter(pk=rnd.pk).update(
        closes_at=timezone.now() - timedelta(minutes=1), reminder_plan=[]
    )
    rnd.refresh_from_db()
    quorum = round_quorum(round=rnd)
    assert not quorum.met, quorum
    result = sweep(django_capture_on_commit_callbacks)
    assert result.extended == [rnd] and not result.closed
    assert Round.objects.get(pk=rnd.pk).quorum_extended_at is not None


def _queued_reminders(rnd, n):
    from delphi.services.communications import communications_queue

    start = Panelist.objects.count()
    people = [f.make_panelist(rnd.study, email=f"q{start + i}@example.org") for i in range(n)]
    rows = communications_queue(study=rnd.study, round=rnd, panelists=people, kind="reminder")
    return [c.pk for c in rows]


def test_delivery_is_one_statement_per_message_and_leaves_one_in_doubt(study, monkeypatch):
    """Each message is claimed by compare-and-set as it goes out, and its "sent" record rides
    with the next claim: a worker dying while sending leaves that one message in doubt, the
    ones before it on record as sent, the ones after it still queued."""
    from django.core.mail.backends.locmem import EmailBackend
    from django.test.utils import CaptureQueriesContext

    from delphi.services.communications import communications_deliver

    rnd = open_round(study, n_items=3)
    few, many = _queued_reminders(rnd, 2), _queued_reminders(rnd, 6)
    counts = []
    for ids in (few, many):
        with CaptureQueriesContext(connection) as ctx:
            outcome = communications_deliver(communication_ids=ids)
        assert outcome.sent == ids
        counts.append(len(ctx.captured_queries))
    per_message = 1 if connection.vendor == "postgresql" else 2  # SQLite: no CTE
    assert counts[1] - counts[0] == 4 * per_message
    assert Communication.objects.filter(pk__in=few + many, status="sent").count() == 8
    assert all(c.sent_at for c in Communication.objects.filter(pk__in=few + many))

    ids = _queued_reminders(rnd, 5)
    real_send, calls = EmailBackend.send_messages, {"n": 0}

    def dies_on_the_third(self, messages):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the worker killed mid-send: no except clause catches it
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", dies_on_the_third)
    mail.outbox.clear()
    with pytest.raises(KeyboardInterrupt):
        communications_deliver(communication_ids=ids)
    status = dict(Communication.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert [status[pk] for pk in ids] == ["sent", "sent", "sending", "queued", "queued"]
    assert len(mail.outbox) == 2
