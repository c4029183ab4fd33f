"""Shared browser fixtures: chromium driven by Playwright, axe-core and screenshots.

The browser is Debian's /usr/bin/chromium when installed, else Playwright's own download
(`.venv/bin/playwright install chromium`, which `make test` tries). Every browser test is marked
`browser`; with neither browser (or without axe-core from npm) the tests skip locally, and the
run ends with one loud line naming them (tests/conftest.py); under CI=true they fail instead.
"""

import atexit
import contextlib
import os
import time
from pathlib import Path

import pytest

from tests.conftest import require_service

# pytest-django's live_server runs in a thread; Playwright's sync API runs an event loop in
# this one, which Django would otherwise refuse to do ORM work from.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# CHROMIUM_PATH: another system chromium (tests/test_browser_fallback.py points it nowhere).
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


# One Playwright and one chromium per test process, however many modules define a `browser`
# fixture from this one (tests elsewhere borrow it by assignment, which makes a second fixture
# of the same name; a second sync_playwright() inside the first one's loop would fail).
_SHARED: dict = {}


def _shutdown():
    browser = _SHARED.pop("browser", None)
    playwright = _SHARED.pop("playwright", None)
    with contextlib.suppress(Exception):
        if browser is not None:
            browser.close()
    with contextlib.suppress(Exception):
        if playwright is not None:
            playwright.stop()


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        require_service("playwright is not installed")
    if "browser" not in _SHARED:
        playwright = _SHARED.get("playwright") or sync_playwright().start()
        _SHARED["playwright"] = playwright
        atexit.register(_shutdown)
        if CHROMIUM.exists():
            executable = str(CHROMIUM)
        elif Path(playwright.chromium.executable_path).exists():
            executable = None  # Playwright's own chromium
        else:
            require_service(
                f"no browser: neither {CHROMIUM} (apt-get install chromium) nor Playwright's "
                "chromium (.venv/bin/playwright install chromium)"
            )
        _SHARED["browser"] = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
    return _SHARED["browser"]


@pytest.fixture
def new_context(browser):
    """Factory for browser contexts (a context is a fresh profile: cookies, storage)."""
    contexts = []
    csp_violations = []

    def watch(page):
        # The Content-Security-Policy blocks inline script and style; a page that needs one
        # would silently lose it, so every browser test fails on a reported violation.
        page.on(
            "console",
            lambda msg: (
                csp_violations.append(f"{page.url}: {msg.text}")
                if "Content Security Policy" in msg.text
                else None
            ),
        )

    def make(viewport=None, **kwargs):
        context = browser.new_context(viewport=viewport or PHONE, **kwargs)
        context.set_default_timeout(10_000)
        context.on("page", watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        with contextlib.suppress(Exception):  # already closed by the test
            context.close()
    if contexts:
        # A request the page sent just before it closed (a status poll, an autosave) may still
        # be running in the live server's thread; on SQLite's shared in-memory database it
        # holds a table lock, and the teardown's flush then fails ("table is locked"). Closing
        # the context cancels it in the browser, not in the server: give the thread a moment.
        time.sleep(0.5)
    assert csp_violations == []


@pytest.fixture
def page(new_context):
    """A phone-sized page (360x740)."""
    return new_context().new_page()


def run_axe(page) -> list[dict]:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on the current page; return all violations."""
    if not AXE.exists():
        require_service(f"{AXE} is missing: install npm, then `npm install` (make test does)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not as an inline <script> tag, which the
        # page's Content-Security-Policy (script-src 'self') rightly refuses.
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
        })"""
    )
    return result["violations"]


@pytest.fixture
def axe_check():
    """Call with a page: fails the test on any serious or critical axe violation."""

    def check(page, label=""):
        violations = run_axe(page)
        bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
        if bad:
            lines = []
            for v in bad:
                targets = [n["target"] for n in v["nodes"][:5]]
                lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
            pytest.fail(f"axe on {label or page.url}:\n" + "\n".join(lines))
        return violations

    return check


@pytest.fixture
def shot():
    """Call with (page, folder, name): saves a full-page PNG under /tmp/shots/<folder>/."""

    def save(page, folder, name):
        path = SHOTS / folder / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
