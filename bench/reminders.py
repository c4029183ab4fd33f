"""Benchmark: 2,000 reminders through the Celery worker (console e-mail backend).

Builds one open round with 2,000 invited panelists who have not submitted, starts real
``celery worker`` processes against Redis, runs ONE sweep (which queues a reminder per
panelist and enqueues its delivery) and waits until the worker has sent every one. Prints the
sweep's own time, the end-to-end time and messages per second, beside a floor measured in the
same run: rendering and "sending" the same 2,000 messages in one process, with no database
claim, no link minted and no broker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/reminders.py

PostgreSQL and Redis only (a worker process cannot share SQLite's test database). It creates
a scratch database ``delphi_bench_reminders`` (``--db``), migrates it and drops it at the end
(``--keep`` keeps it). The Redis database of REDIS_URL is flushed. Target (issue 8): < 60 s.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

PANELISTS = 2000
TARGET_SECONDS = 60


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, ""))


def _refuse() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) or not redis_url:
        print(
            "bench/reminders.py needs PostgreSQL and Redis (the worker is a second process).\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/test "
            "REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/reminders.py\n"
            "Nothing was done.",
            file=sys.stderr,
        )
        sys.exit(2)
    return url, redis_url


def _psql(server_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _build(n: int):
    from datetime import timedelta

    from django.utils import timezone

    from competencies.models import Domain, Framework, Statement
    from delphi.models import Rating, Response, Round, RoundItem, Study
    from panels.models import Contact, Invitation, Panel, Panelist, StakeholderGroup
    from panels.tokens import token_mint

    now = timezone.now()
    panel = Panel.objects.create(name="Bench panel")
    groups = [
        StakeholderGroup.objects.create(panel=panel, code=c, name=c.title(), order=i)
        for i, c in enumerate(["law", "clinical", "dispatch", "peer", "family"])
    ]
    framework = Framework.objects.create(name="Bench framework")
    domain = Domain.objects.create(framework=framework, code="D1", name="Domain")
    statements = Statement.objects.bulk_create(
        [
            Statement(framework=framework, domain=domain, code=f"S{i}", text=f"Statement {i}")
            for i in range(40)
        ]
    )
    study = Study.objects.create(title="Reminder bench", panel=panel, framework=framework)
    rnd = Round.objects.create(
        study=study,
        number=1,
        status=Round.Status.OPEN,
        opened_at=now - timedelta(days=4),
        closes_at=now + timedelta(days=3),
    )
    items = RoundItem.objects.bulk_create(
        [RoundItem(round=rnd, statement=s, order=i) for i, s in enumerate(statements)]
    )
    panelists = Panelist.objects.bulk_create(
        [
            Panelist(panel=panel, group=groups[i % 5], language="es" if i % 4 == 0 else "en")
            for i in range(n)
        ]
    )
    Contact.objects.bulk_create(
        [
            Contact(panelist=p, panel=panel, email=f"p{i}@example.org")
            for i, p in enumerate(panelists)
        ]
    )
    Invitation.objects.bulk_create(
        [
            Invitation(
                panelist=p,
                token_hash=token_mint()[1],
                status=Invitation.Status.SENT,
                sent_at=now - timedelta(days=4) + timedelta(minutes=1),
                expires_at=now + timedelta(days=60),
            )
            for p in panelists
        ]
    )
    # Half of them have started: their reminder counts what is left.
    responses = Response.objects.bulk_create(
        [Response(round=rnd, panelist=p) for p in panelists[::2]]
    )
    Rating.objects.bulk_create(
        [Rating(response=r, item=item, value=7) for r in responses for item in items[:10]]
    )
    return rnd


def _floor(rnd, n: int) -> float:
    """Render and send n messages in-process through the console backend (to a buffer)."""
    from django.core.mail import EmailMultiAlternatives, get_connection
    from django.template.loader import render_to_string
    from django.utils import translation

    sink = io.StringIO()
    connection = get_connection("django.core.mail.backends.console.EmailBackend", stream=sink)
    context = {
        "study": rnd.study,
        "round": rnd,
        "link": "https://example.org/p/t/" + "x" * 43 + "/",
        "unsubscribe_url": "https://example.org/p/unsubscribe/x/",
        "closes_at": rnd.closes_at,
        "remaining": 30,
        "total": 40,
        "name": "",
    }
    t0 = time.perf_counter()
    for i in range(n):
        with translation.override("es" if i % 4 == 0 else "en"):
            subject = render_to_string("emails/reminder-subject.txt", context).strip()
            body = render_to_string("emails/reminder-body.txt", context)
            html = render_to_string("emails/reminder-body.html", context)
        message = EmailMultiAlternatives(
            subject, body, to=[f"p{i}@example.org"], connection=connection
        )
        message.attach_alternative(html, "text/html")
        message.send()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="delphi_bench_reminders")
    parser.add_argument("--panelists", type=int, default=PANELISTS)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool size per worker")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    server_url, redis_url = _refuse()
    db_url = _with_db(server_url, args.db)
    _psql(server_url, f'DROP DATABASE IF EXISTS "{args.db}"')
    _psql(server_url, f'CREATE DATABASE "{args.db}"')
    os.environ.update(DATABASE_URL=db_url, EMAIL_URL="consolemail://", REDIS_URL=redis_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "delphi.settings")
    workers = []
    try:
        import django

        django.setup()
        import redis
        from django.core.management import call_command

        from delphi.models import Communication
        from delphi.services.communications import BATCH
        from delphi.services.sweeps import sweep_due

        print(f"building: {args.panelists} invited panelists, 40 items …", flush=True)
        call_command("migrate", verbosity=0)
        rnd = _build(args.panelists)
        redis.Redis.from_url(redis_url).flushdb()
        floor = _floor(rnd, args.panelists)
        logs = []
        for i in range(args.workers):
            log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - read after the process ends
                prefix="bench-worker-", suffix=".log", delete=False
            )
            logs.append(log.name)
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "delphi",
                        "worker",
                        f"--concurrency={args.concurrency}",
                        "--loglevel=WARNING",
                        "--without-gossip",
                        "--without-mingle",
                        "-n",
                        f"bench{i}@%h",
                    ],
                    cwd=BASE_DIR,
                    env={**os.environ},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
            )
        # A sweep runs in a warm process (the worker or the server): import what it uses first.
        from django.urls import reverse

        import delphi.services.rounds  # noqa: F401

        reverse("dashboard")
        time.sleep(8)  # let the workers connect before the clock starts
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        result = sweep_due()
        t_sweep = time.perf_counter() - t0
        sent = 0
        while time.perf_counter() - t0 < 600:
            sent = Communication.objects.filter(kind="reminder", status="sent").count()
            if sent >= result.reminders_queued:
                break
            time.sleep(0.25)
        total = time.perf_counter() - t0
        failed = Communication.objects.filter(kind="reminder", status="failed").count()
        for w in workers:
            w.terminate()
            w.wait(timeout=30)
        mailed = sum(Path(name).read_text(errors="replace").count("\nTo: ") for name in logs)
        for name in logs:
            os.unlink(name)
        n = result.reminders_queued
        print(f"load average (1 min) at start: {load:.1f}")
        print(f"floor: render + console-send {args.panelists} in one process: {floor:.2f} s "
              f"({args.panelists / floor:,.0f} msgs/s)")  # fmt: skip
        tasks = -(-n // BATCH)
        print(f"sweep (claim {n} slots, queue {n} messages, enqueue {tasks} tasks of up to "
              f"{BATCH}): {t_sweep:.2f} s")  # fmt: skip
        print(f"end to end through {args.workers} worker(s) × {args.concurrency}: "
              f"{total:.2f} s, {sent / total:,.0f} msgs/s; sent {sent}, failed {failed}, "
              f"mails in the worker logs {mailed}")  # fmt: skip
        print(f"ratio to the floor: {total / floor:.1f}×")
        ok = sent == n == args.panelists and mailed == n and total < TARGET_SECONDS
        print(f"[{'ok' if ok else 'MISSED'}] {n} reminders, each sent once, in < "
              f"{TARGET_SECONDS} s")  # fmt: skip
        return 0 if ok else 1
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _psql(server_url, f'DROP DATABASE IF EXISTS "{args.db}"')


if __name__ == "__main__":
    sys.exit(main())
