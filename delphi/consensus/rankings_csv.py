"""RANKINGS.csv for `manage.py analyze --kind ranking`: reading, checking and the two result files.

`parse_rankings(source, top_k=..., allow_ties=...)` validates the whole file and returns the long
table (round, panelist, group, item, rank) plus every problem, each naming the line, the column
and what is wrong; the per-panelist rules are the ones the panelist page applies
(stats.ranking.check_ranking). `write_ranking_results` writes ranking_items.csv and
ranking_concordance.csv through a temporary directory, so a failure leaves nothing half written.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from delphi.consensus.ratings_csv import _cell, _open_text, record_refusals
from delphi.consensus.stats.ranking import (
    ALL,
    DEFAULT_CONSENSUS_W,
    RankingResult,
    compute_ranking_round,
)
from lib import csvtable

REQUIRED = ("panelist", "round", "item", "rank")
MAX_ERRORS = 50

RANKING_ITEMS_HEADER = ["round", "item", "group", "n", "mean_rank", "median_rank", "sd_rank"]
RANKING_CONCORDANCE_HEADER = [
    "round", "group", "n_panelists", "n_items", "kendall_w", "chi2", "df", "p",
]  # fmt: skip


def parse_rankings(
    source, *, top_k: int | None = None, allow_ties: bool = False
) -> tuple[pd.DataFrame, list[str]]:
    """Read and check RANKINGS.csv (a path, bytes or a text stream): (frame, errors).

    A round's items are the items named in that round of the file. A complete ranking (no top_k)
    gives each panelist's every item a rank in 1..n; with top_k, each panelist ranks exactly
    min(k, n) items with ranks in 1..k and the others are left out or have an empty rank.
    """
    errors: list[str] = []
    more = 0

    def error(msg: str):
        nonlocal more
        if len(errors) < MAX_ERRORS:
            errors.append(msg)
        else:
            more += 1

    columns = ["round", "panelist", "group", "item", "rank"]
    empty = pd.DataFrame(columns=columns)
    try:
        stream = _open_text(source)
    except OSError as exc:
        return empty, [f"Cannot read the file: {exc.strerror}."]
    except UnicodeDecodeError:
        return empty, ["The file is not UTF-8 text."]
    except csvtable.CsvRefused as exc:
        return empty, [str(exc)]
    # (round, panelist) -> {item: (rank or None, line)}
    by_panelist: dict[tuple[int, str], dict[str, tuple[int | None, int]]] = {}
    group_of: dict[tuple[int, str], tuple[str, int]] = {}
    round_items: dict[int, dict[str, None]] = {}
    try:
        reader = csv.reader(stream)
        try:
            header = next(reader)
        except StopIteration:
            return empty, ["The file is empty: it needs a header line."]
        names = [h.strip().lower() for h in header]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            return empty, [
                f"line 1: the header lacks the column(s) {', '.join(missing)} "
                f"(found: {', '.join(h for h in header if h) or 'nothing'}). A ranking file "
                "needs at least panelist,round,item,rank and may have group."
            ]
        dupes = sorted({n for n in names if n and names.count(n) > 1})
        if dupes:
            return empty, [f"line 1: the header names the column(s) {', '.join(dupes)} twice."]
        col = {name: names.index(name) for name in (*REQUIRED, "group") if name in names}
        has_group = "group" in col
        line_end = 1
        for record in reader:
            line = line_end + 1
            line_end = reader.line_num
            if not record or all(not f.strip() for f in record):
                continue
            # The same refusals, in the same words, as the ratings reader.
            refusals = record_refusals(record, header, col, line)
            for message in refusals:
                error(message)
            if refusals:
                continue
            ok = True
            panelist = record[col["panelist"]].strip()
            item = record[col["item"]].strip()
            if not panelist:
                error(f"line {line}, column panelist: empty; every rank needs a panelist.")
                ok = False
            if not item:
                error(f"line {line}, column item: empty; every rank needs an item.")
                ok = False
            raw_round = record[col["round"]].strip()
            try:
                rnd = int(raw_round)
                if rnd < 1:
                    raise ValueError
            except ValueError:
                error(
                    f"line {line}, column round: {raw_round!r} is not a round number "
                    "(a whole number from 1)."
                )
                ok = False
            group = ALL
            if has_group:
                group = record[col["group"]].strip()
                if not group:
                    error(f"line {line}, column group: empty; name the panelist's group.")
                    ok = False
                elif group.lower() == ALL:
                    error(
                        f"line {line}, column group: {group!r} is reserved for the whole panel; "
                        "rename the group."
                    )
                    ok = False
            raw = record[col["rank"]].strip()
            rank: int | None = None
            if raw:
                try:
                    rank = int(raw)
                    if rank < 1:
                        raise ValueError
                except ValueError:
                    error(
                        f"line {line}, column rank: {raw!r} is not a rank (a whole number "
                        "from 1; 1 is the most important)."
                    )
                    ok = False
            if not ok:
                continue
            ranks = by_panelist.setdefault((rnd, panelist), {})
            if item in ranks:
                error(
                    f"line {line}: panelist {panelist!r} ranked item {item!r} in round {rnd} "
                    f"twice (also on line {ranks[item][1]})."
                )
                continue
            first = group_of.setdefault((rnd, panelist), (group, line))
            if first[0] != group:
                error(
                    f"line {line}, column group: panelist {panelist!r} is in group {group!r} "
                    f"here but in {first[0]!r} on line {first[1]} of the same round."
                )
                continue
            ranks[item] = (rank, line)
            round_items.setdefault(rnd, {})[item] = None
    except csv.Error as exc:
        error(f"line {reader.line_num}: the CSV cannot be read ({exc}).")
    except UnicodeDecodeError:
        error("The file is not UTF-8 text.")
    finally:
        if stream is not source:
            stream.close()

    rounds, panelists, groups, items, values = [], [], [], [], []
    for (rnd, panelist), ranks in by_panelist.items():
        n = len(round_items[rnd])
        limit = min(top_k, n) if top_k else n
        placed: dict[int, tuple[str, int]] = {}
        filled = 0
        bad = False
        first_line = min(line for _, line in ranks.values())
        for item, (rank, line) in ranks.items():
            if rank is None:
                continue
            if rank > limit:
                what = f"the top {limit}" if top_k and top_k < n else f"the round's {n} items"
                error(
                    f"line {line}, column rank: {rank} is outside 1..{limit} ({what}); "
                    f"panelist {panelist!r}, item {item!r}, round {rnd}."
                )
                bad = True
                continue
            filled += 1
            if rank in placed and not allow_ties:
                other, other_line = placed[rank]
                error(
                    f"line {line}, column rank: panelist {panelist!r} gives rank {rank} to both "
                    f"{other!r} (line {other_line}) and {item!r} in round {rnd}; ties are not "
                    "allowed (--allow-ties accepts them)."
                )
                continue
            placed.setdefault(rank, (item, line))
        if bad:
            pass  # the rank out of range is the problem to fix; counting would repeat it
        elif top_k and top_k < n:
            if filled != limit:
                error(
                    f"line {first_line}, column rank: panelist {panelist!r} ranks {filled} "
                    f"item(s) in round {rnd}; a top-{limit} ranking places exactly {limit}."
                )
        else:
            absent = [i for i in round_items[rnd] if ranks.get(i, (None,))[0] is None]
            if absent:
                shown = ", ".join(repr(a) for a in absent[:5]) + (" ..." if len(absent) > 5 else "")
                error(
                    f"line {first_line}, column rank: panelist {panelist!r} has no rank for "
                    f"{shown} in round {rnd}; a complete ranking ranks all {n} items of the "
                    "round (--top-k K analyses partial rankings)."
                )
        for item, (rank, _line) in ranks.items():
            if rank is None:
                continue
            rounds.append(rnd)
            panelists.append(panelist)
            groups.append(group_of[(rnd, panelist)][0])
            items.append(item)
            values.append(float(rank))
    if not errors and not values:
        errors.append("The file has a header but no ranks.")
    if more:
        errors.append(f"... and {more} more problem(s).")
    frame = pd.DataFrame(
        {
            "round": np.array(rounds, dtype=np.int64),
            "panelist": panelists,
            "group": groups,
            "item": items,
            "rank": np.array(values, dtype=np.float64),
        },
        columns=columns,
    )
    frame.attrs["round_items"] = {r: list(i) for r, i in round_items.items()}
    return frame, errors


def analyze_ranking_rounds(
    frame: pd.DataFrame, *, threshold: float = DEFAULT_CONSENSUS_W
) -> list[tuple[int, RankingResult]]:
    """compute_ranking_round for every round in the file, each against the round before it."""
    round_items = frame.attrs.get("round_items", {})
    results, previous = [], None
    for rnd, rankings in frame.groupby("round", sort=True):
        rankings = rankings.drop(columns="round").reset_index(drop=True)
        result = compute_ranking_round(
            rankings, previous, items=round_items.get(int(rnd)), threshold=threshold
        )
        results.append((int(rnd), result))
        previous = result
    return results


def write_ranking_results(results: list[tuple[int, RankingResult]], out_dir) -> list[Path]:
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".analyze-", dir=out.parent))
    specs = [
        ("ranking_items.csv", RANKING_ITEMS_HEADER, "items"),
        ("ranking_concordance.csv", RANKING_CONCORDANCE_HEADER, "concordance"),
    ]
    try:
        for name, header, attr in specs:
            with open(tmp / name, "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(header)
                for rnd, result in results:
                    frame = getattr(result, attr).rename(columns={"group_key": "group"})
                    for rec in frame[header[1:]].itertuples(index=False, name=None):
                        writer.writerow([str(rnd), *(_cell(_clean(v)) for v in rec)])
        if not out.exists():
            os.replace(tmp, out)
            return [out / name for name, *_ in specs]
        paths = []
        for name, *_ in specs:
            os.replace(tmp / name, out / name)
            paths.append(out / name)
        return paths
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
