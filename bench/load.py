"""200 panelists autosaving and paging at once on gunicorn + PostgreSQL, beside the floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/load.py \
        [--users 200] [--duration 60] [--items 100] [--pages 5] [--think 0.5,2] \
        [--workers 2] [--worker-class sync] [--port 8151] [--db delphi_bench_load]

Needs PostgreSQL (the bench creates, migrates and drops its own database on that server,
``--db``) and locust (a dev dependency). Loopback only, bounded: at most 1,000 users and
120 s per phase, and both phases stop by themselves.

It seeds, with bench/autosave.py's code, one open round of N items over P questionnaire pages
and one panelist per user, starts gunicorn the same way (DEBUG off, persistent connections,
the bench urlconf with the floor view), gives every panelist a real session through their
link, then runs locust headless twice, each time U users (all started within 5 s) for D
seconds:

    panelists  each a different panelist: GET a page, then one POST /autosave/ per statement
               on it, then the next page, around again; a pause of --think seconds after each
               request (a fast panelist; 0,0 for no pause: saturation)
    floor      the same users and pauses, each request POST /bench/floor/: one indexed
               SELECT + one INSERT ... ON CONFLICT, no session, no checks

and prints, per request kind, requests/s, p50/p95/p99 and the error count (non-2xx, timeouts,
refused connections). Target (issue 7): 0 errors. The load generator shares the machine's
cores with gunicorn and PostgreSQL; the load average is printed beside the figures.
"""

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import autosave  # noqa: E402

LOCUSTFILE = Path(__file__).with_name("load_locust.py")


def drop_database(db_url: str) -> None:
    import psycopg

    parts = urlsplit(db_url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def run_locust(user_class, *, port, data_file, users, duration, think, out_dir) -> list[dict]:
    prefix = os.path.join(out_dir, user_class)
    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or "locust"
    cmd = [
        locust, "-f", str(LOCUSTFILE), user_class, "--headless", "--only-summary",
        "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{duration}s",
        "--stop-timeout", "10", "--host", f"http://127.0.0.1:{port}", "--csv", prefix,
        "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    env = {**os.environ, "BENCH_LOAD_DATA": data_file, "BENCH_THINK": think}
    out = subprocess.run(cmd, env=env, timeout=duration + 120, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"locust failed:\n{out.stderr}")
    with open(prefix + "_stats.csv") as fh:
        rows = list(csv.DictReader(fh))
    return rows


def show(label, row):
    print(
        f"{label:10} {float(row['Requests/s']):8.1f} req/s   p50 {row['50%']:>6} ms   "
        f"p95 {row['95%']:>6} ms   p99 {row['99%']:>6} ms   "
        f"{row['Request Count']:>7} requests, {row['Failure Count']} errors"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=int, default=60, help="seconds per phase")
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--think", default="0.5,2", help="pause after each request: MIN,MAX s")
    parser.add_argument("--port", type=int, default=8151)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--db", default="delphi_bench_load")
    args = parser.parse_args()
    if not 8100 <= args.port <= 8199:
        sys.exit("Use a port in 8100-8199.")
    if not 1 <= args.users <= 1000:
        sys.exit("--users: 1 to 1,000.")
    args.duration = max(5, min(args.duration, 120))
    args.pages = max(1, min(args.pages, args.items))

    db_url = autosave.bench_database_url(args.db)
    work = tempfile.mkdtemp(prefix="delphi-bench-load-")
    env = autosave.server_env(db_url, os.path.join(work, "static"))
    os.environ.update(env)
    print(f"seeding {args.items} items on {args.pages} pages and {args.users} panelists ...")
    data = autosave.seed(items=args.items, panelists=args.users, domains=args.pages)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    cmd = [gunicorn, "delphi.wsgi:application", "-b", f"127.0.0.1:{args.port}",
           "-w", str(args.workers), "-k", args.worker_class, "--log-level", "warning",
           "--backlog", "2048"]  # fmt: skip
    if args.worker_class == "gthread":
        cmd += ["--threads", "4"]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    try:
        autosave.wait_for(args.port, server)
        sessions = autosave.sessions_for(args.port, data)
        from delphi.models import Response

        responses = list(
            Response.objects.filter(round__uuid=data["round"]).values_list("pk", flat=True)
        )
        data_file = os.path.join(work, "data.json")
        with open(data_file, "w") as fh:
            json.dump({**data, "sessions": sessions, "responses": responses}, fh)
        print(
            f"gunicorn {args.workers} {args.worker_class} workers on 127.0.0.1:{args.port}; "
            f"locust, {args.users} users, {args.duration} s per phase, pause {args.think} s; "
            f"{os.cpu_count()} CPUs shared by all"
        )
        print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        errors = 0
        for phase in ("Panelist", "Floor"):
            rows = run_locust(
                phase, port=args.port, data_file=data_file, users=args.users,
                duration=args.duration, think=args.think, out_dir=work,
            )  # fmt: skip
            for row in rows:
                if row["Name"] == "Aggregated" and phase == "Floor":
                    continue
                label = "panelists" if row["Name"] == "Aggregated" else row["Name"]
                show(label, row)
                if row["Name"] == "Aggregated":
                    errors += int(row["Failure Count"])
            if phase == "Floor":
                errors += sum(int(r["Failure Count"]) for r in rows if r["Name"] == "floor")
            failures = os.path.join(work, f"{phase}_failures.csv")
            with open(failures) as fh:
                for row in csv.DictReader(fh):
                    print(f"  {row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error']}")
        print("load average after:  {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        print(f"errors: {errors} (target 0)")
        return 1 if errors else 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        drop_database(db_url)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
