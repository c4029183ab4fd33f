"""``report_data(study=...)``: every table of the report, read once from persisted rows.

Each table is a pandas DataFrame with plain columns (str, int, float, bool, datetime), so the
ZIP, the workbook, the PDF, the pages and ``manage.py report`` format the same numbers. Tables
hold public ids and group codes only: no name, e-mail or organisation is ever read here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone

from competencies.models import Statement
from delphi.consensus import selectors
from delphi.consensus.definitions import PRESETS, SCOPES, describe_definition
from delphi.consensus.rows import ITEM_FIELDS, STABILITY_FIELDS
from delphi.consensus.services import _scale, round_protocol
from delphi.models import (
    AnswerCode,
    AuditEvent,
    Communication,
    ConsensusRun,
    Deviation,
    GroupConcordance,
    ItemChange,
    ItemDecision,
    ItemResult,
    PromptAnswer,
    Response,
    Round,
    RoundItem,
    Study,
    Suggestion,
)
from delphi.reports import sensitivity as sens
from delphi.reports.extras import communications_by_round, ranking_tables
from panels.models import Invitation, Panelist

SOFTWARE = "Delphi platform (delphi-platform)"
NOTHING_ANALYSED = (
    "No round of this study has been analysed yet, so there is nothing to report here."
)


def software_version() -> str:
    try:
        return metadata.version("delphi-platform")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


@dataclass
class ReportData:
    study: Study
    generated_at: datetime
    language: str
    include_comments: bool
    protocol: list[dict]
    rounds: pd.DataFrame
    groups: pd.DataFrame
    panelists: pd.DataFrame
    ratings: pd.DataFrame
    items: pd.DataFrame
    stability: pd.DataFrame
    concordance: pd.DataFrame
    decisions: pd.DataFrame
    ledger: pd.DataFrame
    final: pd.DataFrame
    flow: pd.DataFrame
    characteristics: pd.DataFrame
    comments: pd.DataFrame
    suggestions: pd.DataFrame
    answers: pd.DataFrame
    deviations: pd.DataFrame
    sensitivity: pd.DataFrame
    accord_fields: dict = field(default_factory=dict)
    # Messages per round and kind (delphi/reports/extras.py), and the ranking rounds' tables.
    communications: pd.DataFrame = field(default_factory=pd.DataFrame)
    ranking_items: pd.DataFrame = field(default_factory=pd.DataFrame)
    ranking_concordance: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def analysed(self) -> bool:
        return bool(len(self.rounds)) and bool(self.rounds["analysed"].any())

    @property
    def min_group_size(self) -> int:
        return int(self.study.min_group_size or 1)

    @property
    def runs_text(self) -> str:
        done = self.rounds[self.rounds["analysed"]]
        if done.empty:
            return "no consensus run"
        return ", ".join(
            f"round {int(r.number)}: run {r.run_uuid} ({r.run_finished_at:%Y-%m-%d %H:%M} UTC)"
            for r in done.itertuples()
        )

    @property
    def stamp(self) -> str:
        return (
            f"Generated at {self.generated_at:%Y-%m-%d %H:%M} UTC, "
            f"from consensus run(s): {self.runs_text}."
        )

    def group_label(self, code: str) -> str:
        if code == "all":
            return "Whole panel" if self.language != "es" else "Todo el panel"
        if code == "balanced":
            return "Balanced" if self.language != "es" else "Equilibrado"
        labels = self.groups.set_index("code")
        if code in labels.index:
            row = labels.loc[code]
            if self.language == "es" and row["name_es"]:
                return row["name_es"]
            return row["name"]
        return code


# ---------------------------------------------------------------------------------------------
# Loading


def _rounds(study: Study) -> pd.DataFrame:
    rounds = list(study.rounds.order_by("number"))
    runs = {}
    for run in ConsensusRun.objects.filter(
        round__study=study, status=ConsensusRun.Status.DONE
    ).order_by("finished_at", "id"):
        runs[run.round_id] = run  # the latest done run wins
    counts = dict(
        RoundItem.objects.filter(round__study=study)
        .values("round_id")
        .annotate(c=Count("id"))
        .values_list("round_id", "c")
    )
    rows = []
    for r in rounds:
        run = runs.get(r.pk)
        analysed = (
            run is not None and r.kind == Round.Kind.RATING and r.status == Round.Status.ANALYSED
        )
        rows.append(
            {
                "round_id": r.pk,
                "number": r.number,
                "kind": r.kind,
                "status": r.status,
                "title": r.title,
                "opened_at": r.opened_at,
                "closed_at": r.closed_at,
                "analysed_at": r.analysed_at,
                "n_items": counts.get(r.pk, 0),
                "below_quorum": bool(r.below_quorum),
                "inputs_changed": r.inputs_changed_at is not None,
                "analysed": analysed,
                "run_uuid": str(run.uuid) if run else "",
                "run_finished_at": run.finished_at if run else None,
            }
        )
    columns = [
        "round_id", "number", "kind", "status", "title", "opened_at", "closed_at",
        "analysed_at", "n_items", "below_quorum", "inputs_changed", "analysed", "run_uuid",
        "run_finished_at",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    frame["analysed"] = frame["analysed"].astype(bool)
    return frame


def _protocol(study: Study, rounds: pd.DataFrame) -> list[dict]:
    definition = study.consensus_definition or {}
    scale = None
    analysed = rounds[rounds["analysed"]]
    first = (
        Round.objects.filter(pk=int(analysed.iloc[0]["round_id"])).first()
        if len(analysed)
        else None
    )
    if first is not None:
        protocol = round_protocol(round=first)
        scale = _scale(protocol)
        definition = protocol.definition
    preset = PRESETS.get(definition.get("preset"), {})
    anchors = study.scale_anchors or {}
    anchor_text = "; ".join(
        f"{k}: {v}"
        for k, v in sorted(
            anchors.items(), key=lambda kv: int(kv[0]) if str(kv[0]).lstrip("-").isdigit() else 0
        )
    )
    bands = "; ".join(f"{b[0]}-{b[1]}" for b in (study.bands or []) if isinstance(b, list | tuple))
    rows = [
        ("scale", "Rating scale", f"{study.scale_min}-{study.scale_max}"),
        ("anchors", "Anchor labels", anchor_text or "none"),
        ("bands", "Bands (bottom, middle, top)", bands or "none"),
        ("definition", "Consensus definition", describe_definition(definition, scale)),
        ("citation", "Citation of the definition", preset.get("citation", "custom rule")),
        ("scope", "Scope", SCOPES.get(definition.get("scope", "all"), "")),
        ("planned_rounds", "Planned rounds", str(study.planned_rounds)),
        (
            "stopping_rule",
            "Stopping rule",
            study.get_stopping_rule_display()
            + (f" ({study.stopping_rule_detail})" if study.stopping_rule_detail else ""),
        ),
        ("min_group_size", "Minimum group size shown on its own", str(study.min_group_size)),
        ("quantile_type", "Quantile type (Hyndman-Fan)", str(study.quantile_method)),
        (
            "feedback",
            "Feedback shown to panelists",
            "From round 2: their own previous rating, the distribution of ratings overall and by "
            "stakeholder group (groups below the minimum size hidden) and the anonymous comments.",
        ),
        (
            "anonymity",
            "Anonymity model",
            "Quasi-anonymous: the researchers hold contacts apart from answers; panelists see "
            "only anonymous aggregates; reports use pseudonymous public ids.",
        ),
        ("software", "Software and version", f"{SOFTWARE} {software_version()}"),
        (
            "locked",
            "Protocol locked at",
            f"{study.protocol_locked_at:%Y-%m-%d %H:%M} UTC"
            if study.protocol_locked_at
            else "not locked",
        ),
    ]
    drafts = getattr(study, "drafts_policy", None)
    if drafts:
        label = getattr(study, "get_drafts_policy_display", lambda: drafts)()
        rows.insert(9, ("drafts_policy", "Drafts policy", str(label)))
    quorum = getattr(study, "quorum_pct", None)
    if quorum is not None:
        per_group = getattr(study, "quorum_min_per_group", None)
        text = f"{quorum} % of the invited panel"
        if per_group is not None:
            text += f", at least {per_group} per group"
        rows.insert(9, ("quorum", "Quorum", text))
    for name in ("ranking_top_k", "ranking_allow_ties", "ranking_consensus_w"):
        if hasattr(study, name):
            rows.append((name, name.replace("_", " ").capitalize(), str(getattr(study, name))))
    return [{"key": k, "label": label, "value": v} for k, label, v in rows]


def _groups(study: Study) -> pd.DataFrame:
    return pd.DataFrame(
        list(
            study.panel.groups.order_by("order", "code").values(
                "code", "name", "name_es", "target_size"
            )
        ),
        columns=["code", "name", "name_es", "target_size"],
    )


def _item_meta(study: Study) -> pd.DataFrame:
    rows = RoundItem.objects.filter(round__study=study).values_list(
        "id", "round_id", "round__number", "carried_from_id", "order", "statement_id",
        "statement__code", "statement__text", "statement__domain__code",
        "statement__domain__name", "statement__domain__order", "statement__provenance",
        "scenario__code",
    )  # fmt: skip
    frame = pd.DataFrame(
        list(rows),
        columns=[
            "item_id", "round_id", "round", "carried_from", "order", "statement_id",
            "statement_code", "statement", "domain", "domain_name", "domain_order",
            "provenance", "scenario",
        ],
    )  # fmt: skip
    frame["scenario"] = frame["scenario"].fillna("")
    keys: dict[int, str] = {}
    for rnd in Round.objects.filter(study=study):
        keys.update(selectors.round_item_keys(round=rnd))
    frame["item"] = frame["item_id"].map(keys)
    # Lineage: the first item of each carried_from chain.
    parent = dict(zip(frame["item_id"], frame["carried_from"], strict=True))

    def root(i):
        seen = set()
        while parent.get(i) in parent and i not in seen and not pd.isna(parent.get(i)):
            seen.add(i)
            i = int(parent[i])
        return i

    frame["root_id"] = [root(i) for i in frame["item_id"]]
    return frame


def _panelists(study: Study, rounds: pd.DataFrame) -> pd.DataFrame:
    rows = Panelist.objects.filter(panel=study.panel).values_list(
        "id", "public_id", "group__code", "status", "language", "years_experience", "setting",
        "lived_experience", "consented_at", "withdrawn_at",
    )  # fmt: skip
    frame = pd.DataFrame(
        list(rows),
        columns=[
            "panelist_id", "public_id", "group", "status", "language", "years_experience",
            "setting", "lived_experience", "consented_at", "withdrawn_at",
        ],
    )  # fmt: skip
    frame["group"] = frame["group"].fillna(selectors.UNGROUPED)
    frame["consented"] = frame["consented_at"].notna()
    frame["years_experience"] = frame["years_experience"].astype("Int64")
    frame["lived_experience"] = frame["lived_experience"].astype("boolean")
    status = {}
    for pid, round_id, st, excluded in Response.objects.filter(round__study=study).values_list(
        "panelist_id", "round_id", "status", "excluded"
    ):
        status[(pid, round_id)] = "excluded" if excluded else st
    for r in rounds.itertuples():
        frame[f"round_{int(r.number)}_status"] = [
            status.get((pid, r.round_id), "no response") for pid in frame["panelist_id"]
        ]
    return frame.sort_values(["group", "public_id"]).reset_index(drop=True)


RATING_COLUMNS = [
    "round", "panelist", "group", "item", "statement_code", "domain", "scenario", "rating",
    "unable", "comment", "change_reason", "response_status", "saved_at",
]  # fmt: skip
# On PostgreSQL each response's ratings travel as ONE bytea of fixed-width big-endian records,
# aggregated by the server (as the consensus loader reads them, delphi/consensus/selectors.py):
# 2,000 rows a round instead of 600,000, read straight into numpy. Free text comes in a second
# query of the rows that have any. value -1: NULL; saved: microseconds since 1970, or the
# smallest int8 for NULL.
_PACKED = np.dtype([("item", ">i4"), ("value", ">i2"), ("unable", "u1"), ("saved", ">i8")])
_NO_TIME = np.iinfo(np.int64).min


def _rating_arrays(qs) -> tuple[np.ndarray, np.ndarray]:
    """(response id per rating, _PACKED records) of a Rating queryset, in no particular order."""
    if connection.vendor == "postgresql":
        inner = qs.order_by().values("response_id", "item_id", "value", "unable", "updated_at")
        sql, params = inner.query.sql_with_params()
        packed_sql = (
            "SELECT t.response_id, string_agg(int4send(t.item_id::int4) "  # noqa: S608
            "|| int2send(COALESCE(t.value, -1)::int2) "
            "|| CASE WHEN t.unable THEN '\\x01'::bytea ELSE '\\x00'::bytea END "
            "|| int8send(COALESCE((extract(epoch FROM t.updated_at) * 1000000)::int8, "
            f"{_NO_TIME})), ''::bytea) FROM ({sql}) t GROUP BY t.response_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(packed_sql, params)
            rows = cursor.fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, _PACKED)
        counts = np.fromiter((len(data) // _PACKED.itemsize for _, data in rows), np.int64)
        response = np.repeat(np.fromiter((r for r, _ in rows), np.int64), counts)
        return response, np.frombuffer(b"".join(bytes(data) for _, data in rows), _PACKED)
    rows = list(
        qs.order_by().values_list("response_id", "item_id", "value", "unable", "updated_at")
    )
    records = np.zeros(len(rows), _PACKED)
    if rows:
        records["item"] = [r[1] for r in rows]
        records["value"] = [-1 if r[2] is None else r[2] for r in rows]
        records["unable"] = [bool(r[3]) for r in rows]
        records["saved"] = [
            _NO_TIME if r[4] is None else int(r[4].timestamp() * 1_000_000) for r in rows
        ]
    return np.array([r[0] for r in rows], dtype=np.int64), records


def _lookup(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each of ``values`` in ``ids`` (unique), or -1."""
    return pd.Index(ids).get_indexer(values)


