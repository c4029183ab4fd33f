"""Reads for the consensus engine: a round's ratings as a long DataFrame, and its results.

The ratings load is one query (PostgreSQL: ``COPY ... TO STDOUT`` through Django's own
connection, the measured floor; elsewhere ``values_list``). Item keys are resolved from a second,
small query over the study's round items, so that the same item gets the same key in every round.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Count, Q, Subquery

from delphi.models import ConsensusRun, Rating, Response, Round, RoundItem, Study

RATING_COLUMNS = ["panelist", "group", "item", "value"]
# A panelist without a stakeholder group still counts in "all"; this names their group.
UNGROUPED = "ungrouped"


def round_item_keys(*, round: Round) -> dict[int, str]:
    """RoundItem id -> stable item key for every item of ``round``.

    The key is ``statement code`` plus ``@scenario code`` when the item is asked about a
    scenario. An item carried from an earlier round (``carried_from``) takes the key of the
    first item in its chain, so a reworded statement (a new Statement, a new code) still pairs
    with its earlier wording when stability is computed. If two items of one round would share
    a key that way (a reworded copy asked beside the original), the later ones keep their own
    key: pairing must never merge two items of the same round.
    """
    rows = RoundItem.objects.filter(
        round__study_id=round.study_id, round__number__lte=round.number
    ).values_list("id", "round_id", "carried_from_id", "statement__code", "scenario__code", "order")
    own: dict[int, str] = {}
    parent: dict[int, int | None] = {}
    mine: list[tuple[int, int]] = []
    for item_id, round_id, carried_from_id, code, scenario_code, order in rows:
        own[item_id] = code + (f"@{scenario_code}" if scenario_code else "")
        parent[item_id] = carried_from_id
        if round_id == round.pk:
            mine.append((order, item_id))

    def root_key(item_id: int) -> str:
        seen = set()
        while parent.get(item_id) in own and item_id not in seen:
            seen.add(item_id)
            item_id = parent[item_id]
        return own[item_id]

    keys: dict[int, str] = {}
    own_here = {own[item_id] for _, item_id in mine}
    mine.sort()
    for _, item_id in mine:
        key = root_key(item_id)
        # Own keys are unique within a round (database constraints); an inherited key must
        # not collide with another item's own key, nor with a key already handed out.
        if key != own[item_id] and (key in own_here or key in keys.values()):
            key = own[item_id]
        keys[item_id] = key
    return keys


def round_drafts_policy(round: Round) -> str:
    """The drafts policy a round is analysed under: its snapshot's, else the study's."""
    snap = round.rule_snapshot or {}
    return snap.get("drafts_policy") or round.study.drafts_policy


def _answered() -> Q:
    return Q(value__isnull=False) | Q(unable=True)


def _complete_drafts(round: Round):
    """Draft responses that answer every item of the round (a value or "unable to rate")."""
    # A subquery, not a count first: the ratings load stays one query.
    n_items = (
        RoundItem.objects.filter(round=round)
        .order_by()
        .values("round")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Response.objects.filter(round=round, status=Response.Status.DRAFT, excluded=False)
        .annotate(
            answered=Count(
                "ratings",
                filter=Q(ratings__value__isnull=False) | Q(ratings__unable=True),
                distinct=True,
            )
        )
        .filter(answered__gte=Subquery(n_items))
    )


def _analysed_ratings(round: Round, policy: str):
    """The ratings the analysis reads under ``policy`` (Study.DraftsPolicy). Nothing is
    deleted: the policy only chooses which stored answers count.

    Excluded responses belong to withdrawn panelists who asked for their answers to be dropped.
    """
    base = Rating.objects.filter(response__round=round, response__excluded=False)
    submitted = Q(response__status=Response.Status.SUBMITTED)
    if policy == Study.DraftsPolicy.SUBMITTED:
        return base.filter(submitted)
    if policy == Study.DraftsPolicy.RATED:
        # A draft's comment-only row is not a rating: it must not count as "unable to rate".
        return base.filter(submitted | _answered())
    complete = Q(response__in=_complete_drafts(round).values("pk"))
    return base.filter(submitted | (complete & _answered()))


def round_analysed_ratings(*, round: Round, policy: str | None = None):
    """The Rating queryset the analysis of ``round`` reads (its drafts policy applied)."""
    return _analysed_ratings(round, policy or round_drafts_policy(round))


def round_response_counts(*, round: Round, policy: str | None = None) -> dict:
    """How many responses of each kind the analysis of ``round`` includes under ``policy``:
    submitted, complete drafts, partial drafts (some items rated), and those left out."""
    policy = policy or round_drafts_policy(round)
    responses = Response.objects.filter(round=round)
    excluded = responses.filter(excluded=True).count()
    submitted = responses.filter(excluded=False, status=Response.Status.SUBMITTED).count()
    complete = _complete_drafts(round).count()
    partial = (
        responses.filter(excluded=False, status=Response.Status.DRAFT)
        .filter(Q(ratings__value__isnull=False) | Q(ratings__unable=True))
        .distinct()
        .count()
        - complete
    )
    include_complete = policy in (Study.DraftsPolicy.COMPLETE, Study.DraftsPolicy.RATED)
    include_partial = policy == Study.DraftsPolicy.RATED
    return {
        "policy": policy,
        "submitted": submitted,
        "complete_drafts": complete if include_complete else 0,
        "partial_drafts": partial if include_partial else 0,
        "left_out_complete_drafts": 0 if include_complete else complete,
        "left_out_partial_drafts": 0 if include_partial else partial,
        "left_out_withdrawn": excluded,
    }


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "panelist": pd.Series(dtype=object),
            "group": pd.Series(dtype=object),
            "item": pd.Series(dtype=object),
            "value": pd.Series(dtype=float),
        }
    )


RAW_NAMES = ["panelist", "group", "item_id", "value"]
# Panelist and group repeat thousands of times: parsed as categoricals, each distinct string
# is one Python object instead of one per row.
RAW_DTYPES = {"panelist": "category", "group": "category", "item_id": np.int64, "value": float}


def _load_raw(round: Round, policy: str) -> pd.DataFrame:
    """Columns panelist (public id), group (code; NaN without one), item_id, value (NaN)."""
    qs = (
        _analysed_ratings(round, policy)
        .order_by()
        .values_list(
            "response__panelist__public_id",
            "response__panelist__group__code",
            "item_id",
            "value",
        )
    )
    if connection.vendor == "postgresql":
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            # Interpolate parameters client-side: COPY cannot take bind parameters.
            statement = connection.ops.compose_sql(sql, params)
            buffer = io.BytesIO()
            with cursor.copy(f"COPY ({statement}) TO STDOUT") as copy:
                for block in copy:
                    buffer.write(block)
        buffer.seek(0)
        return pd.read_csv(
            buffer,
            sep="\t",
            header=None,
            names=RAW_NAMES,
            dtype=RAW_DTYPES,
            na_values=[r"\N"],
            keep_default_na=False,
        )
    frame = pd.DataFrame(list(qs), columns=RAW_NAMES)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    return frame.astype(RAW_DTYPES)


def _strings(column: pd.Series) -> np.ndarray:
    """A categorical column as an object array of str that shares one object per category.

    Plain ``astype(object)`` would do the same; indexing the categories by the codes is the
    fast way, and consumers that call ``astype(str)`` on it then copy pointers, not strings.
    """
    categories = column.cat.categories.to_numpy(dtype=object)
    return categories[column.cat.codes.to_numpy()]


def round_ratings_frame(
    *, round: Round, keys: dict[int, str] | None = None, policy: str | None = None
) -> pd.DataFrame:
    """The long table ``panelist, group, item, value`` of one round's analysed ratings: the
    submitted ones plus the drafts the round's drafts policy counts (``round_drafts_policy``).

    ``panelist``, ``group`` and ``item`` are str (object) columns; ``value`` is a float, and
    "unable to rate" is NaN. ``item`` is the stable key of ``round_item_keys``. Pass
    ``keys`` when the caller already has them.
    """
    keys = round_item_keys(round=round) if keys is None else keys
    raw = _load_raw(round, policy or round_drafts_policy(round))
    if raw.empty or not keys:
        return _empty_frame()
    group = raw["group"]
    if group.isna().any():
        group = group.cat.add_categories([UNGROUPED]).fillna(UNGROUPED)
    ids = np.array(sorted(keys), dtype=np.int64)
    item_ids = raw["item_id"].to_numpy()
    codes = np.searchsorted(ids, item_ids).clip(0, len(ids) - 1)
    # A rating of an item that is not this round's (impossible through the app) is dropped.
    known = ids[codes] == item_ids
    item_names = np.array([keys[i] for i in ids], dtype=object)
    frame = pd.DataFrame(
        {
            "panelist": _strings(raw["panelist"]),
            "group": _strings(group),
            "item": item_names[codes],
            "value": raw["value"],
        }
    )
    if not known.all():
        frame = frame[known]
    return frame.reset_index(drop=True)


def round_previous(*, round: Round) -> Round | None:
    """The latest earlier round of the same kind (rating -> rating, ranking -> ranking), whose
    answers stability and change are measured against. A ranking round between two rating
    rounds is skipped by the second rating round, and the other way round."""
    return (
        Round.objects.filter(study_id=round.study_id, number__lt=round.number, kind=round.kind)
        .exclude(status=Round.Status.DRAFT)
        .order_by("-number")
        .first()
    )


def round_latest_run(*, round: Round) -> ConsensusRun | None:
    return ConsensusRun.objects.filter(round=round).order_by("-queued_at", "-id").first()
