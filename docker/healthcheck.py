#!/usr/bin/env python
"""Container health checks: `healthcheck.py web|worker|beat`. Exit 0 when healthy.

web    GET the sign-in page from gunicorn as the reverse proxy would (an allowed Host, HTTPS
       forwarded), so DEBUG=false's host check and SSL redirect do not turn it into a 400/301.
worker ask this container's Celery worker for a ping over the broker.
beat   the schedule file was written recently (beat syncs it every few minutes while alive).
"""

import glob
import os
import subprocess
import sys
import time
import urllib.request


def web() -> bool:
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = next((h.lstrip(".") for h in hosts if h != "*"), "localhost")
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/accounts/login/",
        headers={"Host": host, "X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=8) as response:  # noqa: S310 (loopback)
        return response.status == 200


def worker() -> bool:
    hostname = "worker@" + os.uname().nodename
    done = subprocess.run(
        ["celery", "-A", "delphi", "inspect", "ping", "--destination", hostname, "--timeout", "5"],
        capture_output=True,
        timeout=30,
    )
    return done.returncode == 0


def beat() -> bool:
    # Where the entrypoint tells beat to keep its schedule (the container's own /tmp).
    schedule = os.environ.get("BEAT_SCHEDULE", "/tmp/celerybeat-schedule")  # noqa: S108
    files = glob.glob(schedule + "*")
    max_age = int(os.environ.get("BEAT_HEALTH_MAX_AGE", "900"))
    return bool(files) and time.time() - max(os.path.getmtime(f) for f in files) < max_age


if __name__ == "__main__":
    check = {"web": web, "worker": worker, "beat": beat}[
        sys.argv[1] if len(sys.argv) > 1 else "web"
    ]
    try:
        sys.exit(0 if check() else 1)
    except Exception as exc:  # any failure to answer is "unhealthy", with the reason logged
        print(f"unhealthy: {exc}", file=sys.stderr)
        sys.exit(1)
