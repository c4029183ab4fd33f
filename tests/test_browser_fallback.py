"""`make test` on a machine with no browser: the browser tests say, in one line, that they did
not run (and under CI=true they fail instead of skipping)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_BROWSER_TEST = "tests/browser/test_smoke.py"


def run_without_a_browser(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ("CI",)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", ONE_BROWSER_TEST],
        cwd=ROOT,
        env={
            **clean,
            "CHROMIUM_PATH": "/nonexistent/chromium",
            "PLAYWRIGHT_BROWSERS_PATH": "/nonexistent/playwright",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_any_browser_one_loud_line_names_the_tests_that_did_not_run_and_ci_fails():
    out = run_without_a_browser()
    assert out.returncode == 0, out.stdout + out.stderr
    loud = [ln for ln in out.stdout.splitlines() if "DID NOT RUN" in ln]
    assert len(loud) == 1, out.stdout
    assert ONE_BROWSER_TEST in loud[0]
    assert "no browser" in loud[0] and "playwright install chromium" in loud[0]

    out = run_without_a_browser(CI="true")
    assert out.returncode != 0
    assert "CI=true: a missing service is a failure" in out.stdout
