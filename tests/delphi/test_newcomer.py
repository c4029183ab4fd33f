"""A newcomer's first hour: links that follow `make run`'s address, a ready panelist link,
and e-mails in the console that say whose they are."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command

from delphi.demo import content
from delphi.demo.newcomers import NEWCOMERS
from delphi.mail import ConsoleBackend, message_summary
from delphi.models import Study
from panels.models import Panelist

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)
    return Study.objects.get(uuid=content.DEMO_STUDY_UUID)


def settings_of(**env) -> tuple[str, str]:
    """(SITE_URL, EMAIL_BACKEND) as a fresh process with this environment sees them."""
    drop = ("SITE_URL", "DELPHI_RUN_URL", "EMAIL_URL")
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.SITE_URL); print(s.EMAIL_BACKEND)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "delphi.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    site, backend = out.stdout.split()
    return site, backend


def test_site_url_follows_make_runs_address_unless_set_and_mail_goes_to_the_console():
    site, backend = settings_of(DELPHI_RUN_URL="http://127.0.0.1:8101")
    assert site == "http://127.0.0.1:8101"
    # The console backend with one summary line per message is the default.
    assert backend == "delphi.mail.ConsoleBackend"
    site, _ = settings_of(
        DELPHI_RUN_URL="http://127.0.0.1:8101", SITE_URL="https://delphi.example.org/"
    )
    assert site == "https://delphi.example.org"


def test_make_run_passes_host_and_port_to_the_server_and_the_printed_link():
    out = subprocess.run(
        ["make", "-n", "run", "PORT=8101", "HOST=127.0.0.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DELPHI_RUN_URL=http://127.0.0.1:8101 " in out
    assert "manage.py demo_link" in out
    assert "runserver 127.0.0.1:8101" in out


def test_demo_has_panelists_who_have_not_consented_yet(demo):
    late = Panelist.objects.filter(panel=demo.panel, is_simulated=False)
    assert late.count() == len(NEWCOMERS)
    assert not late.filter(consented_at__isnull=False).exists()
    assert not late.filter(profile_confirmed_at__isnull=False).exists()
    assert late.filter(language="es").exists()


def test_demo_link_opens_the_consent_page_then_the_profile(demo, client, settings):
    settings.SITE_URL = "http://127.0.0.1:8101"
    out = io.StringIO()
    call_command("demo_link", stdout=out)
    printed = out.getvalue()
    link = next(w for w in printed.split() if w.startswith("http"))
    assert link.startswith("http://127.0.0.1:8101/p/t/")
    page = client.get(link.removeprefix(settings.SITE_URL), follow=True)
    assert page.redirect_chain[-1][0].endswith("/p/consent/")
    assert "has not consented yet" in printed


def test_demo_link_says_so_when_everyone_has_consented(demo):
    Panelist.objects.filter(panel=demo.panel).update(
        consented_at="2026-11-01T00:00Z", consent_version=1
    )
    out = io.StringIO()
    call_command("demo_link", stdout=out)
    assert "no demo panelist is waiting to consent" in out.getvalue()


def test_console_mail_prints_one_line_with_the_panelist_and_link(demo):
    panelist = Panelist.objects.filter(panel=demo.panel, is_simulated=False).first()
    message = EmailMultiAlternatives(
        subject="Round 2  of the study",
        body="Your link: http://127.0.0.1:8101/p/t/abc-DEF_123/ thank you",
        to=[panelist.contact.email],
    )
    line = message_summary(message)
    assert "\n" not in line
    assert line.startswith(f"[mail] {panelist.public_id} <{panelist.contact.email}>")
    assert "Round 2 of the study" in line
    assert line.endswith("http://127.0.0.1:8101/p/t/abc-DEF_123/")
    stream = io.StringIO()
    ConsoleBackend(stream=stream).send_messages([message])
    first, rest = stream.getvalue().split("\n", 1)
    assert first == line and "Subject:" in rest


def test_demo_gives_the_study_its_spanish_words(demo, client):
    assert demo.title_es and demo.short_title_es and demo.aims_es and demo.contact_note_es
    assert demo.display_short_title("es") != demo.display_short_title("en")
