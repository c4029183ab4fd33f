"""Autosave and questionnaire-page throughput on gunicorn + PostgreSQL, beside a bare view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/autosave.py \
        [--panelists 200] [--items 150] [--connections 50] [--duration 10] [--port 8150] \
        [--workers 2] [--worker-class sync] [--db delphi_bench_autosave]

Needs PostgreSQL (DATABASE_URL names the server; the bench uses its own database,
`delphi_bench_autosave`, created and migrated on that server) and `wrk` (apt-get install wrk);
without wrk a small threaded Python load generator is used (it competes with the server for the
same cores, so its figures are lower). Loopback only; every run is bounded in time.

It seeds one study with a round of N items (all in one domain, so one questionnaire page holds
all of them: the worst case) and P panelists, starts gunicorn on 127.0.0.1:PORT with DEBUG off
and persistent connections, gives every panelist a real session through their link, then drives
C concurrent connections at four URLs, each for D seconds:

    bare      GET  /bench/ok/                  the full middleware stack, no database
    floor     POST /bench/floor/               one indexed SELECT + one INSERT ... ON CONFLICT
    autosave  POST /p/r/<round>/autosave/      the real endpoint: session, CSRF, checks, upsert
    page      GET  /p/r/<round>/page/1/        the questionnaire page with all N items

and prints requests/s and p95 latency for each, plus autosave's ratios to bare and floor.
Every request must answer 2xx; any other answer fails the run (a 403 is fast, not a result).
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "delphi_bench_autosave"


def bench_database_url(name: str = BENCH_DB) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (postgres://user@127.0.0.1:5432/db).")
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("The bench runs on loopback only: DATABASE_URL must point at 127.0.0.1.")
    import psycopg

    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        # A fresh database every run: the figures never depend on what a previous run left.
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def server_env(db_url: str, static_root: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.autosave_site",
        DATABASE_URL=db_url,
        DEBUG="false",
        SECRET_KEY="bench-only-" + "x" * 40,
        SECURE_SSL_REDIRECT="false",  # plain HTTP on loopback; production sits behind TLS
        CONN_MAX_AGE="600",
        BENCH_STATIC_ROOT=static_root,
        LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)  # no task is enqueued by these URLs
    return env


def seed(*, items: int, panelists: int, domains: int = 1) -> dict:
    """Runs inside this process with the bench settings: one study, links for every panelist.
    Items are split over ``domains`` in consecutive blocks; each domain is one page."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from competencies.models import Domain, Framework, Statement
    from delphi.models import Round, RoundItem, Study
    from panels.models import Contact, Invitation, Panel, Panelist, StakeholderGroup
    from panels.tokens import token_mint

    call_command("migrate", verbosity=0, interactive=False)
    panel = Panel.objects.create(name="Autosave bench panel")
    group = StakeholderGroup.objects.create(panel=panel, code="clinical", name="Clinical")
    framework = Framework.objects.create(name="Autosave bench framework")
    study = Study.objects.create(
        title="Autosave bench", panel=panel, framework=framework, consent_text="Agree."
    )
    all_domains = [
        Domain.objects.create(framework=framework, code=f"D{d + 1}", name=f"Domain {d + 1}",
                              order=d)
        for d in range(domains)
    ]  # fmt: skip
    statements = Statement.objects.bulk_create(
        Statement(framework=framework, domain=all_domains[i * domains // items],
                  code=f"B{i:03d}", order=i,
                  text=f"Competency statement number {i} for the crisis responder bench.")
        for i in range(items)
    )  # fmt: skip
    now = timezone.now()
    rnd = Round.objects.create(study=study, number=1, status="open", opened_at=now)
    round_items = RoundItem.objects.bulk_create(
        RoundItem(round=rnd, statement=s, order=i) for i, s in enumerate(statements)
    )
    links = []
    for i in range(panelists):
        p = Panelist.objects.create(
            panel=panel, group=group, consented_at=now, consent_version=1,
            profile_confirmed_at=now,
        )  # fmt: skip
        Contact.objects.create(panelist=p, panel=panel, email=f"bench{i}@example.org")
        raw, hashed = token_mint()
        Invitation.objects.create(
            panelist=p, token_hash=hashed, status="sent", sent_at=now,
            expires_at=now + timezone.timedelta(days=7),
        )  # fmt: skip
        links.append(raw)
    return {
        "round": str(rnd.uuid),
        "items": [str(i.uuid) for i in round_items],
        "pages": domains,
        "links": links,
    }


def cookies_from(response) -> dict:
    jar = {}
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def sessions_for(port: int, data: dict) -> list[dict]:
    """Each panelist opens their link (token -> session) and the page (CSRF cookie), then
    saves one answer so their Response exists: the timed runs measure the steady state."""
    out = []
    for raw in data["links"]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"/p/t/{raw}/")
        r = conn.getresponse()
        r.read()
        jar = cookies_from(r)
        assert r.status == 302 and "sessionid" in jar, (r.status, jar)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        cookie = f"sessionid={jar['sessionid']}"
        conn.request("GET", f"/p/r/{data['round']}/page/1/", headers={"Cookie": cookie})
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
        csrf = cookies_from(r)["csrftoken"]
        session = {"cookie": f"{cookie}; csrftoken={csrf}", "csrf": csrf}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = json.dumps({"item": data["items"][0], "value": "5"})
        conn.request(
            "POST", f"/p/r/{data['round']}/autosave/", body, headers=_post_headers(session)
        )
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
        out.append(session)
    return out


