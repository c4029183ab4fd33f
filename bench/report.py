"""The full report (ZIP + workbook + PDF) for the bench/consensus.py study: seconds and peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/report.py

Builds the 2,000 x 300 x 4 study with bench/consensus.py's builder in a scratch database,
analyses each round in-process, then writes each file in its own child process and prints its
seconds and peak RSS (the child's ru_maxrss). Target: < 60 s in all, <= 1 GB per file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import consensus as base  # noqa: E402


def child(kind: str) -> None:
    base._setup_django(os.environ["DATABASE_URL"])
    from delphi.models import Study
    from delphi.reports.data import report_data
    from delphi.reports.files import render_file

    study = Study.objects.get(title="Bench study")
    t0 = time.perf_counter()
    data = report_data(study=study)
    t1 = time.perf_counter()
    content = render_file(kind, data)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    figures = {"kind": kind, "read_s": t1 - t0, "write_s": t2 - t1, "bytes": len(content)}
    print("FIGURES " + json.dumps({**figures, "peak_rss": peak}), flush=True)


def _analyse_every_round() -> None:
    """A consensus run for every round that has none.

    The builder marks rounds 1-3 analysed without a run (bench/consensus.py times round 4 only);
    the report covers analysed rounds with a finished run, so without this it would read one
    round's 600,000 ratings instead of all 2.4 million.
    """
    from delphi.consensus.services import consensus_compute_now
    from delphi.models import ConsensusRun, Round

    t0 = time.perf_counter()
    done = 0
    for rnd in Round.objects.filter(study__title="Bench study").order_by("number"):
        if not rnd.consensus_runs.filter(status=ConsensusRun.Status.DONE).exists():
            run = consensus_compute_now(round=rnd)
            if run.status != ConsensusRun.Status.DONE:
                raise SystemExit(f"round {rnd.number}: the consensus run failed: {run.error}")
            done += 1
    if done:
        print(f"analysed {done} round(s) in {time.perf_counter() - t0:.1f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="delphi_bench_report")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    url = base._refuse_unless_postgres()
    if args.child:
        child(args.child)
        return 0
    bench_url = base._server_url(url, args.db)
    if not args.reuse:
        with base._admin_connect(url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
            admin.execute(f'CREATE DATABASE "{args.db}"')
    try:
        base._setup_django(bench_url)
        if not args.reuse:
            t0 = time.perf_counter()
            base.build(bench_url)
            print(f"built in {time.perf_counter() - t0:.1f} s", flush=True)
        _analyse_every_round()
        from django.db import connections

        connections.close_all()
        total = 0.0
        for kind in ("zip", "xlsx", "pdf"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind],
                env={**os.environ, "DATABASE_URL": bench_url},
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            line = next((ln for ln in out.stdout.splitlines() if ln.startswith("FIGURES ")), None)
            if out.returncode or line is None:
                print(out.stdout, out.stderr, file=sys.stderr)
                return 1
            f = json.loads(line.removeprefix("FIGURES "))
            seconds = f["read_s"] + f["write_s"]
            total += seconds
            print(f"{kind}: read {f['read_s']:.1f} s + write {f['write_s']:.1f} s = "
                  f"{seconds:.1f} s, {f['bytes'] / 1e6:.1f} MB, peak RSS "
                  f"{f['peak_rss'] / 2**20:.0f} MiB", flush=True)  # fmt: skip
        print(f"total {total:.1f} s (target < 60 s; CPU shared with other work, see README)")
        return 0
    finally:
        if not (args.keep or args.reuse):
            with base._admin_connect(url) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