def _categorical(values: np.ndarray, at: np.ndarray) -> pd.Categorical:
    """``values[at]`` as a categorical, categories sorted, without building the long strings."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), sort=True)
    used = np.bincount(codes[at], minlength=len(uniques)) > 0
    renumber = np.cumsum(used) - 1  # old code -> code among the used categories
    return pd.Categorical.from_codes(
        renumber[codes[at]], categories=pd.Index(uniques[used], dtype=object)
    )


def _ratings(
    study: Study, rounds: pd.DataFrame, meta: pd.DataFrame, *, only_text: bool = False
) -> pd.DataFrame:
    """Every analysed rating, one row per round x panelist x item, ordered by item then group
    then panelist. ``only_text``: only the rows that carry a comment or a change reason."""
    analysed = rounds[rounds["analysed"]]
    responses = pd.DataFrame(
        list(
            Response.objects.filter(round_id__in=analysed["round_id"].tolist()).values_list(
                "id", "panelist__public_id", "panelist__group__code", "status"
            )
        ),
        columns=["id", "panelist", "group", "status"],
    )
    responses["group"] = responses["group"].fillna(selectors.UNGROUPED)
    item_ids = meta["item_id"].to_numpy(dtype=np.int64)
    parts = []
    for r in analysed.itertuples():
        rnd = Round.objects.select_related("study").get(pk=r.round_id)
        qs = selectors.round_analysed_ratings(round=rnd)
        if only_text:
            qs = qs.exclude(comment="", change_reason="")
        response_id, rec = _rating_arrays(qs)
        if not len(rec):
            continue
        r_at = _lookup(responses["id"].to_numpy(), response_id)
        i_at = _lookup(item_ids, rec["item"].astype(np.int64))
        keep = (r_at >= 0) & (i_at >= 0)
        r_at, i_at, rec, response_id = r_at[keep], i_at[keep], rec[keep], response_id[keep]
        # Text: small (only rows that have any), matched to the packed rows by (response, item).
        comment = np.full(len(rec), "", dtype=object)
        reason = np.full(len(rec), "", dtype=object)
        text = list(
            qs.order_by()
            .exclude(comment="", change_reason="")
            .values_list("response_id", "item_id", "comment", "change_reason")
        )
        if text:
            key = response_id * (int(item_ids.max()) + 1) + rec["item"].astype(np.int64)
            tkey = np.array([a * (int(item_ids.max()) + 1) + b for a, b, _, _ in text])
            at = _lookup(key, tkey)
            found = at >= 0
            comment[at[found]] = np.array([t[2] for t in text], dtype=object)[found]
            reason[at[found]] = np.array([t[3] for t in text], dtype=object)[found]
        parts.append((int(r.number), r_at, i_at, rec, comment, reason))
    if not parts:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in RATING_COLUMNS})
        empty["round"] = empty["round"].astype("int64")
        empty["rating"] = empty["rating"].astype("Int64")
        empty["unable"] = empty["unable"].astype(bool)
        empty["saved_at"] = pd.to_datetime(empty["saved_at"], utc=True)
        return empty
    number = np.concatenate([np.full(len(p[1]), p[0], np.int64) for p in parts])
    r_at = np.concatenate([p[1] for p in parts])
    i_at = np.concatenate([p[2] for p in parts])
    rec = np.concatenate([p[3] for p in parts])
    comment = np.concatenate([p[4] for p in parts])
    reason = np.concatenate([p[5] for p in parts])
    del parts
    panelist = _categorical(responses["panelist"].to_numpy(), r_at)
    group = _categorical(responses["group"].to_numpy(), r_at)
    # Rounds in order; within a round items in questionnaire order, then group, then panelist.
    order = np.lexsort(
        (panelist.codes, group.codes, item_ids[i_at], meta["order"].to_numpy()[i_at], number)
    )
    value = rec["value"].astype(np.int64)[order]
    saved = rec["saved"].astype(np.int64)[order]
    # NULL stays the int8 minimum, which is NaT in datetime64.
    saved_at = pd.DatetimeIndex(
        np.where(saved == _NO_TIME, saved, saved * 1000).view("M8[ns]")
    ).tz_localize("UTC")
    r_at, i_at = r_at[order], i_at[order]
    return pd.DataFrame(
        {
            "round": number[order],
            "panelist": panelist[order],
            "group": group[order],
            "item": _categorical(meta["item"].to_numpy(), i_at),
            "statement_code": _categorical(meta["statement_code"].to_numpy(), i_at),
            "domain": _categorical(meta["domain"].to_numpy(), i_at),
            "scenario": _categorical(meta["scenario"].to_numpy(), i_at),
            "rating": pd.arrays.IntegerArray(np.maximum(value, 0), value < 0),
            "unable": rec["unable"][order].astype(bool),
            "comment": comment[order],
            "change_reason": reason[order],
            "response_status": _categorical(responses["status"].to_numpy(), r_at),
            "saved_at": saved_at,
        }
    )


def _results(study: Study, rounds: pd.DataFrame, meta: pd.DataFrame):
    analysed = rounds[rounds["analysed"]]
    ids = analysed["round_id"].tolist()
    number = dict(zip(analysed["round_id"], analysed["number"], strict=True))
    fields = [
        "round_id",
        "item_id",
        "group_key",
        *ITEM_FIELDS,
        *STABILITY_FIELDS,
        "verdict",
        "histogram",
    ]
    rows = pd.DataFrame(
        list(ItemResult.objects.filter(round_id__in=ids).values_list(*fields)), columns=fields
    )
    by_id = meta.set_index("item_id")
    rows["round"] = rows["round_id"].map(number).astype("int64")
    for c in ("item", "statement_code", "domain", "scenario", "order"):
        rows[c] = by_id.loc[rows["item_id"], c].to_numpy() if len(rows) else pd.Series(dtype=object)
    rows = rows.rename(columns={"group_key": "group"})
    rows["_gorder"] = rows["group"].map({"all": 0, "balanced": 1}).fillna(2)
    rows = rows.sort_values(
        ["round", "order", "item_id", "_gorder", "group"], kind="stable"
    ).reset_index(drop=True)
    for c in ("n", "n_unable", "n_paired"):
        rows[c] = rows[c].astype("Int64")
    for c in ("disagreement_ipras", "disagreement_classic", "stable"):
        rows[c] = rows[c].astype("boolean")
    rows["ram_class"] = rows["ram_class"].fillna("")
    rows["verdict"] = rows["verdict"].fillna("")

    decisions = pd.DataFrame(
        list(
            ItemDecision.objects.filter(round_id__in=ids).values_list(
                "round_id", "item_id", "verdict", "carried_forward", "preset_verdicts"
            )
        ),
        columns=["round_id", "item_id", "verdict", "carried_forward", "preset_verdicts"],
    )
    decisions["round"] = decisions["round_id"].map(number).astype("int64")
    for c in ("item", "statement_code", "domain", "order"):
        decisions[c] = (
            by_id.loc[decisions["item_id"], c].to_numpy()
            if len(decisions)
            else pd.Series(dtype=object)
        )
    for p in PRESETS:
        decisions[f"verdict_{p}"] = [d.get(p) or "" for d in decisions["preset_verdicts"]]
    decisions["carried_forward"] = decisions["carried_forward"].astype(bool)
    decisions = decisions.sort_values(["round", "order", "item_id"]).reset_index(drop=True)

    conc = pd.DataFrame(
        list(
            GroupConcordance.objects.filter(round_id__in=ids).values_list(
                "round_id", "group_key", "n_panelists", "n_items", "kendall_w", "chi2", "df",
                "p", "alpha_ordinal", "alpha_interval",
            )
        ),
        columns=[
            "round_id", "group", "n_panelists", "n_items", "kendall_w", "chi2", "df", "p",
            "alpha_ordinal", "alpha_interval",
        ],
    )  # fmt: skip
    conc["round"] = conc["round_id"].map(number).astype("int64")
    conc["df"] = conc["df"].astype("Int64")
    conc["_gorder"] = conc["group"].map({"all": 0, "balanced": 1}).fillna(2)
    conc = conc.sort_values(["round", "_gorder", "group"]).reset_index(drop=True)
    return rows, decisions, conc


def _sensitivity(study, rounds, results, decisions, group_codes) -> pd.DataFrame:
    records = []
    for r in rounds[rounds["analysed"]].itertuples():
        rnd = Round.objects.get(pk=r.round_id)
        protocol = round_protocol(round=rnd)
        scale = _scale(protocol)
        rows = results[results["round"] == r.number].copy()
        if rows.empty:
            continue
        rows["hist"] = [
            [int((h or {}).get(str(v), 0)) for v in range(scale.min, scale.max + 1)]
            for h in rows["histogram"]
        ]
        rows["is_group"] = ~rows["group"].isin(["all", "balanced"])
        rows = rows.rename(columns={"group": "group_key"})
        dec = decisions[decisions["round"] == r.number][["item", "verdict"]]
        for rec in sens.sensitivity_table(rows, dec, protocol.definition, scale):
            records.append({"round": int(r.number), **rec})
    columns = [
        "round", "kind", "label", "preset", "scope", "threshold", "is_chosen", "n_in", "n_out",
        "n_none", "agreement_pct", "items_in", "items_out", "items_changed", "note",
    ]  # fmt: skip
    frame = pd.DataFrame(records, columns=columns)
    for c in ("threshold", "n_in", "n_out", "n_none"):
        frame[c] = frame[c].astype("Int64")
    frame["is_chosen"] = frame["is_chosen"].astype(bool)
    frame["threshold"] = frame["threshold"].astype("Int64")
    return frame


def _changes(study: Study) -> pd.DataFrame:
    rows = ItemChange.objects.filter(study=study).values_list(
        "round__number", "statement_id", "statement__code", "previous_id", "previous__code",
        "action", "reason", "at",
    )  # fmt: skip
    return pd.DataFrame(
        list(rows),
        columns=[
            "round", "statement_id", "statement_code", "previous_id", "previous_code", "action",
            "reason", "at",
        ],
    )  # fmt: skip


def _ledger(study, rounds, meta, results, decisions, changes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One line per statement lineage (an item and every later rewording or carrying of it)."""
    analysed = set(rounds.loc[rounds["analysed"], "number"].astype(int))
    round_status = dict(zip(rounds["number"], rounds["status"], strict=True))
    last_round = int(rounds["number"].max()) if len(rounds) else 0
    stats = ("n", "median", "iqr", "pct_low", "pct_mid", "pct_high")
    # A dict, not .loc per item and round: 1,200 lookups at 300 items x 4 rounds.
    overall = (
        results[results["group"] == "all"]
        .set_index(["round", "item_id"])[list(stats)]
        .to_dict("index")
        if len(results)
        else {}
    )
    verdict_of = (
        decisions.set_index(["round", "item_id"])["verdict"].to_dict() if len(decisions) else {}
    )
    rating_rounds = meta[meta["round_id"].isin(rounds.loc[rounds["kind"] == "rating", "round_id"])]
    statement_text = dict(
        Statement.objects.filter(framework=study.framework).values_list("id", "text")
    )
    added = (
        changes[changes["action"] == "added"].set_index("statement_id")
        if len(changes)
        else pd.DataFrame()
    )
    records = []
    for _root, chain in rating_rounds.sort_values("round").groupby("root_id", sort=False):
        first = chain.iloc[0]
        last = chain.iloc[-1]
        rec = {
            "lineage": first["item"],
            "statement_code": last["statement_code"],
            "statement": statement_text.get(int(last["statement_id"]), ""),
            "domain": last["domain"],
            "domain_name": last["domain_name"],
            "_domain_order": last["domain_order"],
            "_order": first["order"],
            "scenario": last["scenario"],
            "provenance": first["provenance"],
            "first_round": int(first["round"]),
            "last_round": int(last["round"]),
            "added_by_panelist": bool(first["provenance"] == "panelist"),
        }
        history = []
        codes = list(dict.fromkeys(chain["statement_code"]))
        rec["codes"] = " > ".join(codes)
        ids = set(chain["statement_id"].astype(int))
        mine = changes[changes["statement_id"].isin(ids)] if len(changes) else changes
        for ch in mine.itertuples():
            if ch.action in ("carried", "retired"):
                continue
            if ch.action == "reworded":
                history.append(
                    f"round {ch.round}: reworded {ch.previous_code} into {ch.statement_code} "
                    f"({ch.reason})"
                )
            elif ch.action == "added":
                history.append(
                    (f"added for round {int(ch.round)}" if not pd.isna(ch.round) else "added")
                    + f" ({ch.reason})"
                )
            elif ch.action == "merged":
                history.append(
                    f"round {ch.round}: a suggestion was merged into {ch.statement_code} "
                    f"({ch.reason})"
                )
            elif ch.action == "dropped":
                history.append(f"round {ch.round}: dropped ({ch.reason})")
        fate, fate_round, fate_reason = "", None, ""
        for row in chain.itertuples():
            n = int(row.round)
            verdict = verdict_of.get((n, row.item_id))
            o = overall.get((n, row.item_id))
            if o is not None:
                for c in stats:
                    rec[f"r{n}_{c}"] = o[c]
            if verdict is not None:
                rec[f"r{n}_verdict"] = verdict
            if verdict in ("in", "out"):
                fate, fate_round = f"consensus {verdict}", n
                fate_reason = f"Reached consensus {verdict} in round {n}."
        if not fate:
            dropped = mine[mine["action"] == "dropped"] if len(mine) else mine
            if len(dropped):
                d = dropped.iloc[-1]
                fate, fate_round, fate_reason = "dropped", d["round"], d["reason"]
            elif int(last["round"]) < last_round and (int(last["round"]) in analysed):
                fate, fate_round = "not carried", int(last["round"])
                fate_reason = "No consensus; not asked again."
            elif int(last["round"]) in analysed:
                fate, fate_round = "no consensus", int(last["round"])
                fate_reason = (
                    f"No consensus in round {int(last['round'])}, the latest analysed round."
                )
            else:
                fate = "carried" if int(first["round"]) < int(last["round"]) else "not analysed yet"
                fate_round = int(last["round"])
                status = round_status.get(int(last["round"]), "")
                fate_reason = f"In round {int(last['round'])} ({status}), not analysed yet."
        if len(codes) > 1 and fate in ("consensus in", "consensus out", "no consensus"):
            fate_reason += f" Reworded: {' > '.join(codes)}."
        rec.update(
            fate=fate, fate_round=fate_round, fate_reason=fate_reason, history="; ".join(history)
        )
        if rec["added_by_panelist"] and int(last["statement_id"]) in getattr(added, "index", []):
            rec["history"] = rec["history"] or "added from a panelist's suggestion"
        records.append(rec)
    # Items dropped before any round asked them (no RoundItem survives) keep a line too.
    base = [
        "lineage", "statement_code", "statement", "domain", "domain_name", "scenario",
        "provenance", "added_by_panelist", "first_round", "last_round", "codes",
    ]  # fmt: skip
    per_round = [
        f"r{n}_{c}"
        for n in sorted(analysed)
        for c in ("n", "median", "iqr", "pct_low", "pct_mid", "pct_high", "verdict")
    ]
    columns = [*base, *per_round, "fate", "fate_round", "fate_reason", "history"]
    frame = pd.DataFrame(records)
    if frame.empty:
        frame = pd.DataFrame(columns=[*columns, "_domain_order", "_order"])
    frame = (
        frame.sort_values(["_domain_order", "domain", "_order"], kind="stable")
        if len(frame)
        else frame
    )
    for c in columns:
        if c not in frame.columns:
            frame[c] = None
    for n in sorted(analysed):
        frame[f"r{n}_n"] = frame[f"r{n}_n"].astype("Int64")
        frame[f"r{n}_verdict"] = frame[f"r{n}_verdict"].fillna("")
    frame["fate_round"] = pd.to_numeric(frame["fate_round"], errors="coerce").astype("Int64")
    frame["added_by_panelist"] = frame["added_by_panelist"].astype(bool)
    ledger = frame[columns].reset_index(drop=True)
    final = (
        ledger[ledger["fate"] == "consensus in"][
            [
                "domain",
                "domain_name",
                "statement_code",
                "statement",
                "scenario",
                "fate_round",
                "codes",
            ]
        ]
        .rename(columns={"fate_round": "round_reached"})
        .reset_index(drop=True)
    )
    return ledger, final