def _post_headers(session):
    return {
        "Cookie": session["cookie"],
        "X-CSRFToken": session["csrf"],
        "Content-Type": "application/json",
    }


WRK_SCRIPT = r"""
local sessions = %(sessions)s
local items = %(items)s
local responses = %(responses)s
local mode = "%(mode)s"
local round = "%(round)s"
local counter = 0
function setup(thread) counter = counter + 1; thread:set("seed", counter) end
function init(args) math.randomseed(seed * 7919 + os.time()) end
request = function()
  local s = sessions[math.random(#sessions)]
  if mode == "bare" then
    return wrk.format("GET", "/bench/ok/")
  elseif mode == "page" then
    return wrk.format("GET", "/p/r/" .. round .. "/page/1/", {["Cookie"] = s.cookie})
  end
  local item = items[math.random(#items)]
  local value = tostring(math.random(1, 9))
  if mode == "floor" then
    local body = '{"item":"' .. item .. '","response":' .. responses[math.random(#responses)]
      .. ',"value":"' .. value .. '"}'
    return wrk.format("POST", "/bench/floor/", {["Content-Type"] = "application/json"}, body)
  end
  local body = '{"item":"' .. item .. '","value":"' .. value .. '"}'
  return wrk.format("POST", "/p/r/" .. round .. "/autosave/",
    {["Cookie"] = s.cookie, ["X-CSRFToken"] = s.csrf, ["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%%d seconds=%%f p95_us=%%d p50_us=%%d non2xx=%%d "
    .. "socket_errors=%%d\n", summary.requests, summary.duration / 1e6,
    latency:percentile(95), latency:percentile(50), e.status, e.connect + e.read + e.write
    + e.timeout))
end
"""


def _lua_session(session) -> str:
    cookie, csrf = session["cookie"], session["csrf"]
    return f'{{cookie="{cookie}", csrf="{csrf}"}}'


def lua_list(values) -> str:
    return "{" + ",".join(values) + "}"


