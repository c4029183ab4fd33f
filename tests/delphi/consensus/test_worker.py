"""A real `celery worker` process against Redis and PostgreSQL.

Closing a round produces the results; a worker killed with SIGKILL mid-run is restarted and the
redelivered task finishes the run exactly once, with no duplicate rows.

Needs REDIS_URL and DATABASE_URL (PostgreSQL): a worker process cannot see pytest's in-memory
SQLite database. Uses its own Redis database (6379/5), flushed at the start.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from delphi.consensus import services
from delphi.models import ConsensusRun, ItemDecision, ItemResult, Round
from tests import factories as f
from tests.conftest import require_service
from tests.delphi.consensus.test_engine import build_round

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/5"
# Recovery is tested with the settings a new deployment gets (delphi/settings.py), not
# test-sized ones: the budget is 2 minutes from the kill to the finished run.
RECOVERY_BUDGET = 120


@pytest.fixture
def worker_services():
    if not os.environ.get("REDIS_URL"):
        require_service("REDIS_URL is not set: the worker test needs Redis")
    if connection.vendor != "postgresql":
        require_service("DATABASE_URL must point at PostgreSQL for the worker test")
    import redis

    try:
        redis.Redis.from_url(BROKER).flushdb()
    except redis.exceptions.ConnectionError:
        require_service(f"Redis is not reachable at {BROKER}")


@pytest.fixture
def broker(worker_services, monkeypatch):
    """Point this process's Celery producer at the test broker database."""
    from delphi.celery import app

    monkeypatch.setattr(app.conf, "broker_url", BROKER)
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    # The producer and connection pools are cached per app; drop them so the new URL is used.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    return app


class Worker:
    def __init__(self, **env):
        db = connection.settings_dict
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - read after the process ends
            prefix="celery-worker-", suffix=".log", delete=False
        )
        shipped = ("CELERY_", "CONSENSUS_RUN_")  # nothing from the caller's shell overrides them
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(shipped)},
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                f"{db['NAME']}"
            ),
            "REDIS_URL": BROKER,
            **env,
        }
        if db.get("PASSWORD"):
            self.env["DATABASE_URL"] = self.env["DATABASE_URL"].replace(
                f"{db['USER']}@", f"{db['USER']}:{db['PASSWORD']}@"
            )
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "delphi",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the pool child
        )
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")


@pytest.fixture
def workers():
    started = []

    def start(**env):
        worker = Worker(**env).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
        os.unlink(worker.log.name)


def wait_for(predicate, *, timeout, what, workers=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    logs = "\n".join(w.output()[-3000:] for w in workers)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs}")


def run_state(run_id):
    return ConsensusRun.objects.values("status", "stage", "attempts", "error").get(pk=run_id)


def test_closing_a_round_produces_results_in_the_worker(broker, workers, researcher):
    from delphi.services.rounds import round_close

    study = f.make_study(title="Worker study", researcher=researcher)
    rnd = build_round(study, items=5)
    Round.objects.filter(pk=rnd.pk).update(status=Round.Status.OPEN, closed_at=None)
    rnd.refresh_from_db()
    worker = workers()
    round_close(round=rnd, by=researcher)
    run = ConsensusRun.objects.get(round=rnd)
    wait_for(
        lambda: run_state(run.pk)["status"] in ("done", "failed"),
        timeout=45,
        what="the worker to finish the run",
        workers=[worker],
    )
    state = run_state(run.pk)
    assert state["status"] == "done", state["error"]
    assert Round.objects.get(pk=rnd.pk).status == Round.Status.ANALYSED
    groups = study.panel.groups.count() + 2
    assert ItemResult.objects.filter(round=rnd).count() == 5 * groups
    assert ItemDecision.objects.filter(round=rnd).count() == 5


def test_a_run_killed_mid_way_is_redelivered_and_finishes_exactly_once(broker, workers, researcher):
    study = f.make_study(title="Killed worker study", researcher=researcher)
    rnd = build_round(study, items=4)
    first = workers(DELPHI_TEST_SLOW_SECONDS="5")
    run = services.consensus_run_start(round=rnd, by=researcher)
    wait_for(
        lambda: run_state(run.pk)["stage"] == "Computing statistics",
        timeout=30,
        what="the first worker to start computing",
        workers=[first],
    )
    first.kill()
    killed_at = time.monotonic()
    state = run_state(run.pk)
    assert state["status"] == "running" and state["attempts"] == 1
    assert not ItemResult.objects.filter(round=rnd).exists()

    # The message waits in Redis' unacked set until the visibility timeout, then the new
    # worker restores it; the stale heartbeat lets the redelivered task re-claim the run.
    second = workers()
    wait_for(
        lambda: run_state(run.pk)["status"] in ("done", "failed"),
        timeout=RECOVERY_BUDGET,
        what="the redelivered run to finish",
        workers=[first, second],
    )
    print(f"\nwhole worker killed: run finished {time.monotonic() - killed_at:.1f} s later")
    state = run_state(run.pk)
    assert state["status"] == "done", state["error"]
    assert state["attempts"] == 2
    groups = study.panel.groups.count() + 2
    assert ItemResult.objects.filter(round=rnd).count() == 4 * groups
    assert ItemDecision.objects.filter(round=rnd).count() == 4
    assert ConsensusRun.objects.filter(round=rnd).count() == 1
    # No second copy finishes later and writes again.
    time.sleep(2)
    assert ItemResult.objects.filter(round=rnd).count() == 4 * groups
    assert second.output().count("succeeded") == 1


def test_a_killed_pool_child_has_its_run_finished_once_by_the_same_worker(
    broker, workers, researcher
):
    """kill -9 of the pool process only: the worker stays up, requeues the job at once
    (reject_on_worker_lost) and finishes it once the dead attempt's heartbeat is stale."""
    import psutil

    study = f.make_study(title="Killed child study", researcher=researcher)
    rnd = build_round(study, items=4)
    worker = workers(DELPHI_TEST_SLOW_SECONDS="5")
    run = services.consensus_run_start(round=rnd, by=researcher)
    wait_for(
        lambda: run_state(run.pk)["stage"] == "Computing statistics",
        timeout=30,
        what="the worker to start computing",
        workers=[worker],
    )
    children = psutil.Process(worker.proc.pid).children()
    assert len(children) == 1  # --concurrency=1: the pool child running the task
    os.kill(children[0].pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for(
        lambda: run_state(run.pk)["status"] in ("done", "failed"),
        timeout=RECOVERY_BUDGET,
        what="the requeued run to finish",
        workers=[worker],
    )
    print(f"\npool child killed: run finished {time.monotonic() - killed_at:.1f} s later")
    state = run_state(run.pk)
    assert state["status"] == "done", state["error"]
    assert state["attempts"] >= 2
    groups = study.panel.groups.count() + 2
    assert ItemResult.objects.filter(round=rnd).count() == 4 * groups
    assert ConsensusRun.objects.filter(round=rnd).count() == 1