def _flow(study: Study, rounds: pd.DataFrame, panelists: pd.DataFrame) -> pd.DataFrame:
    """Participant flow per round x group (+ all)."""
    try:
        from delphi.participation import participation_flow
    except ImportError:
        participation_flow = None
    columns = [
        "round", "group", "invited", "opened", "consented", "started", "submitted",
        "response_rate", "attrition",
    ]  # fmt: skip
    if participation_flow is not None:
        # close's selector (delphi/participation.py): rates come as fractions.
        frame = pd.DataFrame(participation_flow(study=study))
        if frame.empty:
            return pd.DataFrame(columns=columns)
        for c in ("response_rate", "attrition"):
            frame[c] = (pd.to_numeric(frame[c], errors="coerce") * 100).round(1)
        for c in ("invited", "opened", "consented", "started", "submitted"):
            frame[c] = frame[c].astype("int64")
        frame["round"] = frame["round"].astype("int64")
        return frame[columns].reset_index(drop=True)
    invited = set(
        Invitation.objects.filter(panelist__panel=study.panel, sent_at__isnull=False).values_list(
            "panelist_id", flat=True
        )
    )
    opened = set(
        Invitation.objects.filter(panelist__panel=study.panel, opened_at__isnull=False).values_list(
            "panelist_id", flat=True
        )
    )
    group = dict(zip(panelists["panelist_id"], panelists["group"], strict=True))
    consented = set(panelists.loc[panelists["consented"], "panelist_id"])
    records, previous = [], None
    for r in rounds.itertuples():
        resp = Response.objects.filter(round_id=r.round_id, excluded=False).values_list(
            "panelist_id", "status"
        )
        started = {pid for pid, _ in resp}
        submitted = {pid for pid, st in resp if st == Response.Status.SUBMITTED}
        codes = ["all", *list(dict.fromkeys(panelists["group"]))]
        for code in codes:

            def keep(ids, code=code):
                return {i for i in ids if code == "all" or group.get(i) == code}

            inv = keep(invited)
            sub = keep(submitted)
            rec = {
                "round": int(r.number),
                "group": code,
                "invited": len(inv),
                "opened": len(keep(opened)),
                "consented": len(keep(consented)),
                "started": len(keep(started)),
                "submitted": len(sub),
                "response_rate": round(100.0 * len(sub) / len(inv), 1) if inv else None,
                "attrition": None,
            }
            if previous is not None:
                prev = keep(previous)
                rec["attrition"] = round(100.0 * len(prev - sub) / len(prev), 1) if prev else None
            records.append(rec)
        previous = submitted
    columns = [
        "round",
        "group",
        "invited",
        "opened",
        "consented",
        "started",
        "submitted",
        "response_rate",
        "attrition",
    ]
    return pd.DataFrame(records, columns=columns)


