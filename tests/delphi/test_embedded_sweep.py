"""The embedded default (no broker, `make run`): the development server itself sweeps, so a
round past its deadline closes and a due reminder goes out with nothing but `runserver`.

Runs a real `manage.py runserver` on the test's database (SQLite copied to a file, as `make
run` uses; or the PostgreSQL test database), with a one-second sweep, and watches its console
e-mail and the database.
"""

import os
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from delphi.services.embedded_sweep import should_start


def _world():
    from delphi.models import Round
    from panels.models import Invitation
    from panels.tokens import token_mint
    from tests import factories as f

    now = timezone.now()
    study = f.make_study(title="Embedded")
    statements = [f.make_statement(study) for _ in range(3)]
    due = f.make_round(
        study, number=1, statements=statements, status="open",
        opened_at=now - timedelta(days=9), closes_at=now - timedelta(minutes=5),
    )  # fmt: skip
    Round.objects.filter(pk=due.pk).update(reminder_plan=[])
    other = f.make_study(title="Reminded")
    rnd = f.make_round(
        other, number=1, statements=[f.make_statement(other)], status="open",
        opened_at=now - timedelta(days=4), closes_at=now + timedelta(days=3),
    )  # fmt: skip
    p = f.make_panelist(other, email="waiting@example.org")
    Invitation.objects.create(
        panelist=p, token_hash=token_mint()[1], status="sent",
        sent_at=now - timedelta(days=4), expires_at=now + timedelta(days=30),
    )  # fmt: skip
    return due, rnd


def _database_url(tmp_path) -> str:
    """A database the server process can open, holding this test's committed rows."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        # The test database lives in memory: copy it to a file (schema and rows, no migrate).
        path = tmp_path / "db.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(path) as target:
            connection.connection.backup(target)
        return f"sqlite:///{path}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}"
    )


def _free_port() -> int:
    for port in range(8130, 8140):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 8130-8139")


def test_should_start_only_in_the_serving_runserver_process(settings):
    settings.REDIS_URL = ""
    settings.EMBEDDED_SWEEP = True
    assert should_start(["manage.py", "runserver"], {"RUN_MAIN": "true"})
    assert should_start(["manage.py", "runserver", "--noreload"], {})
    assert not should_start(["manage.py", "runserver"], {})  # the autoreloader's parent
    assert not should_start(["manage.py", "migrate"], {"RUN_MAIN": "true"})
    assert not should_start(["celery", "worker"], {})
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert not should_start(["manage.py", "runserver", "--noreload"], {})  # beat's job
    settings.REDIS_URL = ""
    settings.EMBEDDED_SWEEP = False
    assert not should_start(["manage.py", "runserver", "--noreload"], {})


@pytest.mark.django_db(transaction=True)
def test_runserver_closes_a_due_round_and_sends_a_due_reminder(tmp_path):
    due, reminded = _world()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(tmp_path),
        "REDIS_URL": "",
        "EMAIL_URL": "consolemail://",
        "SWEEP_SECONDS": "1",
        "EMBEDDED_SWEEP": "true",
        # The due round has no answers: below quorum it would get a day's grace (tested in
        # test_reminders); here it must close.
        "ROUND_QUORUM_GRACE_HOURS": "0",
        "DEBUG": "true",
    }
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    log = tmp_path / "server.log"
    sqlite_file = env["DATABASE_URL"].removeprefix("sqlite:///")
    # A free port can be taken between the check and runserver's bind (other servers run on
    # this machine): then try another, at most three times.
    for _attempt in range(3):
        port = _free_port()
        with log.open("w") as sink:
            server = subprocess.Popen(
                [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + 90
                status, sent = "open", 0
                while time.monotonic() < deadline and not (status != "open" and sent):
                    time.sleep(1)
                    status, sent = _observe(sqlite_file, due.pk, reminded.pk)
                    if server.poll() is not None:
                        break
            finally:
                if server.poll() is None:
                    server.terminate()
                    server.wait(timeout=20)
        output = log.read_text()
        if "port is already in use" not in output:
            break
    assert status in ("closed", "analysed"), output[-3000:]
    assert sent == 1, output[-3000:]
    assert "To: waiting@example.org" in output
    assert "Reminder: round 1 of the Reminded study" in output
    assert "You still have 1 statement to rate." in output


def _observe(sqlite_file, due_pk, reminded_pk):
    status_sql = "SELECT status FROM delphi_round WHERE id = %s"
    sent_sql = (
        "SELECT count(*) FROM delphi_communication "
        "WHERE round_id = %s AND kind = 'reminder' AND status = 'sent'"
    )
    if connection.vendor == "sqlite":
        with sqlite3.connect(sqlite_file) as conn:
            status = conn.execute(status_sql.replace("%s", "?"), (due_pk,)).fetchone()[0]
            sent = conn.execute(sent_sql.replace("%s", "?"), (reminded_pk,)).fetchone()[0]
        return status, sent
    with connection.cursor() as cursor:
        cursor.execute(status_sql, [due_pk])
        status = cursor.fetchone()[0]
        cursor.execute(sent_sql, [reminded_pk])
        return status, cursor.fetchone()[0]
