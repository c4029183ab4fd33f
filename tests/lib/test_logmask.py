"""No raw panelist token in any log line or error report: Django's own log output (captured from
the real handlers the settings configure), Django's error e-mail, and gunicorn's access log
(gunicorn started for real with the logger class docker/entrypoint.sh uses)."""

import io
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core import mail

from lib.logmask import mask
from panels.tokens import token_mint

ROOT = Path(__file__).resolve().parents[2]


def test_mask_replaces_the_token_and_keeps_a_fingerprint():
    raw, _ = token_mint()
    line = f'127.0.0.1 "GET /p/t/{raw}/ HTTP/1.1" 404 and /p/unsubscribe/{raw}/?x=1'
    masked = mask(line)
    assert raw not in masked
    assert masked.count("[masked-") == 2
    assert re.search(r"/p/t/\[masked-[0-9a-f]{6}\]/ HTTP/1.1", masked)
    assert mask("GET /p/r/1234/page/1/") == "GET /p/r/1234/page/1/"  # nothing else changes


@pytest.fixture
def console_output():
    """The text the settings' own handlers write, filters included."""
    streams = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and any(
            type(flt).__name__ == "MaskTokensFilter" for flt in handler.filters
        ):
            stream = io.StringIO()
            streams.append((handler, handler.setStream(stream), stream))
    assert streams, "the console handler from settings.LOGGING is not installed"
    yield lambda: "".join(s.getvalue() for _, _, s in streams)
    for handler, old, _ in streams:
        handler.setStream(old)


@pytest.mark.django_db
def test_django_warnings_for_dead_links_hold_no_token(client, console_output):
    raw, _ = token_mint()
    assert client.get(f"/p/t/{raw}/").status_code == 404
    assert client.get(f"/p/unsubscribe/{raw}/").status_code in (200, 404, 410)
    output = console_output()
    assert "Not Found: /p/t/[masked-" in output
    assert raw not in output


@pytest.mark.django_db
def test_error_report_holds_no_token(client, settings, monkeypatch, console_output):
    settings.ADMINS = [("Site owner", "owner@example.org")]
    settings.DEBUG = False

    def boom(token):
        raise RuntimeError(f"database fell over while looking up {token}")

    monkeypatch.setattr("delphi.views.panelist.token_verify", boom)
    client.raise_request_exception = False
    raw, _ = token_mint()
    response = client.get(f"/p/t/{raw}/", HTTP_REFERER=f"https://mail.example/p/t/{raw}/")
    assert response.status_code == 500
    assert len(mail.outbox) == 1
    report = mail.outbox[0]
    html = report.alternatives[0][0] if report.alternatives else ""
    for text in (report.subject, report.body, html, console_output()):
        assert raw not in text
    assert "[masked-" in report.body
    assert "RuntimeError" in report.body  # the report is still useful


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_gunicorn_access_log_holds_no_token(tmp_path):
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if gunicorn is None:
        pytest.skip("gunicorn is not installed in this environment")
    # The dead-link page needs the invitation table: a small migrated SQLite database of its own.
    db = tmp_path / "gunicorn.sqlite3"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "DATABASE_URL": f"sqlite:///{db}",
        "DJANGO_SETTINGS_MODULE": "delphi.settings",
        "DEBUG": "true",
        "REDIS_URL": "",
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    port = free_port()
    access_log = tmp_path / "access.log"
    error_log = tmp_path / "error.log"
    # The same flags as docker/entrypoint.sh, which the next assertion keeps honest.
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert "--logger-class lib.gunicorn_logging.MaskingLogger" in entrypoint
    server = subprocess.Popen(
        [
            gunicorn,
            "delphi.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--logger-class",
            "lib.gunicorn_logging.MaskingLogger",
            "--access-logfile",
            str(access_log),
            "--error-logfile",
            str(error_log),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    raw, _ = token_mint()
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=30)
                break
            except OSError:  # refused while starting; a slow first request on a busy machine
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("gunicorn did not start: " + error_log.read_text()[-2000:])
                time.sleep(0.3)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/p/t/{raw}/?utm=x",
            headers={"Referer": f"https://mail.example/p/t/{raw}/"},
        )
        with pytest.raises(urllib.error.HTTPError) as dead:
            urllib.request.urlopen(request, timeout=30)
        assert dead.value.code == 404
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = access_log.read_text() + error_log.read_text()
    assert "/p/t/[masked-" in log and " 404 " in log  # the line is there, masked
    assert raw not in log