def _characteristics(data_panelists: pd.DataFrame, groups: list[str], k: int) -> pd.DataFrame:
    """Rows characteristic x level, a column per group (+ whole panel); small cells '< k'."""
    people = data_panelists[data_panelists["consented"]]
    columns = ["all", *groups]
    rows = []

    def cell(count, total):
        if total == 0:
            return "0"
        if 0 < count < k:
            return f"< {k}"
        return f"{count} ({100.0 * count / total:.0f} %)"

    def subset(code):
        return people if code == "all" else people[people["group"] == code]

    size = {c: len(subset(c)) for c in columns}
    rows.append(
        {
            "characteristic": "Panelists (consented)",
            "level": "n",
            **{c: str(size[c]) for c in columns},
        }
    )
    years = {}
    for c in columns:
        y = subset(c)["years_experience"].dropna().astype(float)
        years[c] = (
            f"{y.median():g} ({y.quantile(0.25):g}-{y.quantile(0.75):g})" if len(y) else "not given"
        )
    rows.append({"characteristic": "Years of experience", "level": "median (IQR)", **years})
    for name, col in (
        ("Setting", "setting"),
        ("Lived experience", "lived_experience"),
        ("Language", "language"),
    ):
        values = people[col].astype(object).where(people[col].notna(), "not given")
        values = values.replace({"": "not given", True: "yes", False: "no"})
        for level in sorted(set(values.astype(str))):
            rows.append(
                {
                    "characteristic": name,
                    "level": level,
                    **{
                        c: cell(int((values[subset(c).index].astype(str) == level).sum()), size[c])
                        for c in columns
                    },
                }
            )
    frame = pd.DataFrame(rows, columns=["characteristic", "level", *columns])
    for c in groups:
        if size[c] < k:
            frame[c] = f"< {k}"
    return frame


