"""The embedded default has no broker and no beat: the development server runs the sweep
itself, in one daemon thread, every SWEEP_SECONDS.

Started from ``DelphiConfig.ready`` only in the process that serves requests under
``runserver`` (not in the autoreloader's parent, not under gunicorn or a Celery worker, not in
tests) and only when no broker is configured. A sweep that fails is logged and tried again at
the next tick; the sweep itself is idempotent, so a tick overlapping a by-hand
``manage.py sweep_due`` is harmless.
"""

import logging
import os
import sys
import threading

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)

_started: threading.Thread | None = None


def should_start(argv=None, environ=None) -> bool:
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if settings.REDIS_URL or not settings.EMBEDDED_SWEEP:
        return False
    if len(argv) < 2 or argv[1] != "runserver":
        return False
    # With the autoreloader the serving child has RUN_MAIN=true; the parent only watches files.
    return "--noreload" in argv or environ.get("RUN_MAIN") == "true"


def _loop(interval: float, stop: threading.Event) -> None:
    from delphi.services.sweeps import sweep_due

    while not stop.wait(interval):
        try:
            close_old_connections()
            result = sweep_due()
            if result.closed or result.reminders_queued or result.extended:
                log.info("embedded sweep: %s", result.summary())
        except Exception:
            log.exception("embedded sweep failed; trying again in %s s", interval)
        finally:
            close_old_connections()


def embedded_sweep_start(*, interval: float | None = None) -> threading.Event:
    """Start the sweeping thread (once per process); returns the event that stops it."""
    global _started
    stop = threading.Event()
    if _started is not None and _started.is_alive():
        return stop
    interval = float(interval or settings.SWEEP_SECONDS)
    _started = threading.Thread(
        target=_loop, args=(interval, stop), name="delphi-sweep", daemon=True
    )
    _started.start()
    log.info("embedded sweep: every %s s (no broker configured)", interval)
    return stop