def run_wrk(mode, *, port, sessions, data, responses, connections, duration, threads=2):
    script = WRK_SCRIPT % {
        "sessions": lua_list(_lua_session(s) for s in sessions),
        "items": lua_list(f'"{u}"' for u in data["items"]),
        "responses": lua_list(str(r) for r in responses),
        "mode": mode,
        "round": data["round"],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
             "-s", fh.name, f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=duration + 60, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(fh.name)
    m = re.search(
        r"RESULT requests=(\d+) seconds=([\d.]+) p95_us=(\d+) p50_us=(\d+) non2xx=(\d+) "
        r"socket_errors=(\d+)",
        out,
    )
    requests, seconds, p95, p50, non2xx, sock = m.groups()
    return {
        "rps": int(requests) / float(seconds),
        "p95_ms": int(p95) / 1000,
        "p50_ms": int(p50) / 1000,
        "requests": int(requests),
        "bad": int(non2xx),
        "socket_errors": int(sock),
    }


def run_python(mode, *, port, sessions, data, responses, connections, duration):
    """Fallback load generator: C threads, one request at a time each, for D seconds."""
    deadline = time.monotonic() + duration
    latencies, bad = [], [0]
    lock = threading.Lock()

    def worker():
        rng = random.Random()
        mine = []
        while time.monotonic() < deadline:
            s = rng.choice(sessions)
            item = rng.choice(data["items"])
            value = str(rng.randint(1, 9))
            if mode == "bare":
                args = ("GET", "/bench/ok/", None, {})
            elif mode == "page":
                args = ("GET", f"/p/r/{data['round']}/page/1/", None, {"Cookie": s["cookie"]})
            elif mode == "floor":
                body = json.dumps({"item": item, "response": rng.choice(responses), "value": value})
                args = ("POST", "/bench/floor/", body, {"Content-Type": "application/json"})
            else:
                body = json.dumps({"item": item, "value": value})
                args = ("POST", f"/p/r/{data['round']}/autosave/", body, _post_headers(s))
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(args[0], args[1], args[2], args[3])
            r = conn.getresponse()
            r.read()
            conn.close()
            mine.append(time.perf_counter() - start)
            if not 200 <= r.status < 300:
                with lock:
                    bad[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "p50_ms": 1000 * statistics.median(latencies),
        "requests": len(latencies),
        "bad": bad[0],
        "socket_errors": 0,
    }


def wait_for(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("gunicorn exited during start-up; see its output above.")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/ok/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not answer in time.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--panelists", type=int, default=200)
    parser.add_argument("--items", type=int, default=150)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--port", type=int, default=8150)
    parser.add_argument("--db", default=BENCH_DB, help="scratch database (dropped, re-created)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--python-load", action="store_true", help="do not use wrk")
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="diagnostic: synchronous_commit=off, to see how much the WAL flush costs",
    )
    args = parser.parse_args()
    if not 8100 <= args.port <= 8199:
        sys.exit("Use a port in 8100-8199.")
    args.duration = max(1, min(args.duration, 60))

    db_url = bench_database_url(args.db)
    static_root = tempfile.mkdtemp(prefix="delphi-bench-static-")
    env = server_env(db_url, static_root)
    if args.async_commit:
        env["BENCH_ASYNC_COMMIT"] = "1"
    os.environ.update(env)
    print(f"seeding {args.items} items and {args.panelists} panelists in {args.db} ...")
    data = seed(items=args.items, panelists=args.panelists)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip

    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    cmd = [gunicorn, "delphi.wsgi:application", "-b", f"127.0.0.1:{args.port}",
           "-w", str(args.workers), "-k", args.worker_class, "--log-level", "warning"]  # fmt: skip
    if args.worker_class == "gthread":
        cmd += ["--threads", "4"]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    try:
        wait_for(args.port, server)
        sessions = sessions_for(args.port, data)
        from delphi.models import Response

        responses = list(
            Response.objects.filter(round__uuid=data["round"]).values_list("pk", flat=True)
        )
        use_wrk = shutil.which("wrk") and not args.python_load
        runner = run_wrk if use_wrk else run_python
        print(
            f"gunicorn {args.workers} {args.worker_class} workers on 127.0.0.1:{args.port}; "
            f"{args.connections} concurrent connections, {args.duration} s each, load by "
            f"{'wrk' if use_wrk else 'Python threads'}; {os.cpu_count()} CPUs shared by all"
            + ("; DIAGNOSTIC synchronous_commit=off." if args.async_commit else ".")
        )
        # Other processes on the machine skew every figure; the load average says how much.
        print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        results = {}
        for mode in ("bare", "floor", "autosave", "page"):
            runner(
                mode,
                port=args.port,
                sessions=sessions,
                data=data,
                responses=responses,
                connections=args.connections,
                duration=min(2, args.duration),
            )  # warm-up
            results[mode] = r = runner(
                mode, port=args.port, sessions=sessions, data=data, responses=responses,
                connections=args.connections, duration=args.duration,
            )  # fmt: skip
            print(
                f"{mode:9} {r['rps']:8.0f} req/s   p50 {r['p50_ms']:7.1f} ms   "
                f"p95 {r['p95_ms']:7.1f} ms   ({r['requests']} requests, {r['bad']} non-2xx, "
                f"{r['socket_errors']} socket errors)"
            )
        print("load average after:  {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        bare, floor, auto = results["bare"], results["floor"], results["autosave"]
        print(
            f"autosave / bare  = {auto['rps'] / bare['rps']:.2f}  (target >= 0.50)\n"
            f"autosave / floor = {auto['rps'] / floor['rps']:.2f}\n"
            f"autosave p95     = {auto['p95_ms']:.1f} ms  (target < 100 ms)"
        )
        if any(r["bad"] for r in results.values()):
            sys.exit("Some requests did not answer 2xx: the figures above are not valid.")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(static_root, ignore_errors=True)


if __name__ == "__main__":
    main()