def _qualitative(study, rounds, ratings, meta, include_comments):
    group_of = dict(
        Panelist.objects.filter(panel=study.panel).values_list("public_id", "group__code")
    )
    cols = ["round", "item", "statement_code", "panelist", "group", "kind", "text"]
    parts = []
    if include_comments and len(ratings):
        for kind, col in (("comment", "comment"), ("change_reason", "change_reason")):
            texts = ratings[col]
            sub = ratings[texts != ""]  # most rows have none: strip only the rest
            sub = sub[sub[col].astype(str).str.strip() != ""]
            parts.append(
                pd.DataFrame(
                    {
                        "round": sub["round"].astype("int64"),
                        "item": sub["item"].astype(str),
                        "statement_code": sub["statement_code"].astype(str),
                        "panelist": sub["panelist"].astype(str),
                        "group": sub["group"].astype(str),
                        "kind": kind,
                        "text": sub[col].astype(str),
                    }
                )
            )
    comments = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    if len(comments):
        comments = comments.sort_values(
            ["round", "item", "kind", "panelist"], kind="stable"
        ).reset_index(drop=True)
    comments["round"] = comments["round"].astype("int64")

    srows = Suggestion.objects.filter(round__study=study).values_list(
        "round__number", "response__panelist__public_id", "response__panelist__group__code",
        "domain__code", "text", "rationale", "status", "statement__code", "decision_reason",
    )  # fmt: skip
    suggestions = pd.DataFrame(
        list(srows),
        columns=[
            "round", "panelist", "group", "domain", "text", "rationale", "status",
            "statement_code", "decision_reason",
        ],
    )  # fmt: skip
    suggestions = suggestions.fillna("")
    if not include_comments:
        suggestions = suggestions.iloc[0:0]
    answered = PromptAnswer.objects.filter(
        response__round__study=study, response__excluded=False
    ).exclude(text="")
    arows = answered.values_list(
        "id",
        "response__round__number", "prompt__order", "prompt__text", "response__panelist__public_id",
        "response__panelist__group__code", "text",
    )  # fmt: skip
    answers = pd.DataFrame(
        list(arows),
        columns=["answer_id", "round", "prompt_order", "prompt", "panelist", "group", "text"],
    ).fillna("")
    if not include_comments:
        answers = answers.iloc[0:0]
    answers = answers.sort_values(["round", "prompt_order", "panelist"]).reset_index(drop=True)
    # The researchers' coding of the answers (gen's AnswerCode), live links only.
    coded, unusable = {}, {}
    codes = AnswerCode.objects.filter(
        study=study, answer__isnull=False, withdrawn_at__isnull=True
    ).values_list("answer_id", "statement__code", "unusable_reason")
    for answer_id, code, reason in codes:
        if code:
            coded.setdefault(answer_id, []).append(code)
        elif reason:
            unusable.setdefault(answer_id, []).append(reason)
    answers["coded_as"] = [" ".join(coded.get(i, [])) for i in answers["answer_id"]]
    answers["unusable_reason"] = ["; ".join(unusable.get(i, [])) for i in answers["answer_id"]]
    answers = answers.drop(columns=["answer_id"])
    del group_of
    return comments, suggestions, answers


