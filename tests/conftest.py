"""The cast every test can call on: a researcher, an analyst, an outsider and a panelist."""

import os

import pytest

from tests import factories as f


def require_service(reason: str):
    """Skip locally when a service is missing; in CI (CI=true) a missing service fails."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(reason)


def pytest_configure(config):
    """Under pytest-xdist (CI runs the server tests on two processes) each process keeps its
    own cache keys: with REDIS_URL set the processes share one Redis, and throttles and cached
    pages must not leak from one process's tests into the other's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        from django.conf import settings

        settings.CACHES["default"]["KEY_PREFIX"] = f"test-{worker}"


def pytest_terminal_summary(terminalreporter):
    """One loud line when browser or accessibility tests were skipped (no browser, no axe)."""
    skipped = [
        r
        for r in terminalreporter.stats.get("skipped", [])
        if "browser" in getattr(r, "keywords", {})
    ]
    if not skipped:
        return
    reasons = sorted({str(r.longrepr[2]).removeprefix("Skipped: ") for r in skipped if r.longrepr})
    modules: dict[str, int] = {}
    for r in skipped:
        module = r.nodeid.split("::", 1)[0]
        modules[module] = modules.get(module, 0) + 1
    where = ", ".join(f"{m} ({n})" for m, n in sorted(modules.items()))
    terminalreporter.write_line(
        f"!!! {len(skipped)} BROWSER/ACCESSIBILITY TESTS DID NOT RUN: {where} -- "
        + "; ".join(reasons),
        red=True,
        bold=True,
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 costs ~0.3 s a user; tests create many users and never need the real work factor.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def researcher(db):
    return f.make_user("rita-researcher")


@pytest.fixture
def analyst(db):
    return f.make_user("andy-analyst")


@pytest.fixture
def outsider(db):
    return f.make_user("olga-outsider")


@pytest.fixture
def study(db, researcher, analyst):
    return f.make_study(researcher=researcher, analyst=analyst)


@pytest.fixture
def panelist(study):
    return f.make_panelist(study)


@pytest.fixture
def researcher_client(client, researcher):
    client.force_login(researcher)
    return client


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client
