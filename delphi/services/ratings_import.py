"""Import RATINGS.csv (ratings gathered on paper, in REDCap or Qualtrics) into a rating round.

The file is read by `delphi.consensus.ratings_csv.parse_ratings`, the parser `manage.py analyze`
uses, so a file `analyze` accepts reads the same here. It is then checked against the study:
the round number, the round's item codes, the panel's stakeholder groups and its panelists. Any
problem refuses the whole file and nothing is written; a clean file is written in one
transaction. Re-importing the same file maps every external panelist id to the same Panelist
(their public id is derived from the study and the external id), so it adds no rows and changes
no values.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from delphi.consensus.ratings_csv import parse_ratings
from delphi.consensus.services import round_protocol
from delphi.consensus.stats import ALL, Scale
from delphi.models import AuditEvent, Rating, Response, Round, RoundItem
from delphi.services.audit import audit_record
from lib import csvtable
from panels.models import Panelist

MAX_BYTES = 20 * 1024 * 1024
IMPORTABLE = (Round.Status.DRAFT, Round.Status.OPEN)
# Lines listed in full per problem; the rest are counted, so a wrong round column on 50,000
# rows is one readable message rather than a page of numbers.
LINES_SHOWN = 12
BATCH = 2000


@dataclass(frozen=True)
class Problem:
    line: str  # "7", or "7, 9, 12 and 40 more" when one problem covers several lines
    column: str
    problem: str


class OnlineAnswersWouldChange(Exception):
    """The file would change answers panelists gave online; nothing was written. The
    researcher may import it again with ``overwrite_online=True``. ``affected`` lists each
    panelist: public id, ratings the file would add and change, and whether it would mark
    their response submitted."""

    def __init__(self, affected: list[dict]):
        super().__init__(f"{len(affected)} panelist(s) answered online")
        self.affected = affected


class RatingsImportRefused(Exception):
    """The file was refused; nothing was written. `problems` says where and what to fix."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.problem for p in problems))
        self.problems = problems


def external_public_id(study, external_id: str) -> str:
    """The public id of the panelist an external id is imported as, stable across imports.

    Derived rather than stored, so nothing new is kept about the person: the same study and id
    always give the same "X-" id (12 characters, the column's size).
    """
    # A mapping, not a secret: the external id is the researcher's own label.
    seed = f"{study.uuid}:{external_id}".encode()
    digest = hashlib.sha1(seed, usedforsecurity=False).hexdigest()
    return "X-" + digest[:10].upper()


def import_refusal(rnd: Round) -> str | None:
    """Why ratings cannot be imported into this round now, or None when they can."""
    if rnd.kind != Round.Kind.RATING:
        return (
            f"Round {rnd.number} is a {rnd.get_kind_display().lower()} round; ratings can only "
            "be imported into a rating round."
        )
    if rnd.status not in IMPORTABLE:
        return (
            f"Round {rnd.number} is {rnd.get_status_display().lower()}: its ratings are final "
            "and have been (or are being) analysed, so nothing can be imported into it. Import "
            "into a draft or open rating round."
        )
    return None


def _scale(rnd: Round) -> Scale:
    protocol = round_protocol(round=rnd)
    bands = tuple(tuple(int(v) for v in band) for band in protocol.bands)
    return Scale(min=protocol.scale_min, max=protocol.scale_max, bands=bands)


_PARSER_MESSAGE = re.compile(r"^line (\d+)(?:, column (\w+))?: (.*)$", re.S)


def _from_parser(message: str) -> Problem:
    m = _PARSER_MESSAGE.match(message)
    if m is None:
        return Problem("", "", message)
    return Problem(m.group(1), m.group(2) or "", m.group(3))


