"""The database goes away halfway through a sweep's sending: every message that left is logged
once (one row, status sent), nothing is sent twice, and the next sweep sends the rest."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import OperationalError
from django.utils import timezone

from delphi.models import Communication, ReminderSent
from delphi.services import communications, sweeps
from tests.delphi.test_reminders import cast, eager  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def test_a_sweep_stopped_by_the_database_resumes_without_duplicates(
    cast,  # noqa: F811
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    rnd, people = cast
    real = communications._deliver_one
    calls = {"n": 0}

    def database_gone(comm, batch, connection, outcome):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real(comm, batch, connection, outcome)

    monkeypatch.setattr(communications, "_deliver_one", database_gone)
    # The delivery task fails (Celery, eager here as in the embedded default, records the
    # task's error; a real worker would too): the sweep itself carries on.
    with django_capture_on_commit_callbacks(execute=True):
        sweeps.sweep_due()
    assert calls["n"] == 2
    first = [m.to[0] for m in mail.outbox]
    assert len(first) == 1
    sent = Communication.objects.get(kind="reminder", status="sent")
    assert sent.panelist.contact.email == first[0]
    waiting = Communication.objects.get(kind="reminder", status="queued")
    assert waiting.attempts == 0  # never claimed: it did not leave
    # The rows that say "this slot was reminded" exist once per panelist, both.
    assert ReminderSent.objects.filter(round=rnd).count() == 2

    monkeypatch.setattr(communications, "_deliver_one", real)
    # Too early (the pick-up grace is not over): the next sweep sends nothing twice.
    with django_capture_on_commit_callbacks(execute=True):
        sweeps.sweep_due()
    assert len(mail.outbox) == 1
    later = timezone.now() + communications.PICKUP_GRACE + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        result = sweeps.sweep_due(now=later)
    assert result.requeued == 1 and result.reminders_queued == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@example.org", "ben@example.org"]
    rows = Communication.objects.filter(kind="reminder")
    assert rows.count() == 2 and {r.status for r in rows} == {"sent"}
    assert all(r.attempts == 1 for r in rows)
    # And a further sweep finds nothing left to do.
    with django_capture_on_commit_callbacks(execute=True):
        sweeps.sweep_due(now=later + timedelta(minutes=1))
    assert len(mail.outbox) == 2


def test_the_database_going_away_mid_claim_leaves_a_row_that_is_never_sent_twice(
    cast,  # noqa: F811
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """After the claim, before the mail: the row stays "sending", so the sweep cannot know
    whether it left; it is marked interrupted (logged once), never sent a second time."""
    rnd, people = cast
    real = communications._undeliverable
    calls = {"n": 0}

    def database_gone(comm, batch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real(comm, batch)

    monkeypatch.setattr(communications, "_undeliverable", database_gone)
    # The delivery task fails (Celery, eager here as in the embedded default, records the
    # task's error; a real worker would too): the sweep itself carries on.
    with django_capture_on_commit_callbacks(execute=True):
        sweeps.sweep_due()
    assert calls["n"] == 2
    monkeypatch.setattr(communications, "_undeliverable", real)
    assert len(mail.outbox) == 1
    stale = timezone.now() + communications.SENDING_STALE + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        result = sweeps.sweep_due(now=stale)
    assert result.interrupted == 1
    assert len(mail.outbox) == 1
    statuses = sorted(
        Communication.objects.filter(kind="reminder").values_list("status", flat=True)
    )
    assert statuses == ["failed", "sent"]
    assert "interrupted" in Communication.objects.get(kind="reminder", status="failed").error
