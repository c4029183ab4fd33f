"""Settings for the autosave benchmark's gunicorn (bench/autosave.py starts it).

Production-like: DEBUG off (set by the environment the bench passes), persistent connections,
manifest static files collected to a temporary folder. Its urlconf, bench/autosave_urls.py,
adds a bare "ok" view and the floor view to the real site.
"""

import os

from delphi.settings import *  # noqa: F403

ROOT_URLCONF = "bench.autosave_urls"
STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT", "/tmp/delphi-bench-static")
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

if os.environ.get("BENCH_ASYNC_COMMIT") == "1":
    # Diagnostic only (bench/autosave.py --async-commit): shows how much of a write's time is
    # the WAL flush at commit. The product keeps synchronous commits: "Saved" must mean saved.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"  # noqa: F405
