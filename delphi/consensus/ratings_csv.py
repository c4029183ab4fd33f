"""RATINGS.csv: ratings gathered elsewhere (REDCap, Qualtrics, paper), and the four result files.

Reading: `parse_ratings(source, scale=...)` validates the whole file first and returns the long
table (round, panelist, group, item, value) plus every problem found, each naming the line, the
column and what is wrong. `manage.py analyze` refuses a file with any error; a web import can show
the same list. Writing: `write_results(results, out_dir)` writes items.csv, stability.csv,
concordance.csv and decisions.csv into a temporary directory and moves them into place, so a
failure never leaves half a result set behind.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from delphi.consensus.definitions import PRESETS
from delphi.consensus.stats import ALL, BALANCED, RoundResult, Scale, compute_round
from lib import csvtable
from lib.spreadsheet import neutralise

REQUIRED = ("panelist", "round", "item", "rating")
UNABLE = {"", "na", "n/a", "unable"}
MAX_ERRORS = 50

ITEMS_HEADER = [
    "round", "item", "group", "n", "n_unable", "median", "q1", "q3", "iqr", "mean", "sd",
    "pct_low", "pct_mid", "pct_high", "p30", "p70", "ipr", "iprcp", "ai", "ipras", "dai",
    "disagreement_ipras", "disagreement_classic", "ram_class", "rwg", "ad_median", "verdict",
]  # fmt: skip
STABILITY_HEADER = [
    "round", "item", "group", "n_paired", "wilcoxon_stat", "wilcoxon_p", "pct_change", "stable",
]  # fmt: skip
CONCORDANCE_HEADER = [
    "round", "group", "n_panelists", "n_items", "kendall_w", "chi2", "df", "p",
    "alpha_ordinal", "alpha_interval",
]  # fmt: skip
DECISIONS_HEADER = ["round", "item", "verdict", "carried_forward"] + [
    f"verdict_{p}" for p in PRESETS
]


# `manage.py analyze` reads whole studies (2,000 panelists x 300 items x 4 rounds is ~60 MB);
# the web import has its own, smaller limit (delphi/views/imports.py).
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_ID_CHARS = 200  # panelist, item and group identifiers


def record_refusals(record: list[str], header: list[str], col: dict, line: int) -> list[str]:
    """What makes one CSV record unreadable before its values are looked at: the wrong number of
    fields, an over-long identifier, a NUL byte. The ratings and the rankings readers refuse
    the same things in the same words."""
    if len(record) != len(header):
        return [
            f"line {line}: {len(record)} fields, but the header has {len(header)} "
            "(a missing comma or an unquoted comma inside a value?)."
        ]
    long = [
        f"line {line}, column {name}: {len(record[col[name]]):,} characters; an "
        f"identifier has at most {MAX_ID_CHARS}. Use the short id."
        for name in ("panelist", "item", "group")
        if name in col and len(record[col[name]]) > MAX_ID_CHARS
    ]
    if long:
        return long
    if any("\x00" in f for f in record):
        return [f"line {line}: contains a NUL byte; save the file again as CSV UTF-8."]
    return []


def _open_text(source) -> io.TextIOBase:
    """A text stream of the file, whatever its encoding and line endings (lib/csvtable.py)."""
    if isinstance(source, str | os.PathLike):
        size = os.path.getsize(source)
        if size > MAX_FILE_BYTES:
            raise csvtable.CsvRefused(csvtable.size_problem(size, MAX_FILE_BYTES))
        with open(source, "rb") as fh:
            source = fh.read()
    if isinstance(source, bytes):
        text, _ = csvtable.decode_csv(source, limit=MAX_FILE_BYTES)
        text = csvtable.normalise_text(text)
        first = text.split("\n", 1)[0]
        nul = csvtable.nul_problem(text, next(csv.reader([first]), None) if first else None)
        if nul:
            raise csvtable.CsvRefused(nul)
        return io.StringIO(text, newline="")
    return source


def parse_ratings(source, *, scale: Scale) -> tuple[pd.DataFrame, list[str]]:
    """Read and validate RATINGS.csv (a path, bytes or a text stream).

    Returns (frame, errors). The frame has columns round (int), panelist, group, item, value
    (float, NaN = unable to rate); without a group column every panelist is in group "all".
    When errors is not empty the frame must not be used.
    """
    errors: list[str] = []
    more = 0

    def error(msg: str):
        nonlocal more
        if len(errors) < MAX_ERRORS:
            errors.append(msg)
        else:
            more += 1

    columns = ["round", "panelist", "group", "item", "value"]
    try:
        stream = _open_text(source)
    except OSError as exc:
        return pd.DataFrame(columns=columns), [f"Cannot read the file: {exc.strerror}."]
    except csvtable.CsvRefused as exc:
        return pd.DataFrame(columns=columns), [str(exc)]
    rounds, panelists, groups, items, values = [], [], [], [], []
    try:
        reader = csv.reader(stream)
        try:
            header = next(reader)
        except StopIteration:
            return pd.DataFrame(columns=columns), ["The file is empty: it needs a header line."]
        names = [h.strip().lower() for h in header]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            return pd.DataFrame(columns=columns), [
                f"line 1: the header lacks the column(s) {', '.join(missing)} "
                f"(found: {', '.join(h for h in header if h) or 'nothing'}). RATINGS.csv needs "
                "at least panelist,round,item,rating and may have group."
            ]
        dupes = sorted({n for n in names if n and names.count(n) > 1})
        if dupes:
            return pd.DataFrame(columns=columns), [
                f"line 1: the header names the column(s) {', '.join(dupes)} more than once."
            ]
        col = {name: names.index(name) for name in (*REQUIRED, "group") if name in names}
        has_group = "group" in col
        seen: dict[tuple, int] = {}
        group_of: dict[tuple, tuple[str, int]] = {}
        line_end = 1
        for record in reader:
            line = line_end + 1
            line_end = reader.line_num
            if not record or all(not f.strip() for f in record):
                continue  # blank line
            refusals = record_refusals(record, header, col, line)
            for message in refusals:
                error(message)
            if refusals:
                continue
            ok = True
            panelist = record[col["panelist"]].strip()
            item = record[col["item"]].strip()
            if not panelist:
                error(f"line {line}, column panelist: empty; every rating needs a panelist.")
                ok = False
            if not item:
                error(f"line {line}, column item: empty; every rating needs an item.")
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
                elif group.lower() in (ALL, BALANCED):
                    error(
                        f"line {line}, column group: {group!r} is reserved for the aggregates; "
                        "rename the group."
                    )
                    ok = False
            raw = record[col["rating"]].strip()
            if raw.lower() in UNABLE:
                value = math.nan
            else:
                try:
                    value = float(raw)
                    if not math.isfinite(value):
                        raise ValueError
                except ValueError:
                    error(
                        f"line {line}, column rating: {raw!r} is not a number; write a whole "
                        f"number from {scale.min} to {scale.max}, or leave it blank, NA or "
                        "unable for 'unable to rate'."
                    )
                    ok = False
                else:
                    if value != int(value) or not scale.min <= value <= scale.max:
                        error(
                            f"line {line}, column rating: {raw} is outside the scale {scale} "
                            "(ratings are whole numbers on the scale)."
                        )
                        ok = False
            if not ok:
                continue
            key = (rnd, panelist, item)
            if key in seen:
                error(
                    f"line {line}: panelist {panelist!r} rated item {item!r} in round {rnd} "
                    f"twice (also on line {seen[key]})."
                )
                continue
            seen[key] = line
            first = group_of.setdefault((rnd, panelist), (group, line))
            if first[0] != group:
                error(
                    f"line {line}, column group: panelist {panelist!r} is in group {group!r} "
                    f"here but in {first[0]!r} on line {first[1]} of the same round."
                )
                continue
            rounds.append(rnd)
            panelists.append(panelist)
            groups.append(group)
            items.append(item)
            values.append(value)
    except csv.Error as exc:
        error(f"line {reader.line_num}: the CSV cannot be read ({exc}).")
    except UnicodeDecodeError:  # a text stream handed in by the caller
        error("The file is not UTF-8 text. Save it as CSV UTF-8 and try again.")
    finally:
        if stream is not source:
            stream.close()
    if not errors and not values:
        errors.append("The file has a header but no ratings.")
    if more:
        errors.append(f"... and {more} more problem(s).")
    frame = pd.DataFrame(
        {
            "round": np.array(rounds, dtype=np.int64),
            "panelist": panelists,
            "group": groups,
            "item": items,
            "value": np.array(values, dtype=np.float64),
        },
        columns=columns,
    )
    return frame, errors


def analyze_rounds(
    frame: pd.DataFrame, *, scale: Scale, definition: dict, quantile_type: int = 7
) -> list[tuple[int, RoundResult]]:
    """compute_round for every round in the file, each against the round before it."""
    results, previous = [], None
    for rnd, ratings in frame.groupby("round", sort=True):
        ratings = ratings.drop(columns="round").reset_index(drop=True)
        result = compute_round(
            ratings, previous, scale=scale, definition=definition, quantile_type=quantile_type
        )
        results.append((int(rnd), result))
        previous = ratings
    return results


# --- writing ---------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        return format(float(value), ".10g")
    text = str(value)
    # Spreadsheets run a cell starting with = + - @ as a formula; keep text as text.
    # Leading blanks before = + - @ too (lib/spreadsheet.py).
    return neutralise(text)


def _rows(frame: pd.DataFrame, rnd: int, columns: list[str], rename: dict) -> Iterable[list]:
    src = [rename.get(c, c) for c in columns[1:]]
    for record in frame[src].itertuples(index=False, name=None):
        yield [str(rnd), *(_cell(v) for v in record)]


def write_results(results: list[tuple[int, RoundResult]], out_dir) -> list[Path]:
    """Write the four CSV files for (round number, result) pairs; returns their paths."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".analyze-", dir=out.parent))
    try:
        specs = [
            ("items.csv", ITEMS_HEADER, "items", {"group": "group_key"}),
            ("stability.csv", STABILITY_HEADER, "stability", {"group": "group_key"}),
            ("concordance.csv", CONCORDANCE_HEADER, "concordance", {"group": "group_key"}),
            ("decisions.csv", DECISIONS_HEADER, "decisions", {}),
        ]
        for name, header, attr, rename in specs:
            with open(tmp / name, "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(header)
                for rnd, result in results:
                    writer.writerows(_rows(getattr(result, attr), rnd, header, rename))
        paths = []
        if not out.exists():
            os.replace(tmp, out)
            return [out / name for name, *_ in specs]
        for name, *_ in specs:
            os.replace(tmp / name, out / name)
            paths.append(out / name)
        return paths
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
