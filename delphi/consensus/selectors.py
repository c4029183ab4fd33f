"""Reads for the consensus engine: a round's ratings as a long DataFrame, and its results.

A round and the round before it are loaded together: one small query for the item keys (the same
item gets the same key in every round), one per round for the analysed responses (panelist and
group), and ONE query for both rounds' ratings, packed by the server into one fixed-width binary
string per response and read straight into numpy (elsewhere than PostgreSQL: ``values_list``).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    return rounds_item_keys(rounds=[round])[round.pk]


def rounds_item_keys(*, rounds: list[Round]) -> dict[int, dict[int, str]]:
    """``round_item_keys`` for several rounds of one study, from one query."""
    last = max(rnd.number for rnd in rounds)
    rows = RoundItem.objects.filter(
        round__study_id=rounds[0].study_id, round__number__lte=last
    ).values_list("id", "round_id", "carried_from_id", "statement__code", "scenario__code", "order")
    own: dict[int, str] = {}
    parent: dict[int, int | None] = {}
    mine: dict[int, list[tuple[int, int]]] = {rnd.pk: [] for rnd in rounds}
    for item_id, round_id, carried_from_id, code, scenario_code, order in rows:
        own[item_id] = code + (f"@{scenario_code}" if scenario_code else "")
        parent[item_id] = carried_from_id
        if round_id in mine:
            mine[round_id].append((order, item_id))

    def root_key(item_id: int) -> str:
        seen = set()
        while parent.get(item_id) in own and item_id not in seen:
            seen.add(item_id)
            item_id = parent[item_id]
        return own[item_id]

    out = {}
    for round_id, items in mine.items():
        keys: dict[int, str] = {}
        own_here = {own[item_id] for _, item_id in items}
        items.sort()
        for _, item_id in items:
            key = root_key(item_id)
            # Own keys are unique within a round (database constraints); an inherited key
            # must not collide with another item's own key, nor with a key already handed out.
            if key != own[item_id] and (key in own_here or key in keys.values()):
                key = own[item_id]
            keys[item_id] = key
        out[round_id] = keys
    return out


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


def _analysed_responses(round: Round, policy: str):
    """The responses whose ratings the analysis reads under ``policy`` (not their ratings:
    of a draft only the answered ratings count, which ``_round_ratings`` applies)."""
    responses = Response.objects.filter(round=round, excluded=False)
    submitted = Q(status=Response.Status.SUBMITTED)
    if policy == Study.DraftsPolicy.SUBMITTED:
        return responses.filter(submitted)
    if policy == Study.DraftsPolicy.RATED:
        return responses
    return responses.filter(submitted | Q(pk__in=_complete_drafts(round).values("pk")))


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "panelist": pd.Series(dtype=object),
            "group": pd.Series(dtype=object),
            "item": pd.Series(dtype=object),
            "value": pd.Series(dtype=float),
        }
    )


# On PostgreSQL each response's ratings travel as ONE bytea of fixed-width big-endian records
# (item id, value; NULL becomes -1), aggregated by the server: a few thousand rows instead of a
# row per rating, read straight into numpy. Measured at 2,000 x 300: about a third of the time
# of COPY, which hands rows to Python one at a time.
_PACKED = np.dtype([("item", ">i4"), ("value", ">i2")])


def _packed_ratings(round_ids: list[int]) -> list[tuple[int, bytes]]:
    """(response id, packed ratings) for every response of the given rounds, drafts too.

    One query. Each response's ratings are ``_PACKED`` records; value -1 is "unable to rate",
    -2 a row with neither value nor "unable" (a comment only).
    """
    if connection.vendor == "postgresql":
        # Table names come from the models; the round ids are a bound parameter.
        sql = (
            "SELECT r.response_id, string_agg(int4send(r.item_id::int4) "  # noqa: S608
            "|| int2send(COALESCE(r.value, CASE WHEN r.unable THEN -1 ELSE -2 END)::int2), "
            "''::bytea) "
            f"FROM {Rating._meta.db_table} r JOIN {Response._meta.db_table} s "
            "ON s.id = r.response_id WHERE s.round_id = ANY(%s) GROUP BY r.response_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [list(round_ids)])
            return [(response_id, bytes(packed)) for response_id, packed in cursor.fetchall()]
    by_response: dict[int, list] = {}
    rows = Rating.objects.filter(response__round_id__in=round_ids).order_by()
    for response_id, item_id, value, unable in rows.values_list(
        "response_id", "item_id", "value", "unable"
    ):
        code = value if value is not None else (-1 if unable else -2)
        by_response.setdefault(response_id, []).append((item_id, code))
    return [
        (response_id, np.array(records, dtype=_PACKED).tobytes())
        for response_id, records in by_response.items()
    ]


# --- order-independent digests -----------------------------------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over the whole word."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * _M1
        x = x ^ (x >> np.uint64(27))
        x = x * _M2
        return x ^ (x >> np.uint64(31))


def _string_hashes(values) -> np.ndarray:
    return pd.util.hash_pandas_object(pd.Series(list(values), dtype=object), index=False).to_numpy(
        dtype=np.uint64
    )


def _value_bits(value: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(value), -1.0, value).astype(np.float64).view(np.uint64)


def _who_hashes(panelists, groups) -> np.ndarray:
    """One hash per (panelist, group)."""
    with np.errstate(over="ignore"):
        return _mix(_string_hashes(panelists)) + _string_hashes(groups)


def _item_value_hashes(item_hashes: np.ndarray, value: np.ndarray) -> np.ndarray:
    """One hash per (item, value): ``item_hashes`` and ``value`` are aligned."""
    with np.errstate(over="ignore"):
        return _mix(item_hashes + _value_bits(value))


def _rows_digest(who: np.ndarray, item_value: np.ndarray) -> str:
    """Digest of rows from per-row hashes of (panelist, group) and of (item, value)."""
    if len(who) == 0:
        return "empty"
    with np.errstate(over="ignore"):
        rows = _mix(who ^ item_value)
        # Two wrapping sums: order-independent, and a permutation of values cannot cancel out.
        total_a = int(rows.sum(dtype=np.uint64))
        total_b = int(((rows ^ (rows >> np.uint64(29))) * _GOLDEN).sum(dtype=np.uint64))
    return f"{len(who)}:{total_a:016x}:{total_b:016x}"


def frame_digest(frame: pd.DataFrame) -> str:
    """The digest of a ratings frame (panelist, group, item, value), whatever its row order.

    Equal to the digest ``rounds_ratings`` returns for the same rows.
    """
    if frame.empty:
        return "empty"
    codes, uniques = pd.factorize(
        frame["panelist"].astype(str) + "\x1f" + frame["group"].astype(str)
    )
    pairs = [u.split("\x1f", 1) for u in uniques]
    who = _who_hashes([p for p, _ in pairs], [g for _, g in pairs])[codes]
    item_codes, item_uniques = pd.factorize(frame["item"].astype(str))
    value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64)
    item_value = _item_value_hashes(_string_hashes(item_uniques)[item_codes], value)
    return _rows_digest(who, item_value)


@dataclass
class RoundRatings:
    """One round's analysed ratings and their digest (part of the run's fingerprint)."""

    round: Round
    keys: dict[int, str]
    frame: pd.DataFrame
    digest: str


def _responses(round: Round, policy: str) -> list[tuple]:
    """(id, panelist public id, group code, is a draft) of the responses analysed."""
    return [
        (pk, public_id, group, status == Response.Status.DRAFT)
        for pk, public_id, group, status in _analysed_responses(round, policy)
        .order_by()
        .values_list("id", "panelist__public_id", "panelist__group__code", "status")
    ]


def rounds_ratings(
    *,
    round: Round,
    previous: Round | None = None,
    keys: dict[int, str] | None = None,
    policy: str | None = None,
) -> tuple[RoundRatings, RoundRatings | None]:
    """This round's ratings and (optionally) the previous round's, in one pass.

    Each round is read under its drafts policy (``round_drafts_policy``; ``policy`` overrides
    it for this round): the submitted responses plus the drafts the policy counts, and of a
    draft only the answered ratings. Four queries however large the rounds: item keys, each
    round's analysed responses, and one read of both rounds' ratings, packed per response.
    Panelist, group and item key are attached by array indexing, and the digest is computed
    from the same arrays, never from the string columns.
    """
    rounds = [round] + ([previous] if previous is not None else [])
    key_sets = {round.pk: keys} if keys is not None and previous is None else None
    if key_sets is None:
        key_sets = rounds_item_keys(rounds=rounds)
        if keys is not None:
            key_sets[round.pk] = keys
    if previous is not None and previous.study_id == round.study_id:
        previous.study = round.study  # one study for both policies, not a query each
    policies = {
        rnd.pk: policy if policy and rnd is round else round_drafts_policy(rnd) for rnd in rounds
    }
    responses = {rnd.pk: _responses(rnd, policies[rnd.pk]) for rnd in rounds}
    packed = _packed_ratings([rnd.pk for rnd in rounds]) if any(responses.values()) else []
    # Which round each response belongs to, and its place in that round's response list.
    place = {row[0]: (rnd.pk, i) for rnd in rounds for i, row in enumerate(responses[rnd.pk])}
    per_round: dict[int, list] = {rnd.pk: [] for rnd in rounds}
    for response_id, data in packed:
        where = place.get(response_id)  # None: a draft, or excluded
        if where is not None:
            per_round[where[0]].append((where[1], data))
    out = [
        _round_ratings(rnd, key_sets[rnd.pk], responses[rnd.pk], per_round[rnd.pk])
        for rnd in rounds
    ]
    return out[0], (out[1] if previous is not None else None)


def _positions(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each of ``values`` in the sorted ``ids``, or -1 where it is not there."""
    span = int(ids[-1] - ids[0]) + 1
    if span <= 4 * len(ids) + 1_000_000:
        # A lookup table over the id range: one gather instead of a binary search per row.
        lookup = np.full(span, -1, dtype=np.int64)
        lookup[ids - ids[0]] = np.arange(len(ids))
        inside = (values >= ids[0]) & (values <= ids[-1])
        out = np.full(len(values), -1, dtype=np.int64)
        out[inside] = lookup[values[inside] - ids[0]]
        return out
    at = np.minimum(np.searchsorted(ids, values), len(ids) - 1)
    return np.where(ids[at] == values, at, -1)


