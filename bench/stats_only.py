"""Time compute_round alone on one synthetic round of 2,000 panelists x 300 items (600 k ratings).

    .venv/bin/python bench/stats_only.py [--panelists 2000] [--items 300] [--repeat 5]

Everything the worker computes for a round: 5 stakeholder groups + all + balanced (2,100
item-groups), stability against a previous round (Wilcoxon and percentage change), Kendall's W
and Krippendorff's alpha per group, the study's definition and every preset. No database.
Prints the median and the best wall-clock time, the peak memory traced inside compute_round
(tracemalloc, a separate run since tracing slows Python down) and the process' peak RSS.
"""

import argparse
import os
import resource
import statistics
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from delphi.consensus.stats import Scale, compute_round  # noqa: E402

GROUPS = np.array(["clinician", "dispatcher", "family", "peer", "police"], dtype=object)


def synthetic_round(rng, panelists: int, items: int, base=None, shift=0) -> pd.DataFrame:
    """Ratings around a per-item centre; 3 % 'unable to rate', concentrated in a fifth of the
    panel so that complete cases (needed for Kendall's W) exist, as in a real Delphi."""
    if base is None:
        base = rng.integers(2, 9, items)
    values = np.clip(base[None, :] + rng.integers(-2, 3, (panelists, items)) + shift, 1, 9)
    values = values.astype(np.float64)
    unable = (rng.random((panelists, items)) < 0.15) & ((np.arange(panelists) % 5 == 0)[:, None])
    values[unable] = np.nan
    return pd.DataFrame(
        {
            "panelist": np.repeat(np.array([f"P{p:05d}" for p in range(panelists)]), items),
            "group": np.repeat(GROUPS[np.arange(panelists) % len(GROUPS)], items),
            "item": np.tile(np.array([f"C{i:03d}" for i in range(items)]), panelists),
            "value": values.ravel(),
        }
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panelists", type=int, default=2000)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(2026)
    base = rng.integers(2, 9, args.items)
    previous = synthetic_round(rng, args.panelists, args.items, base)
    current = synthetic_round(rng, args.panelists, args.items, base, shift=0)
    scale = Scale.parse("1-9")
    definition = {"preset": "comet", "scope": "every_group"}

    def once():
        return compute_round(current, previous, scale=scale, definition=definition)

    once()  # warm-up: imports, caches
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = once()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    once()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ratings = len(current)
    med = statistics.median(times)
    print(
        f"ratings/round: {ratings:,} ({args.panelists:,} panelists x {args.items} items, "
        f"{ratings - int(current['value'].isna().sum()):,} valid) + previous round"
    )
    print(
        f"item-group rows: {len(result.items):,}; stability rows: {len(result.stability):,}; "
        f"concordance rows: {len(result.concordance)}; decisions: {len(result.decisions)}"
    )
    print(
        f"compute_round: median {med:.3f} s, best {min(times):.3f} s over {args.repeat} runs "
        f"({ratings / med:,.0f} ratings/s)"
    )
    print(f"peak memory traced in compute_round: {peak / 2**20:.0f} MiB; process peak RSS: "
          f"{rss_mb:.0f} MiB")  # fmt: skip
    verdicts = result.decisions["verdict"].value_counts().to_dict()
    w = result.concordance.set_index("group_key").loc["all"]
    print(
        f"verdicts: {verdicts}; Kendall's W (all, {w['n_panelists']} complete cases): "
        f"{w['kendall_w']:.3f}; alpha ordinal {w['alpha_ordinal']:.3f}"
    )


if __name__ == "__main__":
    main()