def _deviations(study: Study) -> pd.DataFrame:
    rows = Deviation.objects.filter(study=study).values_list(
        "at", "field", "old_value", "new_value", "reason"
    )
    frame = pd.DataFrame(list(rows), columns=["at", "field", "old_value", "new_value", "reason"])
    for c in ("old_value", "new_value"):
        frame[c] = [json.dumps(v, ensure_ascii=False) if v is not None else "" for v in frame[c]]
    return frame


ACCORD_FIELDS = (
    ("ethics_approval", "Ethics approval"),
    ("funding", "Funding"),
    ("conflicts_of_interest", "Conflicts of interest"),
    ("steering_group", "Steering group"),
    ("pilot_testing", "Pilot testing of the questionnaire"),
    ("registration", "Registration of the protocol"),
)


def report_data(
    *,
    study: Study,
    include_comments: bool = True,
    language: str = "en",
    all_ratings: bool = True,
) -> ReportData:
    """Every table of the report for ``study``, from its persisted rows.

    ``all_ratings=False`` (the pages) loads only the ratings that carry a comment or a change
    reason; ``ratings`` then holds those rows only.
    """
    study = Study.objects.select_related("panel", "framework").get(pk=study.pk)
    rounds = _rounds(study)
    meta = _item_meta(study)
    groups = _groups(study)
    panelists = _panelists(study, rounds)
    ratings = _ratings(study, rounds, meta, only_text=not all_ratings)
    if not include_comments:
        ratings["comment"] = ""
        ratings["change_reason"] = ""
    results, decisions, concordance = _results(study, rounds, meta)
    items_cols = [
        "round",
        "item",
        "group",
        *[c for c in ITEM_FIELDS],
        "verdict",
        "domain",
        "statement_code",
        "scenario",
    ]
    items = results[items_cols].copy() if len(results) else pd.DataFrame(columns=items_cols)
    stab_cols = ["round", "item", "group", *STABILITY_FIELDS]
    stability = (
        results[results["n_paired"].notna() | results["pct_change"].notna()][stab_cols]
        if len(results)
        else pd.DataFrame(columns=stab_cols)
    )
    changes = _changes(study)
    ledger, final = _ledger(study, rounds, meta, results, decisions, changes)
    group_codes = [c for c in groups["code"]] + (
        [selectors.UNGROUPED] if (panelists["group"] == selectors.UNGROUPED).any() else []
    )
    comments, suggestions, answers = _qualitative(study, rounds, ratings, meta, include_comments)
    dec_cols = [
        "round",
        "item",
        "statement_code",
        "domain",
        "verdict",
        "carried_forward",
        *[f"verdict_{p}" for p in PRESETS],
    ]
    ranking_items, ranking_concordance = ranking_tables(study)
    return ReportData(
        study=study,
        generated_at=timezone.now(),
        language=language,
        include_comments=include_comments,
        protocol=_protocol(study, rounds),
        rounds=rounds,
        groups=groups,
        panelists=panelists,
        ratings=ratings,
        items=items.reset_index(drop=True),
        stability=stability.reset_index(drop=True),
        concordance=concordance[
            [
                "round",
                "group",
                "n_panelists",
                "n_items",
                "kendall_w",
                "chi2",
                "df",
                "p",
                "alpha_ordinal",
                "alpha_interval",
            ]
        ],
        decisions=decisions[dec_cols] if len(decisions) else pd.DataFrame(columns=dec_cols),
        ledger=ledger,
        final=final,
        flow=_flow(study, rounds, panelists),
        characteristics=_characteristics(panelists, group_codes, study.min_group_size or 1),
        comments=comments,
        suggestions=suggestions,
        answers=answers,
        deviations=_deviations(study),
        sensitivity=_sensitivity(study, rounds, results, decisions, group_codes),
        accord_fields={name: getattr(study, name, "") or "" for name, _ in ACCORD_FIELDS},
        communications=communications_by_round(study),
        ranking_items=ranking_items,
        ranking_concordance=ranking_concordance,
    )