def _round_ratings(rnd, keys, responses, packed) -> RoundRatings:
    if not packed or not keys:
        return RoundRatings(round=rnd, keys=keys, frame=_empty_frame(), digest="empty")
    counts = np.fromiter((len(data) // _PACKED.itemsize for _, data in packed), np.int64)
    r_at = np.repeat(np.fromiter((i for i, _ in packed), np.int64), counts)
    records = np.frombuffer(b"".join(data for _, data in packed), dtype=_PACKED)
    item_ids = records["item"].astype(np.int64)
    raw = records["value"].astype(np.int64)
    ids = np.array(sorted(keys), dtype=np.int64)
    i_at = _positions(ids, item_ids)
    draft = np.array([row[3] for row in responses], dtype=bool)
    # Dropped: an item that is not this round's (impossible through the app), and a draft's
    # row that holds no answer (a comment only is not "unable to rate").
    keep = (i_at >= 0) & ~(draft[r_at] & (raw == -2))
    if not keep.all():
        r_at, i_at, raw = r_at[keep], i_at[keep], raw[keep]
    value = np.where(raw < 0, np.nan, raw.astype(np.float64))
    panelists = [row[1] for row in responses]
    groups = [row[2] if row[2] is not None else UNGROUPED for row in responses]
    item_names = np.array([keys[i] for i in ids], dtype=object)
    # The digest from small tables gathered per row: (panelist, group) and (item, value).
    rated = raw[raw >= 0]
    lo, hi = (int(rated.min()), int(rated.max())) if len(rated) else (0, 0)
    levels = np.concatenate([[np.nan], np.arange(lo, hi + 1, dtype=np.float64)])
    table = _item_value_hashes(
        np.repeat(_string_hashes(item_names), len(levels)), np.tile(levels, len(ids))
    ).reshape(len(ids), len(levels))
    level_at = np.where(raw < 0, 0, raw - lo + 1)
    digest = _rows_digest(_who_hashes(panelists, groups)[r_at], table[i_at, level_at])
    # Rows in one fixed order, panelist then item, whatever order the database returned them
    # in: floating-point sums in the statistics then agree to the last bit wherever the same
    # ratings are analysed (a study imported from an archive has other ids, so another order).
    # One int64 key per row (unique: one rating per panelist and item); ~50 ms at 600k rows.
    order = np.argsort(_ranks(panelists)[r_at] * len(item_names) + _ranks(item_names)[i_at])
    r_at, i_at, value = r_at[order], i_at[order], value[order]
    frame = pd.DataFrame(
        {
            "panelist": np.array(panelists, dtype=object)[r_at],
            "group": np.array(groups, dtype=object)[r_at],
            "item": item_names[i_at],
            "value": value,
        }
    )
    return RoundRatings(round=rnd, keys=keys, frame=frame, digest=digest)


def _ranks(names) -> np.ndarray:
    """Each name's place in the sorted names (ties keep their order)."""
    ranks = np.empty(len(names), dtype=np.int64)
    ranks[np.argsort(np.asarray(names, dtype=object), kind="stable")] = np.arange(len(names))
    return ranks


def round_ratings_frame(
    *, round: Round, keys: dict[int, str] | None = None, policy: str | None = None
) -> pd.DataFrame:
    """The long table ``panelist, group, item, value`` of one round's analysed ratings: the
    submitted ones plus the drafts the round's drafts policy counts (``round_drafts_policy``).

    ``panelist``, ``group`` and ``item`` are str (object) columns; ``value`` is a float, and
    "unable to rate" is NaN. ``item`` is the stable key of ``round_item_keys``. Pass
    ``keys`` when the caller already has them.
    """
    current, _ = rounds_ratings(round=round, keys=keys, policy=policy)
    return current.frame


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
