"""Benchmark the consensus run at the design's scale, on PostgreSQL.

Builds 2,000 panelists in 5 stakeholder groups rating 300 items over 4 rounds (600,000
ratings a round, 2.4 million in all) in a scratch database, then measures ONE consensus run of
the last round (loading the ratings, computing everything — every group, balanced, stability
against round 3, concordance, every preset — and persisting), beside the floor measured in the
same process: a raw COPY of the round's ratings into pandas.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/consensus.py

The scratch database (``delphi_bench`` on the same server, ``--db`` to rename) is created and
dropped again (``--keep`` keeps it). The measurement runs in a fresh child process so its peak
memory is the run's, not the data generator's.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

PANELISTS = 2000
GROUPS = ("law", "clinical", "dispatch", "peer", "family")
ITEMS = 300
ROUNDS = 4
SEED = 20261127


def _server_url(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, ""))


def _refuse_unless_postgres() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print(
            "bench/consensus.py measures the PostgreSQL deployment (COPY, real indexes).\n"
            "Set DATABASE_URL to a PostgreSQL server the bench may create a database on, e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python "
            "bench/consensus.py\n"
            "Nothing was done.",
            file=sys.stderr,
        )
        sys.exit(2)
    return url


def _admin_connect(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)  # runs in-process; the bench measures the run itself
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "delphi.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- building the data --------------------------------------------------------------------------


def build(url: str) -> int:
    """Create the study and its 4 rounds of ratings; return the last round's id."""
    import numpy as np
    import pandas as pd
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from competencies.models import Domain, Framework, Statement
    from delphi.models import Response, Round, RoundItem, Study
    from panels.models import Panel, Panelist, StakeholderGroup

    call_command("migrate", verbosity=0)
    rng = np.random.default_rng(SEED)
    panel = Panel.objects.create(name="Bench panel")
    groups = [
        StakeholderGroup.objects.create(panel=panel, code=code, name=code.title(), order=i)
        for i, code in enumerate(GROUPS)
    ]
    framework = Framework.objects.create(name="Bench framework")
    domain = Domain.objects.create(framework=framework, code="D1", name="Everything")
    statements = Statement.objects.bulk_create(
        Statement(
            framework=framework,
            domain=domain,
            code=f"S{i:03d}",
            text=f"The responder can do thing number {i}.",
            order=i,
        )
        for i in range(ITEMS)
    )
    study = Study.objects.create(title="Bench study", panel=panel, framework=framework)
    group_of = np.arange(PANELISTS) % len(GROUPS)
    panelists = Panelist.objects.bulk_create(
        Panelist(panel=panel, group=groups[g], public_id=f"P-B{i:07d}")
        for i, g in enumerate(group_of)
    )
    now = timezone.now()
    base = rng.uniform(2.0, 8.5, size=ITEMS)
    group_shift = rng.normal(0.0, 0.8, size=(ITEMS, len(GROUPS)))
    previous_items = None
    last_round_id = None
    for number in range(1, ROUNDS + 1):
        last = number == ROUNDS
        rnd = Round.objects.create(
            study=study,
            number=number,
            status=Round.Status.CLOSED if last else Round.Status.ANALYSED,
            opened_at=now,
            closed_at=now,
            analysed_at=None if last else now,
        )
        items = RoundItem.objects.bulk_create(
            RoundItem(
                round=rnd,
                statement=st,
                order=i,
                carried_from=previous_items[i] if previous_items else None,
            )
            for i, st in enumerate(statements)
        )
        responses = Response.objects.bulk_create(
            Response(
                round=rnd,
                panelist=p,
                status=Response.Status.SUBMITTED,
                submitted_at=now,
            )
            for p in panelists
        )
        # Later rounds converge: each panelist's spread shrinks round by round.
        spread = 1.7 * 0.85 ** (number - 1)
        mu = (base[:, None] + group_shift)[:, group_of].T  # panelists x items
        values = np.clip(np.rint(rng.normal(mu, spread)), 1, 9).astype(np.int64)
        unable = rng.random(values.shape) < 0.02
        frame = pd.DataFrame(
            {
                "response_id": np.repeat([r.pk for r in responses], ITEMS),
                "item_id": np.tile([i.pk for i in items], PANELISTS),
                "value": pd.array(np.where(unable, 0, values).ravel(), dtype="Int64"),
                "unable": np.where(unable.ravel(), "t", "f"),
                "comment": "",
                "change_reason": "",
                "updated_at": "2026-11-27 00:00:00+00",
            }
        )
        frame.loc[unable.ravel(), "value"] = pd.NA
        buffer = io.StringIO()
        frame.to_csv(
            buffer, sep="\t", header=False, index=False, na_rep="\\N", quoting=csv.QUOTE_NONE
        )
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY delphi_rating (response_id, item_id, value, unable, comment, "
                "change_reason, updated_at) FROM STDIN"
            ) as copy,
        ):
            copy.write(buffer.getvalue())
        previous_items = items
        last_round_id = rnd.pk
        print(f"  round {number}: {len(frame):,} ratings", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return last_round_id


def build_analysed(url: str) -> float:
    """build(), then analyse each round in-process, as the pages would show them; seconds."""
    from delphi.consensus.services import consensus_compute_now
    from delphi.models import Round

    t0 = time.perf_counter()
    build(url)
    for rnd in Round.objects.filter(study__title="Bench study").order_by("number"):
        if rnd.status != Round.Status.ANALYSED:
            consensus_compute_now(round=rnd)
    return time.perf_counter() - t0


# --- measuring -----------------------------------------------------------------------------------


def copy_ratings(round_ids) -> tuple[float, int]:
    """The floor: a raw COPY of the rounds' ratings (ids and values) into a DataFrame;
    (seconds, rows). bench/report.py takes the same floor over every analysed round."""
    import pandas as pd
    from django.db import connection

    t0 = time.perf_counter()
    sql = (
        "COPY (SELECT r.response_id, r.item_id, r.value FROM delphi_rating r "
        "JOIN delphi_response s ON s.id = r.response_id "
        f"WHERE s.round_id IN ({','.join(str(int(r)) for r in round_ids)})) TO STDOUT"
    )
    buffer = io.BytesIO()
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    frame = pd.read_csv(
        buffer, sep="\t", header=None, names=["response", "item", "value"], na_values=["\\N"]
    )
    return time.perf_counter() - t0, len(frame)


def floor_copy_seconds(round_id: int) -> float:
    seconds, rows = copy_ratings([round_id])
    assert rows == PANELISTS * ITEMS
    return seconds


def measure(round_id: int, repeats: int) -> dict:
    from delphi.consensus.services import consensus_compute_now
    from delphi.models import ConsensusRun, ItemResult, Round

    rnd = Round.objects.select_related("study").get(pk=round_id)
    floors, runs = [], []
    for _ in range(repeats):
        floors.append(floor_copy_seconds(round_id))
        # Forget earlier runs so the fingerprint shortcut cannot skip the work.
        ConsensusRun.objects.filter(round=rnd).delete()
        run = consensus_compute_now(round=rnd)
        if run.status != ConsensusRun.Status.DONE:
            raise SystemExit(f"the run failed: {run.error}")
        runs.append(run.timings)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # Python-level peak during one more run, traced separately (tracing slows it down).
    ConsensusRun.objects.filter(round=rnd).delete()
    tracemalloc.start()
    consensus_compute_now(round=rnd)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    def med(key):
        return statistics.median(t[key] for t in runs)

    return {
        "repeats": repeats,
        "ratings": runs[0]["ratings"],
        "result_rows": ItemResult.objects.filter(round=rnd).count(),
        "floor_copy_s": statistics.median(floors),
        "load_s": med("load_s"),
        "fingerprint_s": med("fingerprint_s"),
        "load_average": os.getloadavg(),
        "compute_s": med("compute_s"),
        "persist_s": med("persist_s"),
        "total_s": med("total_s"),
        "all_runs": runs,
        "peak_rss_mb": rss_kb / 1024,
        "peak_traced_mb": traced_peak / 2**20,
    }


def report(figures: dict) -> int:
    ratings = figures["ratings"]
    print()
    print(
        f"One consensus run of round {ROUNDS} ({ratings:,} ratings; {PANELISTS:,} panelists in "
        f"{len(GROUPS)} groups x {ITEMS} items), median of {figures['repeats']} runs:"
    )
    rows = [
        ("floor: raw COPY into pandas", figures["floor_copy_s"], ""),
        ("load rounds 4 and 3 (keys, responses, ONE binary COPY)", figures["load_s"], ""),
        ("fingerprint (from the loaded arrays)", figures["fingerprint_s"], ""),
        ("compute (all, balanced, groups, stability, presets)", figures["compute_s"], ""),
        ("persist (one transaction)", figures["persist_s"], f"{figures['result_rows']:,} rows"),
        ("whole run", figures["total_s"], ""),
    ]
    for label, seconds, note in rows:
        print(f"  {label:<52} {seconds:7.3f} s  {note}")
    multiple = figures["total_s"] / figures["floor_copy_s"]
    print(f"  {'whole run as a multiple of the floor':<52} {multiple:7.2f} x")
    print(f"  {'ratings per second (whole run)':<52} {ratings / figures['total_s']:>11,.0f}")
    print(f"  {'ratings per second (compute)':<52} {ratings / figures['compute_s']:>11,.0f}")
    print(
        f"  {'load average during the measurement (1/5/15 min)':<52} "
        + ", ".join(f"{v:.1f}" for v in figures["load_average"])
    )
    print(
        f"  {'peak resident memory (maxrss, whole process)':<52} {figures['peak_rss_mb']:7.0f} MB"
    )
    print(
        f"  {'peak Python allocations (tracemalloc, one run)':<52} "
        f"{figures['peak_traced_mb']:7.0f} MB"
    )
    checks = [
        ("whole run <= 2.0 x the COPY floor", multiple <= 2.0),
        ("compute <= 2 s", figures["compute_s"] <= 2.0),
        ("peak memory <= 500 MB", figures["peak_rss_mb"] <= 500),
    ]
    print()
    for label, ok in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {label}")
    return 0 if all(ok for _, ok in checks) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="delphi_bench", help="scratch database name")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse", action="store_true", help="measure a database kept by --keep (implies --keep)"
    )
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    url = _refuse_unless_postgres()

    if args.measure:
        _setup_django(url)
        print("FIGURES " + json.dumps(measure(args.measure, args.repeats)), flush=True)
        return 0

    bench_url = _server_url(url, args.db)
    args.keep = args.keep or args.reuse
    if not args.reuse:
        with _admin_connect(url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
            admin.execute(f'CREATE DATABASE "{args.db}"')
    try:
        _setup_django(bench_url)
        if args.reuse:
            from delphi.models import Round

            round_id = Round.objects.get(study__title="Bench study", number=ROUNDS).pk
        else:
            print(f"Building {ROUNDS} rounds in database {args.db} ...", flush=True)
            t0 = time.perf_counter()
            round_id = build(bench_url)
            print(f"  built in {time.perf_counter() - t0:.1f} s", flush=True)
        from django.db import connections

        connections.close_all()
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                str(round_id),
                "--repeats",
                str(args.repeats),
            ],
            env={**os.environ, "DATABASE_URL": bench_url},
            capture_output=True,
            text=True,
            check=False,
        )
        line = next((ln for ln in child.stdout.splitlines() if ln.startswith("FIGURES ")), None)
        if child.returncode != 0 or line is None:
            print(child.stdout, child.stderr, file=sys.stderr)
            return 1
        return report(json.loads(line.removeprefix("FIGURES ")))
    finally:
        if not args.keep:
            with _admin_connect(url) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