def _record_lines(text: str) -> np.ndarray:
    """The starting line of every rating row, in the order parse_ratings returns them.

    parse_ratings does not return line numbers; it keeps every non-blank record of a clean file
    in order, so reading the records again with the same rule lines them up with its frame.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    lines, line_end = [], 1
    for record in reader:
        line = line_end + 1
        line_end = reader.line_num
        if record and any(f.strip() for f in record):
            lines.append(line)
    return np.array(lines, dtype=np.int64)


def _lines(lines) -> str:
    lines = [int(n) for n in lines]
    shown = ", ".join(str(n) for n in lines[:LINES_SHOWN])
    more = len(lines) - LINES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _codes(values, limit=20) -> str:
    values = sorted(values)
    text = ", ".join(values[:limit])
    return text + (f" … ({len(values)} in all)" if len(values) > limit else "")


@dataclass
class _Plan:
    frame: pd.DataFrame  # panelist, group, item, value, line, item_id, group_id
    panelists: dict  # external id -> Panelist (existing) or None (to create)
    public_ids: dict  # external id -> public id
    groups: dict  # external id -> StakeholderGroup id or None


def _check(rnd: Round, frame: pd.DataFrame, lines: np.ndarray, has_group: bool) -> _Plan:
    """Every way the file disagrees with the study; raises with all of them at once."""
    study = rnd.study
    problems: list[Problem] = []
    frame = frame.assign(line=lines)

    wrong = frame[frame["round"] != rnd.number]
    for number, rows in wrong.groupby("round", sort=True):
        problems.append(
            Problem(
                _lines(rows["line"]),
                "round",
                f"{len(rows)} row(s) for round {number}, but this is round {rnd.number}. Import "
                f"each round's ratings into that round, or correct the round number.",
            )
        )

    items = {}
    for item in rnd.items.select_related("statement", "scenario"):
        items[item.statement.code + (f"@{item.scenario.code}" if item.scenario_id else "")] = (
            item.pk
        )
    folded = defaultdict(list)
    for code, pk in items.items():
        folded[code.casefold()].append(pk)
    item_ids = {}
    for code in frame["item"].unique():
        if code in items:
            item_ids[code] = items[code]
        elif len(folded.get(code.casefold(), ())) == 1:
            item_ids[code] = folded[code.casefold()][0]  # "a1" for "A1": the same item
    unknown = frame[~frame["item"].isin(list(item_ids))]
    for code, rows in unknown.groupby("item", sort=True):
        problems.append(
            Problem(
                _lines(rows["line"]),
                "item",
                f"{code!r} is not an item of round {rnd.number}. Use a statement code of this "
                f"round (CODE@SCENARIO for a scenario item): {_codes(items) or 'none yet'}.",
            )
        )

    panel_groups = list(study.panel.groups.all())
    by_name = {}
    for g in panel_groups:
        by_name[g.code.casefold()] = g
        by_name.setdefault(g.name.casefold(), g)
    group_ids: dict[str, int | None] = {}
    if has_group:
        for name in frame["group"].unique():
            g = by_name.get(name.strip().casefold())
            if g is not None:
                group_ids[name] = g.pk
        unknown = frame[~frame["group"].isin(list(group_ids))]
        for name, rows in unknown.groupby("group", sort=True):
            choices = ", ".join(f"{g.code} ({g.name})" for g in panel_groups)
            problems.append(
                Problem(
                    _lines(rows["line"]),
                    "group",
                    f"{name!r} is not a stakeholder group of this panel. Use a group's code "
                    f"or name: {choices or 'the panel has no groups yet; add them first'}.",
                )
            )

    first = frame.drop_duplicates("panelist")
    external = first["panelist"].tolist()
    first_line = dict(zip(first["panelist"], first["line"], strict=True))
    file_group = dict(zip(first["panelist"], first["group"], strict=True))
    public_ids: dict[str, str] = {}
    derived = {e: external_public_id(study, e) for e in external}
    # The whole panel rather than public_id__in: a file may name more panelists than SQLite
    # takes query parameters, and a panel is a few thousand rows at most.
    existing = {
        p.public_id: p for p in Panelist.objects.filter(panel=study.panel).select_related("group")
    }
    panelists, groups = {}, {}
    for e in external:
        # An id the panel already uses (a P- id exported from this app, or an X- id from an
        # earlier import) is that panelist; anything else is the derived X- id.
        found = existing.get(e) or existing.get(derived[e])
        public_ids[e] = found.public_id if found else derived[e]
        panelists[e] = found
        wanted = group_ids.get(file_group[e]) if has_group else None
        if found is None:
            groups[e] = wanted
            continue
        groups[e] = found.group_id
        if found.status == Panelist.Status.WITHDRAWN:
            problems.append(
                Problem(
                    str(first_line[e]),
                    "panelist",
                    f"{e!r} is panelist {found.public_id}, who has withdrawn from the study; "
                    "their ratings cannot be added. Remove their rows.",
                )
            )
        elif has_group and file_group[e] in group_ids and found.group_id != wanted:
            now = f"group {found.group.code} ({found.group.name})" if found.group else "no group"
            problems.append(
                Problem(
                    str(first_line[e]),
                    "group",
                    f"{e!r} is panelist {found.public_id}, who is in {now} in the panel, not "
                    f"{file_group[e]!r}. Correct the group in the file, or the panelist's group "
                    "on the panel page.",
                )
            )
    if problems:
        raise RatingsImportRefused(problems)
    frame = frame.assign(item_id=frame["item"].map(item_ids))
    # parse_ratings compares codes as written; "a1" and "A1" are one item here.
    twice = frame[frame.duplicated(["panelist", "item_id"], keep=False)]
    for (panelist, _), rows in twice.groupby(["panelist", "item_id"], sort=False):
        spelled = " and ".join(repr(c) for c in dict.fromkeys(rows["item"]))
        problems.append(
            Problem(
                _lines(rows["line"]),
                "item",
                f"panelist {panelist!r} rated the same item twice (written {spelled}); keep "
                "one row.",
            )
        )
    if problems:
        raise RatingsImportRefused(problems)
    return _Plan(frame=frame, panelists=panelists, public_ids=public_ids, groups=groups)


def ratings_import(
    *, round: Round, source: bytes, filename: str, by, overwrite_online: bool = False
) -> dict:
    """Check RATINGS.csv against `round` and, when it is clean, write it in one transaction.

    Each external panelist gets a Panelist in the study's panel (matched, or created with a
    derived public id and no contact details), a submitted Response and one Rating per row,
    upserted. Returns the counts shown to the researcher. Raises RatingsImportRefused with
    every problem found, having written nothing.

    An answer a panelist gave on the questionnaire (a rating with ``seq`` > 0, or their draft)
    is never overwritten nor marked submitted unless ``overwrite_online`` is True: otherwise
    ``OnlineAnswersWouldChange`` names the panelists, and nothing is written.
    """
    rnd = round
    name = (filename or "RATINGS.csv").replace("\\", "/").rsplit("/", 1)[-1][:200]
    if refusal := import_refusal(rnd):
        raise RatingsImportRefused([Problem("", "", refusal)])
    if len(source) > MAX_BYTES:
        raise RatingsImportRefused([Problem("", "", size_message(name, len(source)))])
    # The same reader as `manage.py analyze`: any encoding spreadsheets save, any line ending,
    # NUL bytes and over-long ids refused with the line and column (lib/csvtable.py).
    frame, errors = parse_ratings(source, scale=_scale(rnd))
    if errors:
        raise RatingsImportRefused([_from_parser(e) for e in errors])
    # The parser read it, so this decodes the same way (line numbers for the preview).
    text = csvtable.normalise_text(csvtable.decode_csv(source, limit=MAX_BYTES)[0])
    header = next(csv.reader(io.StringIO(text, newline="")))
    has_group = "group" in {h.strip().lower() for h in header}
    lines = _record_lines(text)
    if len(lines) != len(frame):  # the two readers disagree: a bug, never a silent mismatch
        raise RuntimeError("RATINGS.csv line numbers do not line up with the parsed rows")
    plan = _check(rnd, frame, lines, has_group)
    return _write(rnd, plan, name=name, by=by, overwrite_online=overwrite_online)


def size_message(name: str, size: int) -> str:
    return (
        f"{name} is {size / 1024 / 1024:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} MB. "
        "Split it into several files (by panelist or stakeholder group) and import each."
    )


def _ratings_upsert(rows: list[tuple], now) -> None:
    """INSERT ... ON CONFLICT (response_id, item_id) DO UPDATE for many ratings.

    Measured on 600,000 ratings: bulk_create(update_conflicts=True) spent ~20 s building model
    instances and preparing values. SQLite takes multi-row upserts (the SQL rating_save uses);
    PostgreSQL spent 40 s binding those parameters, so there the rows are COPYed into a
    temporary table and upserted from it in one statement. Either way the unique constraint
    settles a race with a panelist saving the same rating online.
    """
    if not rows:
        return
    ops = connection.ops
    table = ops.quote_name(Rating._meta.db_table)
    columns = "(response_id, item_id, value, unable, comment, change_reason, updated_at)"
    conflict = (
        " ON CONFLICT (response_id, item_id) DO UPDATE SET value = excluded.value, "
        "unable = excluded.unable, updated_at = excluded.updated_at"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMPORARY TABLE ratings_import_rows (response_id bigint, item_id bigint, "
                "value smallint, unable boolean) ON COMMIT DROP"
            )
            with cursor.copy("COPY ratings_import_rows FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} {columns} "  # noqa: S608 - table name from the model
                "SELECT response_id, item_id, value, unable, '', '', %s "
                "FROM ratings_import_rows" + conflict,
                [now],
            )
            cursor.execute("DROP TABLE ratings_import_rows")
            return
        stamp = ops.adapt_datetimefield_value(now)
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            params = []
            for response_id, item_id, value, unable in chunk:
                params += [response_id, item_id, value, unable, "", "", stamp]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} {columns} VALUES {values}{conflict}",  # noqa: S608
                params,
            )


def _write(rnd: Round, plan: _Plan, *, name: str, by, overwrite_online: bool = False) -> dict:
    study = rnd.study
    now = timezone.now()
    with transaction.atomic():
        # Holding the round row makes round_close (open -> closed) wait until the ratings are in,
        # so a round is never analysed with half an import.
        locked = Round.objects.select_for_update().filter(pk=rnd.pk).first()
        if locked is None or (refusal := import_refusal(locked)):
            raise RatingsImportRefused([Problem("", "", refusal or "The round was deleted.")])

        to_create = [
            Panelist(
                panel=study.panel,
                group_id=plan.groups[e],
                public_id=plan.public_ids[e],
                is_simulated=False,
            )
            for e, p in plan.panelists.items()
            if p is None
        ]
        # Another import into a different round may create the same derived ids at the same
        # moment; the unique public_id settles it and both then use the one row.
        Panelist.objects.bulk_create(to_create, batch_size=BATCH, ignore_conflicts=True)
        pk_of = dict(Panelist.objects.filter(panel=study.panel).values_list("public_id", "pk"))
        if missing := [p for p in plan.public_ids.values() if p not in pk_of]:
            # Only a derived id already taken by another panel's panelist (odds ~1 in 10^12).
            raise RuntimeError(f"public id {missing[0]} belongs to another panel")
        panelist_pk = {e: pk_of[p] for e, p in plan.public_ids.items()}

        ids = list(panelist_pk.values())
        had = dict(Response.objects.filter(round=rnd).values_list("panelist_id", "status"))
        Response.objects.bulk_create(
            [
                Response(
                    round=rnd, panelist_id=pk, status=Response.Status.SUBMITTED, submitted_at=now
                )
                for pk in ids
                if pk not in had
            ],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        # A panelist who had started online and is now imported has given their answer.
        drafts = [pk for pk in ids if had.get(pk) == Response.Status.DRAFT]
        submitted = 0
        for start in range(0, len(drafts), 500):
            submitted += Response.objects.filter(
                round=rnd, panelist_id__in=drafts[start : start + 500], status=Response.Status.DRAFT
            ).update(status=Response.Status.SUBMITTED, submitted_at=now)
        response_of = dict(Response.objects.filter(round=rnd).values_list("panelist_id", "pk"))

        stored, online = {}, set()
        for r, i, v, u, seq in Rating.objects.filter(response__round=rnd).values_list(
            "response_id", "item_id", "value", "unable", "seq"
        ):
            stored[(r, i)] = (v, u)
            if seq > 0:
                online.add(r)
        # A draft started online (the import would submit it) is an online answer too.
        online |= {response_of[pk] for pk in drafts}
        frame = plan.frame
        response_ids = frame["panelist"].map(lambda e: response_of[panelist_pk[e]])
        rows, old_rows, changed, unchanged = [], [], 0, 0
        for response_id, item_id, value in zip(
            response_ids, frame["item_id"], frame["value"], strict=True
        ):
            unable = math.isnan(value)
            wanted = (None if unable else int(value), unable)
            before = stored.get((response_id, item_id))
            if before == wanted:
                unchanged += 1
                continue
            if before is not None:
                changed += 1
            rows.append((int(response_id), int(item_id), *wanted))
            old_rows.append(before)
        touched = _touched(rows, old_rows, online, drafts, response_of)
        if touched and not overwrite_online:
            raise OnlineAnswersWouldChange(_affected(touched))
        # Only new or different ratings are written, so an unchanged re-import touches nothing
        # (not even updated_at).
        _ratings_upsert(rows, now)
        summary = {
            "file": name,
            "round": rnd.number,
            "rows": len(frame),
            "panelists": len(panelist_pk),
            "panelists_created": len(to_create),
            "panelists_matched": len(panelist_pk) - len(to_create),
            "responses_created": sum(1 for pk in ids if pk not in had),
            "responses_submitted": submitted,
            "ratings_written": len(rows),
            "ratings_new": len(rows) - changed,
            "ratings_changed": changed,
            "ratings_unchanged": unchanged,
            "unable": int(frame["value"].isna().sum()),
            "items": int(frame["item_id"].nunique()),
            "groups": sorted(set(frame["group"]) - {ALL}),
        }
        summary["online_overwritten"] = sorted(t["public_id"] for t in _affected(touched))
        audit_record(
            study=study,
            verb="ratings_import",
            actor=by,
            source=AuditEvent.Source.IMPORT,
            obj=rnd,
            object_label=f"Round {rnd.number}",
            **summary,
        )
        _audit_changes(study, rnd, by, name, rows, old_rows, touched)
    return summary


def _touched(rows, old_rows, online, drafts, response_of) -> dict:
    """response id -> {"new": [...], "changed": [...], "submitted": bool} for online ones."""
    touched: dict[int, dict] = {}
    draft_responses = {response_of[pk] for pk in drafts}
    for (response_id, item_id, *_), before in zip(rows, old_rows, strict=True):
        if response_id in online:
            entry = touched.setdefault(response_id, {"new": [], "changed": [], "submitted": False})
            entry["changed" if before is not None else "new"].append(item_id)
    for response_id in draft_responses:
        touched.setdefault(response_id, {"new": [], "changed": [], "submitted": False})
        touched[response_id]["submitted"] = True
    return touched


def _affected(touched: dict) -> list[dict]:
    if not touched:
        return []
    public = dict(
        Response.objects.filter(pk__in=list(touched)).values_list("pk", "panelist__public_id")
    )
    return sorted(
        (
            {
                "public_id": public[r],
                "new": len(t["new"]),
                "changed": len(t["changed"]),
                "submitted": t["submitted"],
            }
            for r, t in touched.items()
        ),
        key=lambda a: a["public_id"],
    )


def _audit_changes(study, rnd, by, name, rows, old_rows, touched) -> None:
    """One audit row per panelist whose ratings the import wrote: which items, old and new."""
    if not rows:
        return
    code_of = {
        i.pk: i.key
        for i in RoundItem.objects.filter(round=rnd).select_related("statement", "scenario")
    }
    per: dict[int, tuple[dict, dict]] = {}
    for (response_id, item_id, value, unable), before in zip(rows, old_rows, strict=True):
        old, new = per.setdefault(response_id, ({}, {}))
        code = code_of.get(item_id, str(item_id))
        new[code] = "unable" if unable else value
        if before is not None:
            old[code] = "unable" if before[1] else before[0]
    who = dict(Response.objects.filter(pk__in=list(per)).values_list("pk", "panelist__public_id"))
    panelist_of = dict(Response.objects.filter(pk__in=list(per)).values_list("pk", "panelist_id"))
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                study=study,
                actor=by if getattr(by, "pk", None) else None,
                panelist_id=panelist_of[r],
                verb="rating.import",
                detail={
                    "file": name,
                    "round": rnd.number,
                    "online_answer": r in touched,
                },
                source=AuditEvent.Source.IMPORT,
                actor_label=by.get_username() if getattr(by, "pk", None) else "import",
                object_type="response",
                object_id=who[r],
                object_label=f"{who[r]} in round {rnd.number}",
                old=old or None,
                new=new,
                at=now,
            )
            for r, (old, new) in per.items()
        ],
        batch_size=BATCH,
    )
