"""Celery beat and a real worker against Redis and PostgreSQL: beat's static schedule runs the
sweep every few seconds, the worker sends the due reminders (two worker processes, so sweeps
and deliveries overlap), and the round past its deadline closes once its last reminder is out.

Needs REDIS_URL and DATABASE_URL (PostgreSQL). Uses the Redis database of REDIS_URL, flushed
at the start.
"""

import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from delphi.models import Communication, ReminderSent, Round, Study
from panels.models import Panelist
from tests import factories as f
from tests.conftest import require_service
from tests.delphi.consensus.test_worker import Worker, wait_for
from tests.delphi.test_reminders import invite

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DAY = timedelta(days=1)


@pytest.fixture
def broker_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        require_service("REDIS_URL is not set: the worker test needs Redis")
    if connection.vendor != "postgresql":
        require_service("DATABASE_URL must point at PostgreSQL for the worker test")
    import redis

    try:
        redis.Redis.from_url(url).flushdb()
    except redis.exceptions.ConnectionError:
        require_service(f"Redis is not reachable at {url}")
    return url


class Beat:
    def __init__(self, env):
        self.dir = tempfile.mkdtemp(prefix="celery-beat-")
        self.log = Path(self.dir) / "beat.log"
        self.env = env
        self.proc = None

    def start(self):
        with self.log.open("w") as sink:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "delphi", "beat",
                    "--loglevel=INFO", "--schedule", str(Path(self.dir) / "schedule"),
                ],
                cwd=settings.BASE_DIR, env=self.env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def output(self):
        return self.log.read_text(errors="replace")


def test_beat_and_workers_remind_once_and_close_at_the_deadline(broker_url):
    now = timezone.now()
    study = f.make_study(title="Beat study")
    statements = [f.make_statement(study) for _ in range(5)]
    # Reminded: opened 4 days ago, the "3 days after opening" slot is due.
    rnd = f.make_round(
        study, statements=statements, status="open",
        opened_at=now - 4 * DAY, closes_at=now + 3 * DAY,
    )  # fmt: skip
    people = [f.make_panelist(study) for _ in range(30)]
    for p in people:
        invite(p, at=now - 4 * DAY + timedelta(minutes=1))
    f.rate(people[0], rnd, {i: 7 for i in rnd.items.all()})
    Panelist.objects.filter(pk=people[1].pk).update(unsubscribed_at=now)
    Panelist.objects.filter(pk=people[2].pk).update(status="withdrawn", withdrawn_at=now)
    # Past its deadline: closes at the first sweep (no reminders planned).
    other = f.make_study(title="Deadline study")
    due = f.make_round(
        other, statements=[f.make_statement(other)], status="open",
        opened_at=now - 9 * DAY, closes_at=now - timedelta(minutes=1),
    )  # fmt: skip
    Round.objects.filter(pk=due.pk).update(reminder_plan=[])
    # Nobody on its panel: with no quorum asked it closes; with the shipped quorum it would
    # stay open one grace period longer, as the third study's round does.
    Study.objects.filter(pk=other.pk).update(quorum_pct=0, quorum_min_per_group=0)
    third = f.make_study(title="Below quorum study")
    short = f.make_round(
        third, statements=[f.make_statement(third)], status="open",
        opened_at=now - 9 * DAY, closes_at=now - timedelta(minutes=1),
    )  # fmt: skip
    Round.objects.filter(pk=short.pk).update(reminder_plan=[])

    env = {"REDIS_URL": broker_url, "SWEEP_SECONDS": "2", "EMAIL_URL": "consolemail://"}
    workers = [Worker(**env).start(), Worker(**env).start()]
    beat = Beat({**workers[0].env}).start()
    try:
        wait_for(
            lambda: (
                Communication.objects.filter(kind="reminder", status="sent").count() >= 27
                and Round.objects.get(pk=due.pk).status != Round.Status.OPEN
            ),
            timeout=90,
            what="beat's sweeps to send the reminders and close the due round",
            workers=workers,
        )
        # Let several more sweeps run over the same rows.
        import time

        time.sleep(6)
    finally:
        beat.stop()
        for w in workers:
            w.kill()
    logs = "".join(w.output() for w in workers)
    assert "delphi.tasks.sweep_due" in beat.output()
    expected = {p.pk for p in people[3:]}
    sent = Communication.objects.filter(kind="reminder", status="sent")
    assert sorted(sent.values_list("panelist_id", flat=True)) == sorted(expected)
    assert ReminderSent.objects.filter(round=rnd).count() == 27
    for p in people[3:]:
        assert logs.count(f"To: {p.contact.email}") == 1, p.contact.email
    for p in people[:3]:
        assert f"To: {p.contact.email}" not in logs
    assert Round.objects.get(pk=due.pk).closed_at is not None
    assert Round.objects.get(pk=rnd.pk).status == Round.Status.OPEN
    # Below quorum at its deadline: kept open once, for the shipped grace period.
    short.refresh_from_db()
    assert short.status == Round.Status.OPEN and short.quorum_extended_at is not None
    grace = timedelta(hours=settings.ROUND_QUORUM_GRACE_HOURS)
    assert short.closes_at - short.quorum_extended_at == grace
    for w in workers:
        os.unlink(w.log.name)
