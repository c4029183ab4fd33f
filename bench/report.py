"""The full report (ZIP + workbook + PDF) for the bench/consensus.py study: seconds and peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/report.py

Builds the 2,000 x 300 x 4 study with bench/consensus.py's builder in a scratch database and
gives every round a consensus run (2.4 million ratings reported). Then, in one fresh child
process, as a report job does it (`manage.py report`, the web's "all three files" task): the
floor (a raw COPY of every analysed rating into pandas), the read (`report_data`, once), and
each file written from that one read. Peak resident memory is measured per step: the kernel's
high-water mark is reset before each (/proc/self/clear_refs) and read after (VmHWM).
Target: < 60 s for the read and the three files, <= 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import consensus as base  # noqa: E402

TARGET_S = 60.0
TARGET_BYTES = 2**30


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak RSS (VmHWM) to the current RSS


def _peak() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def floor_seconds(study) -> tuple[float, int]:
    """A raw COPY of every analysed rating (response, item, value) into a DataFrame."""
    from delphi.models import ConsensusRun

    rounds = list(
        ConsensusRun.objects.filter(round__study=study, status=ConsensusRun.Status.DONE)
        .values_list("round_id", flat=True)
        .distinct()
    )
    return base.copy_ratings(rounds)


def child() -> None:
    base._setup_django(os.environ["DATABASE_URL"])
    from delphi.models import Study
    from delphi.reports.data import report_data
    from delphi.reports.files import FILES, render_file

    study = Study.objects.get(title="Bench study")
    out = {"load_average_before": os.getloadavg()}
    _reset_peak()
    out["floor_s"], out["floor_rows"] = floor_seconds(study)
    out["floor_peak"] = _peak()
    _reset_peak()
    t0 = time.perf_counter()
    data = report_data(study=study)
    out["read_s"] = time.perf_counter() - t0
    out["read_peak"] = _peak()
    out["ratings"] = len(data.ratings)
    for kind in FILES:
        _reset_peak()
        t0 = time.perf_counter()
        content = render_file(kind, data)
        out[f"{kind}_s"] = time.perf_counter() - t0
        out[f"{kind}_peak"] = _peak()
        out[f"{kind}_bytes"] = len(content)
        del content
    out["load_average_after"] = os.getloadavg()
    print("FIGURES " + json.dumps(out), flush=True)


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
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    url = base._refuse_unless_postgres()
    if args.child:
        child()
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
        proc = subprocess.run(
            [sys.executable, __file__, "--child"],
            env={**os.environ, "DATABASE_URL": bench_url},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("FIGURES ")), None)
        if proc.returncode or line is None:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return 1
        f = json.loads(line.removeprefix("FIGURES "))
        mib = 2**20
        print(
            f"load average {f['load_average_before'][0]:.1f} before, "
            f"{f['load_average_after'][0]:.1f} after (2 cores)"
        )
        print(
            f"floor: COPY of {f['floor_rows']:,} ratings into pandas  {f['floor_s']:6.1f} s  "
            f"peak RSS {f['floor_peak'] / mib:5.0f} MiB"
        )
        print(
            f"read once (report_data, {f['ratings']:,} ratings)   {f['read_s']:6.1f} s  "
            f"peak RSS {f['read_peak'] / mib:5.0f} MiB  ({f['read_s'] / f['floor_s']:.1f} x floor)"
        )
        total = f["read_s"]
        peak = f["read_peak"]
        for kind, name in (("zip", "data.zip"), ("xlsx", "workbook.xlsx"), ("pdf", "report.pdf")):
            total += f[f"{kind}_s"]
            peak = max(peak, f[f"{kind}_peak"])
            print(
                f"{name:<14} {f[f'{kind}_bytes'] / 1e6:6.1f} MB              "
                f"{f[f'{kind}_s']:6.1f} s  peak RSS {f[f'{kind}_peak'] / mib:5.0f} MiB"
            )
        ok_s = "ok" if total < TARGET_S else "MISSED"
        ok_m = "ok" if peak <= TARGET_BYTES else "MISSED"
        print(
            f"total (read + three files)            {total:6.1f} s  peak RSS {peak / mib:5.0f} MiB"
        )
        print(f"[{ok_s}] < {TARGET_S:.0f} s   [{ok_m}] <= 1 GiB")
        return 0 if ok_s == ok_m == "ok" else 1
    finally:
        if not (args.keep or args.reuse):
            with base._admin_connect(url) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