PAGES_CACHE_SECONDS = 24 * 3600


def report_data_for_pages(*, study: Study, language: str = "en") -> ReportData:
    """The Report pages' data (text-bearing ratings only), kept in the cache under the report's
    fingerprint. At 2,000 panelists x 300 items x 4 rounds building it takes seconds on every
    request; the fingerprint's aggregate queries take a fraction of that, and any change to
    what the report reads gives a new key."""
    fingerprint = report_fingerprint(study=study, include_comments=True, language=language)
    key = f"report-pages:v1:{study.pk}:{language}:{fingerprint}"
    data = cache.get(key)
    if data is None:
        data = report_data(study=study, language=language, all_ratings=False)
        cache.set(key, data, PAGES_CACHE_SECONDS)
    return data


def report_fingerprint(*, study: Study, include_comments: bool = True, language: str = "en") -> str:
    """A digest of everything the report reads, in a handful of aggregate queries."""
    parts = [
        "report-v1", str(include_comments), language, software_version(),
        str(Study.objects.filter(pk=study.pk).values_list("updated_at", flat=True).first()),
    ]  # fmt: skip
    parts += [
        str(
            list(
                Round.objects.filter(study=study)
                .order_by("number")
                .values_list(
                    "number", "status", "analysed_at", "title", "below_quorum", "inputs_changed_at"
                )
            )
        ),
        str(
            list(
                ConsensusRun.objects.filter(round__study=study, status="done")
                .order_by("id")
                .values_list("uuid", "finished_at")
            )
        ),
        # Every change to a rating (autosave, page post, import, admin) writes an audit row in
        # the same transaction (issue 7's invariant), so the study's latest audit time stands
        # for its ratings: one index lookup (audit_study_at), where counting 2.4 M ratings
        # took 0.3 s on every page.
        str(AuditEvent.objects.filter(study=study).aggregate(m=Max("at"))),
        str(
            Response.objects.filter(round__study=study).aggregate(
                n=Count("id"), m=Max("updated_at"), x=Count("id", filter=Q(excluded=True))
            )
        ),
        str(ItemChange.objects.filter(study=study).aggregate(n=Count("id"), m=Max("id"))),
        str(Deviation.objects.filter(study=study).aggregate(n=Count("id"), m=Max("id"))),
        str(
            Suggestion.objects.filter(round__study=study).aggregate(
                n=Count("id"), m=Max("decided_at")
            )
        ),
        str(
            PromptAnswer.objects.filter(response__round__study=study).aggregate(
                n=Count("id"), m=Max("updated_at")
            )
        ),
        str(
            Panelist.objects.filter(panel=study.panel).aggregate(
                n=Count("id"),
                m=Max("consented_at"),
                w=Max("withdrawn_at"),
                p=Max("profile_confirmed_at"),
            )
        ),
        str(
            Invitation.objects.filter(panelist__panel=study.panel).aggregate(
                n=Count("id"), s=Max("sent_at"), o=Max("opened_at")
            )
        ),
        str(
            Communication.objects.filter(study=study).aggregate(
                n=Count("id"), s=Max("sent_at"), f=Max("failed_at"), v=Max("first_visit_at")
            )
        ),
        str(list(study.panel.groups.order_by("code").values_list("code", "name", "name_es"))),
        str(
            list(
                Statement.objects.filter(framework=study.framework)
                .order_by("id")
                .values_list("id", "code")
            )[-1:]
        ),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
